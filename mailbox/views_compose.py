"""Compose, reply, forward, drafts and the outbox."""

from django.contrib import messages as flash
from django.core.files.storage import default_storage
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from accounts.formatting import file_size
from mailcore import mime

from . import outbox
from .forms import AttachmentUploadForm, ComposeForm, attachment_limit_error
from .models import Folder, Message, Outgoing, OutgoingAttachment

NOT_EDITABLE = gettext_noop("This message is queued or sent; cancel it first to edit it.")
NO_ACCOUNT = gettext_noop("Add a mail account before writing mail.")


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
        flash.info(request, gettext(NOT_EDITABLE))
        return redirect("folder", folder=Folder.SENT)
    if not request.user.mail_accounts.filter(enabled=True).exists():
        flash.error(request, gettext(NO_ACCOUNT))
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
            flash.info(request, gettext("Draft discarded."))
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
                flash.success(request, gettext("Draft saved."))
                return redirect("compose_edit", pk=outgoing.pk)
            try:
                outbox.queue_for_sending(outgoing)
            except outbox.NotSendable as exc:
                form.add_error(None, str(exc))
            except ValueError as exc:  # the message builder refused it; its reason is technical
                form.add_error(
                    None,
                    gettext("This message cannot be sent as it is: %(reason)s") % {"reason": exc},
                )
            else:
                flash.success(request, gettext("Queued for sending."))
                return redirect("folder", folder=Folder.SENT)
    attachments = list(outgoing.attachments.all()) if outgoing else []
    return render(
        request,
        "mailbox/compose.html",
        {
            "form": form,
            "outgoing": outgoing,
            "attachments": attachments,
            "attached_bytes": sum(a.size for a in attachments),
            "removed": {str(pk) for pk in form["remove_attachments"].value() or []},
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
        flash.success(
            request,
            gettext("Read receipt queued for %(address)s.") % {"address": message.read_receipt_to},
        )
    return redirect("read_message", pk=message.pk)


@require_POST
def cancel_outgoing(request, pk: int):
    outgoing = get_object_or_404(Outgoing, pk=pk, owner=request.user)
    if outbox.cancel(outgoing):
        flash.success(request, gettext("Sending cancelled; the message is back in Drafts."))
        return redirect("compose_edit", pk=outgoing.pk)
    flash.error(request, gettext("Too late to cancel: the message is being sent or was sent."))
    return redirect("folder", folder=Folder.SENT)


# Attachments uploaded in the background (static/js/compose.js) ----------------------


def _own_draft(request, pk: int) -> Outgoing:
    return get_object_or_404(Outgoing, pk=pk, owner=request.user, is_read_receipt=False)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_POST
def upload_attachment(request, pk: int | None = None):
    """One file for the draft `pk`, or for a new draft when the compose page has none yet.

    Answers JSON: the draft the page continues on, and the stored attachment.
    """
    outgoing = _own_draft(request, pk) if pk else None
    if outgoing and not outgoing.is_editable:
        return _refused(gettext(NOT_EDITABLE), 409)
    form = AttachmentUploadForm(request.POST, request.FILES, user=request.user, outgoing=outgoing)
    if not form.is_valid():
        return _refused(" ".join(e for errors in form.errors.values() for e in errors))
    upload = form.cleaned_data["file"]
    account = form.cleaned_data["account"] or form.fields["account"].queryset.first()
    if account is None:
        return _refused(gettext(NO_ACCOUNT))
    try:
        attachment = outbox.attach_upload(request.user, outgoing, upload, account=account)
    except outbox.DraftNotEditable:
        return _refused(gettext(NOT_EDITABLE), 409)
    except outbox.OverAttachmentLimit as exc:
        already = exc.total - upload.size
        return _refused(attachment_limit_error(upload.name, upload.size, already, form.max_bytes))
    draft = attachment.outgoing_id
    return JsonResponse(
        {
            "draft": draft,
            "compose_url": reverse("compose_edit", args=[draft]),
            "upload_url": reverse("upload_attachment_to", args=[draft]),
            "attachment": {
                "id": attachment.pk,
                "name": attachment.filename,
                "size": attachment.size,
                "size_text": file_size(attachment.size),
                "remove_url": reverse("remove_attachment", args=[draft, attachment.pk]),
            },
        },
        status=201,
    )


@require_POST
def remove_attachment(request, pk: int, attachment_pk: int):
    """Take one file off a draft (compose.js's Remove button; also works as a plain form)."""
    outgoing = _own_draft(request, pk)
    attachment = get_object_or_404(OutgoingAttachment, pk=attachment_pk, outgoing=outgoing)
    try:
        outbox.remove_attachment(attachment)
    except outbox.DraftNotEditable:
        if _wants_json(request):
            return _refused(gettext(NOT_EDITABLE), 409)
        flash.info(request, gettext(NOT_EDITABLE))
        return redirect("folder", folder=Folder.SENT)
    if _wants_json(request):
        return JsonResponse({"removed": attachment_pk})
    flash.success(request, gettext("“%(name)s” removed.") % {"name": attachment.filename})
    return redirect("compose_edit", pk=outgoing.pk)
