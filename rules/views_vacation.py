"""Settings › a mail account › Vacation reply: the account is looked up scoped to the
user (404 otherwise), the form checked, the settings saved by rules.vacation."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.models import MailAccount

from . import vacation
from .forms_vacation import VacationForm
from .models import VacationReply


def vacation_edit(request, account_pk: int):
    account = get_object_or_404(MailAccount, pk=account_pk, user=request.user)
    current = VacationReply.objects.filter(account=account).first()
    form = VacationForm(request.POST or None, instance=current or VacationReply(account=account))
    if request.method == "POST" and form.is_valid():
        saved = vacation.save_vacation(form.instance)
        if saved.enabled:
            messages.success(
                request, _("Vacation reply is on for %(email)s.") % {"email": account.email}
            )
        else:
            messages.success(
                request, _("Vacation reply is off for %(email)s.") % {"email": account.email}
            )
        return redirect("vacation_edit", account_pk=account.pk)
    today = vacation.user_today(request.user, vacation.now())
    return render(
        request,
        "rules/vacation_form.html",
        {
            "form": form,
            "account": account,
            "active": current is not None and vacation.is_active(current, today),
        },
        status=400 if form.is_bound else 200,
    )
