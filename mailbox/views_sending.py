"""Undo send, Send later (the outbox's Edit, Send now and Cancel) and autosave.

The rules are in mailbox.sending; these views look the row up for its owner, check the
input and call one function.
"""

from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_noop, ngettext
from django.views.decorators.http import require_POST

from . import outbox, pages, sending, snooze
from .forms_send import CUSTOM, AutosaveForm, ScheduleForm
from .models import Folder, Outgoing

STALE = gettext_noop(
    "This draft was changed in another tab or window since this page loaded it, so your "
    "text here was not saved. Copy what you want to keep, then reload the draft."
)
NOT_EDITABLE = gettext_noop("This message is queued or sent; cancel it first to edit it.")
TAKEN_BACK = {
    "undo": gettext_noop("Sending undone: the message is back in Drafts."),
    "edit": gettext_noop("The message is back in Drafts: it is sent when you send it again."),
    "cancel": gettext_noop("Sending later cancelled: the message is in Drafts."),
}


def after_send(request, outgoing: Outgoing):
    """Where Send and Send later lead: Sent, with the Undo toast while the message waits
    (the toast's Undo is a plain form), or a flash saying when it goes."""
    if outgoing.scheduled:
        flash.success(
            request,
            gettext("Scheduled to be sent: %(when)s.")
            % {"when": snooze.wake_time(outgoing.send_after)},
        )
    elif (seconds := sending.seconds_left(outgoing)) > 0:
        text = ngettext(
            "Sending in %(seconds)s second.", "Sending in %(seconds)s seconds.", seconds
        ) % {"seconds": seconds}
        url = reverse("undo_send", args=[outgoing.pk])
        pages.offer_undo(request, text, {"send_url": url, "seconds": seconds})
    else:
        flash.success(request, gettext("Queued for sending."))
    return redirect("folder", folder=Folder.SENT)


def schedule_context(schedule_form: ScheduleForm | None) -> dict:
    """Send later's menu on the compose page: presets now, in the user's zone."""
    now = timezone.now()
    return {
        "schedule_form": schedule_form or ScheduleForm(),
        "send_later_presets": sending.presets(now, timezone.get_current_timezone()),
        "send_later_min": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
    }


def attachment_check_url(outgoing: Outgoing, schedule: ScheduleForm | None) -> str:
    """The draft again, asking about the attachment its text mentions (Send and Send
    later without JavaScript); for Send later, with the choice to repeat."""
    query = {"attachment_check": "1"}
    if schedule is not None:
        query["send_later"] = schedule.cleaned_data["send_later"]
        if query["send_later"] == CUSTOM:
            query["send_at"] = schedule.data.get("send_at", "")
    return reverse("compose_edit", args=[outgoing.pk]) + "?" + urlencode(query)


def asked_schedule(query) -> ScheduleForm | None:
    """Send later's choice that the forgotten-attachment notice repeats (`initial`:
    `send_later`, and `send_at` for the menu's date and time), from its URL; else None."""
    choice = query.get("send_later", "")
    if not query.get("attachment_check") or choice not in dict(
        ScheduleForm.base_fields["send_later"].choices
    ):
        return None
    at = query.get("send_at", "") if choice == CUSTOM else ""
    try:
        ScheduleForm.base_fields["send_at"].clean(at)
    except ValidationError:
        at = ""
    return ScheduleForm(initial={"send_later": choice, "send_at": at})


def _own_outgoing(request, pk: int) -> Outgoing:
    return get_object_or_404(
        Outgoing, pk=pk, owner=request.user, is_read_receipt=False, is_rule_forward=False
    )


@require_POST
def take_back(request, pk: int, then: str):
    """Undo (the toast), Edit and Cancel (a scheduled message in the outbox): back to
    Drafts if its time has not come; Undo and Edit then open it in compose."""
    outgoing = _own_outgoing(request, pk)
    if sending.take_back(outgoing):
        flash.success(request, gettext(TAKEN_BACK[then]))
        if then == "cancel":
            return redirect("folder", folder=Folder.SENT)
        return redirect("compose_edit", pk=outgoing.pk)
    reason = sending.too_late(outgoing, undo=then == "undo")
    if not reason:  # a draft already (Undo pressed twice): open it
        return redirect("compose_edit", pk=outgoing.pk)
    flash.error(request, reason)
    return redirect("folder", folder=Folder.SENT)


@require_POST
def send_now(request, pk: int):
    outgoing = _own_outgoing(request, pk)
    if sending.send_now(outgoing):
        flash.success(request, gettext("Sending now."))
    else:
        flash.error(request, sending.too_late(outgoing, undo=False) or gettext(NOT_EDITABLE))
    return redirect("folder", folder=Folder.SENT)


@require_POST
def autosave(request, pk: int | None = None):
    """The compose page's draft, saved while the user types (static/js/autosave.js).

    The first save starts the draft and answers its id and URLs, which the page uses
    from then on; a page whose version is behind the draft's gets 409 and is told.
    """
    outgoing = (
        get_object_or_404(Outgoing, pk=pk, owner=request.user, is_read_receipt=False)
        if pk
        else None
    )
    if outgoing and not outgoing.is_editable:
        return JsonResponse({"error": gettext(NOT_EDITABLE), "sent": True}, status=409)
    form = AutosaveForm(request.POST, user=request.user, outgoing=outgoing)
    if not form.is_valid():
        errors = " ".join(f"{form[n].label}: {e}" for n, es in form.errors.items() for e in es)
        return JsonResponse({"error": errors}, status=400)
    try:
        outgoing = outbox.save_draft(
            request.user, outgoing, form.cleaned_data, version=form.cleaned_data["version"]
        )
    except outbox.StaleDraft as exc:
        return JsonResponse(
            {"error": gettext(STALE), "conflict": True, "version": exc.version}, status=409
        )
    except outbox.DraftNotEditable:
        return JsonResponse({"error": gettext(NOT_EDITABLE), "sent": True}, status=409)
    saved_at = formats.time_format(timezone.localtime(outgoing.updated_at), "TIME_FORMAT")
    return JsonResponse(
        {
            "draft": outgoing.pk,
            "version": outgoing.version,
            "compose_url": reverse("compose_edit", args=[outgoing.pk]),
            "upload_url": reverse("upload_attachment_to", args=[outgoing.pk]),
            "autosave_url": reverse("autosave_draft_to", args=[outgoing.pk]),
            "saved": gettext("Saved at %(time)s") % {"time": saved_at},
        }
    )
