"""Compose, reply, forward, drafts and the outbox."""

from django.conf import settings
from django.contrib import messages as flash
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from accounts.formatting import file_size
from mailcore import mime

from . import outbox, rich_compose, send_limits, views_sending
from .forms import AttachmentUploadForm, ComposeForm, attachment_limit_error, sender_key
from .forms_send import DraftVersionForm, ScheduleForm
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
        # Asked about a missing attachment already: Send (the notice's button) or Send later.
        anyway = bool(request.POST.get("send_anyway"))
        if request.POST.get("send_later"):  # one of Send later's buttons
            action = "schedule"
        elif anyway and not request.POST.get("action"):  # the notice's Send anyway
            action = "send"
        schedule = ScheduleForm(request.POST) if action == "schedule" else None
        version = DraftVersionForm(request.POST)
        valid = [form.is_valid(), schedule is None or schedule.is_valid(), version.is_valid()]
        for name, errors in schedule.errors.items() if schedule else ():
            for error in errors:  # in the page's error summary too, naming the field
                form.add_error(None, f"{schedule[name].label}: {error}")
        if all(valid) and (action not in ("send", "schedule") or form.require_recipients()):
            try:
                outgoing = outbox.save_draft(
                    request.user,
                    outgoing,
                    form.cleaned_data,
                    uploads=form.cleaned_data["attachments"],
                    remove_ids=[a.pk for a in form.cleaned_data["remove_attachments"]],
                    version=version.cleaned_data["version"],
                )
            except outbox.StaleDraft:
                form.add_error(None, gettext(views_sending.STALE))
            except outbox.DraftNotEditable:  # sent meanwhile, from another tab
                flash.info(request, gettext(NOT_EDITABLE))
                return redirect("folder", folder=Folder.SENT)
            else:
                if action not in ("send", "schedule"):
                    flash.success(request, gettext("Draft saved."))
                    return redirect("compose_edit", pk=outgoing.pk)
                if not anyway and rich_compose.forgot_attachment(outgoing):
                    # Saved, not sent: the page asks first (editor.js asks before posting).
                    return redirect(views_sending.attachment_check_url(outgoing, schedule))
                try:
                    queued = outbox.queue_for_sending(
                        outgoing, send_at=schedule.cleaned_data["when"] if schedule else None
                    )
                except outbox.NotSendable as exc:
                    form.add_error(None, str(exc))
                except send_limits.OverLimit as exc:  # saved in Drafts, not queued
                    form.add_error(None, exc.text())
                except ValueError as exc:  # the builder refused it; its reason is technical
                    form.add_error(
                        None,
                        gettext("This message cannot be sent as it is: %(reason)s")
                        % {"reason": exc},
                    )
                else:
                    return views_sending.after_send(request, queued)
    else:
        schedule = views_sending.asked_schedule(request.GET)  # the notice repeats Send later
        version = DraftVersionForm(initial={"version": outgoing.version if outgoing else 0})
    attachments = list(outgoing.attachments.all()) if outgoing else []
    images = [a for a in attachments if a.inline]  # in the rich text, not in the list
    attachments = [a for a in attachments if not a.inline]
    return render(
        request,
        "mailbox/compose.html",
        {
            "form": form,
            "outgoing": outgoing,
            "attachments": attachments,
            "attached_bytes": sum(a.size for a in [*attachments, *images]),
            **_editor_context(request, form, outgoing),
            "removed": {str(pk) for pk in form["remove_attachments"].value() or []},
            "max_bytes": form.max_bytes,
            "version_form": version,
            **views_sending.schedule_context(schedule),
        },
    )


def _initial(request, outgoing):
    if outgoing:
        initial = {name: getattr(outgoing, name) for name in outbox.DRAFT_FIELDS}
        shown = rich_compose.shown_signature(outgoing.account, outgoing.body, outgoing.html_body)
        shown_pk = shown.pk if shown else ""
        return {
            **initial,
            "signature": shown_pk,
            "signature_shown": shown_pk,
            "sender_shown": sender_key(outgoing.account, outgoing.send_as),
        }
    account = request.user.mail_accounts.filter(enabled=True).first()
    signature = rich_compose.default_signature(account, reply=False)
    fields = rich_compose.body_fields(signature, "", rich=rich_compose.writes_rich(request.user))
    return {
        "account": account,
        **fields,
        "to": request.GET.get("to", "")[:998],
        "signature": signature.pk if signature else "",
        "signature_shown": signature.pk if signature else "",
        "sender_shown": sender_key(account),
    }


def _editor_context(request, form, outgoing) -> dict:
    """What the rich-text editor starts with: the posted HTML again after an error, else
    the draft's (or a new message's) own; its images as URLs of this draft's."""
    if form.is_bound:
        html = form.cleaned_data.get("html_body", "") if hasattr(form, "cleaned_data") else ""
    else:
        html = form.initial.get("html_body", "")
    return {
        "editor_html": rich_compose.editor_content(
            outgoing, html, getattr(form, "cleaned_data", {}).get("signature_images")
        ),
        "editor_rich": bool(html),
        "signature_blocks": rich_compose.signature_blocks(request.user),
        "sender_signatures": form.sender_signatures(),
        "attachment_check": request.method == "GET"
        and bool(request.GET.get("attachment_check"))
        and outgoing is not None
        and rich_compose.forgot_attachment(outgoing),
    }


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
    if draft.quote_too_long:
        flash.info(
            request,
            gettext(
                "The message is too long to quote in the text (more than %(size)s): it is "
                "attached as a whole instead."
            )
            % {"size": file_size(settings.WEBMAIL_FORWARD_INLINE_MAX_BYTES)},
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
    if outgoing.is_rule_forward:  # nothing the user wrote: it leaves the Outbox
        if outbox.dismiss(outgoing):
            flash.success(request, gettext("The rule's forward was removed from the Outbox."))
        else:
            flash.error(
                request, gettext("Too late to remove: the forward is being sent or was sent.")
            )
        return redirect("folder", folder=Folder.SENT)
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
    inline = request.POST.get("inline") == "1"  # an image pasted or dropped into the text
    if inline and rich_compose.image_type(upload) is None:
        return _refused(gettext("“%(name)s” is not an image.") % {"name": upload.name})
    try:
        attachment = outbox.attach_upload(
            request.user, outgoing, upload, account=account, inline=inline
        )
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
            "autosave_url": reverse("autosave_draft_to", args=[draft]),
            "attachment": {
                "id": attachment.pk,
                "name": attachment.filename,
                "size": attachment.size,
                "size_text": file_size(attachment.size),
                "remove_url": reverse("remove_attachment", args=[draft, attachment.pk]),
                "src": rich_compose.inline_url(attachment) if attachment.inline else "",
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


def inline_image(request, pk: int, attachment_pk: int):
    """An image of the draft's rich text, as the editor shows it (from our origin)."""
    outgoing = _own_draft(request, pk)
    attachment = get_object_or_404(
        OutgoingAttachment, pk=attachment_pk, outgoing=outgoing, inline=True
    )
    content_type = rich_compose.image_type(attachment)
    if content_type is None:
        raise Http404
    response = FileResponse(
        default_storage.open(attachment.file.name, "rb"), content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
