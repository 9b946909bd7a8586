"""Compose, reply, forward, drafts and the outbox."""

from django.contrib import messages as flash
from django.core.files.storage import default_storage
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mailcore import mime

from . import outbox
from .forms import ComposeForm
from .models import Folder, Message, Outgoing


def _own_message(request, pk: int) -> Message:
    return get_object_or_404(Message.objects.select_related("account"), pk=pk, owner=request.user)


def _parsed(message: Message):
    with default_storage.open(message.raw_file.name, "rb") as f:
        return mime.parse_message(f.read(), message.received_at)


def compose_view(request, pk: int | None = None):
    outgoing = (
        get_object_or_404(Outgoing, pk=pk, owner=request.user, is_read_receipt=False)
        if pk
        else None
    )
    if outgoing and not outgoing.is_editable:
        flash.info(request, "This message is queued or sent; cancel it first to edit it.")
        return redirect("folder", folder=Folder.SENT)
    if not request.user.mail_accounts.filter(enabled=True).exists():
        flash.error(request, "Add a mail account before writing mail.")
        return redirect("account_list")
    form = ComposeForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        outgoing=outgoing,
        initial=_initial(request, outgoing),
    )
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "discard":
            if outgoing:
                outgoing.delete()
            flash.info(request, "Draft discarded.")
            return redirect("home")
        if form.is_valid() and (action != "send" or form.require_recipients()):
            outgoing = outbox.save_draft(
                request.user,
                outgoing,
                form.cleaned_data,
                uploads=form.cleaned_data["attachments"],
                remove_ids=[a.pk for a in form.cleaned_data["remove_attachments"]],
            )
            if action != "send":
                flash.success(request, "Draft saved.")
                return redirect("compose_edit", pk=outgoing.pk)
            try:
                outbox.queue_for_sending(outgoing)
            except (outbox.NotSendable, ValueError) as exc:
                form.add_error(None, str(exc))
            else:
                flash.success(request, "Queued for sending.")
                return redirect("folder", folder=Folder.SENT)
    return render(
        request,
        "mailbox/compose.html",
        {
            "form": form,
            "outgoing": outgoing,
            "attachments": outgoing.attachments.all() if outgoing else [],
            "max_bytes": form.max_bytes,
        },
    )


def _initial(request, outgoing):
    if outgoing:
        return {name: getattr(outgoing, name) for name in outbox.DRAFT_FIELDS}
    account = request.user.mail_accounts.filter(enabled=True).first()
    body = f"\n\n-- \n{account.signature}" if account and account.signature else ""
    return {"account": account, "body": body, "to": request.GET.get("to", "")[:998]}


@require_POST
def reply(request, pk: int):
    message = _own_message(request, pk)
    draft = outbox.new_reply(message, _parsed(message), reply_all=request.POST.get("all") == "1")
    return redirect("compose_edit", pk=draft.pk)


@require_POST
def forward(request, pk: int):
    message = _own_message(request, pk)
    draft = outbox.new_forward(
        message, _parsed(message), as_attachment=request.POST.get("as") == "attachment"
    )
    return redirect("compose_edit", pk=draft.pk)


@require_POST
def send_read_receipt(request, pk: int):
    message = _own_message(request, pk)
    if message.read_receipt_to and not message.read_receipt_sent:
        outbox.queue_read_receipt(message, _parsed(message))
        flash.success(request, f"Read receipt queued for {message.read_receipt_to}.")
    return redirect("read_message", pk=message.pk)


@require_POST
def cancel_outgoing(request, pk: int):
    outgoing = get_object_or_404(Outgoing, pk=pk, owner=request.user)
    if outbox.cancel(outgoing):
        flash.success(request, "Sending cancelled; the message is back in Drafts.")
        return redirect("compose_edit", pk=outgoing.pk)
    flash.error(request, "Too late to cancel: the message is being sent or was sent.")
    return redirect("folder", folder=Folder.SENT)
