from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .models import Folder, Message, SkippedMessage
from .tasks import poll_account

PAGE_SIZE = 50


def inbox(request):
    accounts = list(request.user.mail_accounts.all())
    messages = (
        Message.objects.filter(owner=request.user, folder=Folder.INBOX)
        .only(
            "pk",
            "subject",
            "from_name",
            "from_address",
            "date",
            "snippet",
            "has_attachments",
            "seen",
            "flagged",
            "parse_error",
        )
        .order_by("-date", "-id")
    )
    page = Paginator(messages, PAGE_SIZE).get_page(request.GET.get("page"))
    skipped = SkippedMessage.objects.filter(account__user=request.user).select_related("account")
    return render(
        request, "mailbox/inbox.html", {"accounts": accounts, "page": page, "skipped": skipped}
    )


def _poll_status(user) -> list[dict]:
    return [
        {
            "account": a.email,
            "last_poll_at": a.last_poll_at and a.last_poll_at.isoformat(),
            "new": a.last_poll_new,
            "error": a.last_poll_error,
        }
        for a in user.mail_accounts.filter(enabled=True)
    ]


@require_POST
def check_mail(request):
    requested_at = timezone.now()
    for account_id in request.user.mail_accounts.filter(enabled=True).values_list("pk", flat=True):
        poll_account.delay_on_commit(account_id)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"requested_at": requested_at.isoformat()})
    return redirect("home")


@require_GET
def poll_status(request):
    return JsonResponse({"accounts": _poll_status(request.user)})
