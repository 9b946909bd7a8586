from django.shortcuts import render


def inbox(request):
    accounts = request.user.mail_accounts.all()
    return render(request, "mailbox/inbox.html", {"accounts": accounts})
