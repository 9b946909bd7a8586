"""Settings › a mail account › Send as: its extra From addresses. Each view looks the
account (and the alias) up scoped to the user (404 otherwise), checks the form, saves."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms_send_as import SendAsForm
from .models import MailAccount, SendAs


def _own_account(request, pk: int) -> MailAccount:
    return get_object_or_404(MailAccount, pk=pk, user=request.user)


def send_as_list(request, pk: int):
    account = _own_account(request, pk)
    form = SendAsForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        alias = form.save()
        messages.success(request, _("Added %(email)s.") % {"email": alias.email})
        return redirect("send_as_list", pk=account.pk)
    return render(
        request,
        "accounts/send_as.html",
        {"account": account, "aliases": account.send_as.all(), "form": form},
        status=400 if form.is_bound else 200,
    )


def send_as_edit(request, pk: int, alias_pk: int):
    account = _own_account(request, pk)
    alias = get_object_or_404(SendAs, pk=alias_pk, account=account)
    form = SendAsForm(request.POST or None, instance=alias, account=account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved %(email)s.") % {"email": alias.email})
        return redirect("send_as_list", pk=account.pk)
    return render(
        request,
        "accounts/send_as_form.html",
        {"account": account, "alias": alias, "form": form},
        status=400 if form.is_bound else 200,
    )


@require_POST
def send_as_delete(request, pk: int, alias_pk: int):
    account = _own_account(request, pk)
    alias = get_object_or_404(SendAs, pk=alias_pk, account=account)
    alias.delete()
    messages.success(request, _("Removed %(email)s.") % {"email": alias.email})
    return redirect("send_as_list", pk=account.pk)
