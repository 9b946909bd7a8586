"""Settings › a mail account › Signatures. Each view looks the account (and the
signature) up scoped to the user (404 otherwise), checks the form, saves."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms_signatures import SignatureForm
from .models import MailAccount, Signature


def _own_account(request, pk: int) -> MailAccount:
    return get_object_or_404(MailAccount, pk=pk, user=request.user)


def signature_list(request, pk: int):
    account = _own_account(request, pk)
    form = SignatureForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        signature = form.save()
        messages.success(request, _("Added the signature “%(name)s”.") % {"name": signature.name})
        return redirect("signature_list", pk=account.pk)
    return render(
        request,
        "accounts/signatures.html",
        {"account": account, "signatures": account.signatures.all(), "form": form},
        status=400 if form.is_bound else 200,
    )


def signature_edit(request, pk: int, signature_pk: int):
    account = _own_account(request, pk)
    signature = get_object_or_404(Signature, pk=signature_pk, account=account)
    form = SignatureForm(request.POST or None, instance=signature, account=account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved the signature “%(name)s”.") % {"name": signature.name})
        return redirect("signature_list", pk=account.pk)
    return render(
        request,
        "accounts/signature_form.html",
        {"account": account, "signature": signature, "form": form},
        status=400 if form.is_bound else 200,
    )


@require_POST
def signature_delete(request, pk: int, signature_pk: int):
    account = _own_account(request, pk)
    signature = get_object_or_404(Signature, pk=signature_pk, account=account)
    signature.delete()
    messages.success(request, _("Removed the signature “%(name)s”.") % {"name": signature.name})
    return redirect("signature_list", pk=account.pk)
