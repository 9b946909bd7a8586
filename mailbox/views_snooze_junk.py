"""Snooze, Report junk / Not junk, and the blocked senders page (Settings).

Like the other mail actions: the messages are looked up by their owner (someone else's
ids match nothing, someone else's message page is a 404), the form is checked, one
domain function runs, and the toast offers Undo; htmx gets the list pane back, a
browser without JavaScript a redirect to the list.
"""

from django.contrib import messages as flash
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from . import folders, junk, pages, search_pages, selection, snooze
from .forms_snooze_junk import (
    BlockSenderForm,
    BulkReportJunkForm,
    BulkSnoozeForm,
    ReportJunkForm,
    SnoozeForm,
)
from .models import BlockedSender, Folder
from .views import _is_fragment, _list_fragment, _message_or_404


def _form_errors(request, form) -> None:
    flash.error(request, " ".join(e for errors in form.errors.values() for e in errors))


def _after(request, key: str, action: str, acted: list[int], message_pk: int | None = None):
    """The list pane (htmx), else the list, or the message if nothing happened to it."""
    list_query = request.POST.get("list", "")
    if _is_fragment(request):
        return _list_fragment(request, key, list_query, action, acted)
    if message_pk is not None and not action:
        return redirect("read_message", pk=message_pk)
    return redirect(pages.list_url(key, list_query))


def _list_key(request) -> str:
    return pages.list_key_or_none(request.POST.get("folder")) or Folder.INBOX


# Snooze ------------------------------------------------------------------------------


def _everything(request) -> selection.Everything | None:
    """The list's "select all", if chosen (mailbox.selection)."""
    searched = request.POST.get("scope") == search_pages.SCOPE
    return selection.requested(request.user, request.POST, search=searched)


def _run(chosen, function, *, chunked: bool) -> tuple[int, list[int] | None]:
    """`function(ids)` on the ticked ids or on a "select all": (count, the ids for
    Undo, or None when there are too many to remember)."""
    if isinstance(chosen, selection.Everything):
        run = chosen.run(lambda _owner, some, _target: function(some), None, chunked=chunked)
        return run, chosen.ids
    return function(chosen), chosen


def _snooze(request, form, chosen, key: str) -> tuple[str, list[int]]:
    when = form.cleaned_data["when"]
    count, ids = _run(chosen, lambda some: snooze.snooze(request.user, some, when), chunked=False)
    text = ngettext(
        "%(n)s message snoozed until %(when)s.", "%(n)s messages snoozed until %(when)s.", count
    ) % {"n": count, "when": snooze.wake_time(when)}
    # Undo: back to the list it was snoozed from (from Snoozed itself: a new time only).
    undo = None
    if key != Folder.SNOOZED and ids is None:
        text = f"{text} {selection.undo_note()}"
    elif key != Folder.SNOOZED:
        # the list the user is looking at comes back as it was
        undo = {"action": "move", "ids": ids, "target": key}
        undo.update(folder=key, list=request.POST.get("list", ""))
    pages.offer_undo(request, text, undo)
    return "snooze", ids or []


@require_POST
def snooze_messages(request):
    """The list's Snooze menu: the selected messages, or the whole list ("select all")."""
    key = _list_key(request)
    everything = _everything(request)
    form = SnoozeForm(request.POST) if everything else BulkSnoozeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _after(request, key, "", [])
    chosen = everything if everything else form.cleaned_data["ids"]
    action, acted = _snooze(request, form, chosen, key)
    return _after(request, key, action, acted)


@require_POST
def snooze_message(request, pk: int):
    """The reading pane's Snooze menu."""
    message = _message_or_404(request, pk)
    key = folders.key_of(message)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _after(request, key, "", [], message.pk)
    action, acted = _snooze(request, form, [message.pk], key)
    return _after(request, key, action, acted, message.pk)


# Junk --------------------------------------------------------------------------------


def _report(request, chosen, key: str, block: bool) -> tuple[str, list[int]]:
    blocked: list[str] = []

    def report(some) -> int:
        done = junk.report_junk(request.user, some, block=block)
        blocked.extend(done.blocked)
        return done.moved

    # Reading the senders to block: in chunks (a plain move would be one UPDATE).
    moved, ids = _run(chosen, report, chunked=True)
    text = ngettext("%(n)s message moved to Junk.", "%(n)s messages moved to Junk.", moved) % {
        "n": moved
    }
    if blocked:
        text += " " + _("Blocked: %(senders)s.") % {"senders": ", ".join(blocked)}
    if ids is None:  # "select all" of more than Undo remembers
        pages.offer_undo(request, f"{text} {selection.undo_note()}", None)
        return "junk", []
    # Undo: back where they were, and the blocks just made removed with "Not junk".
    inverse = "unreport_junk" if block else "move"
    undo = {"action": inverse, "ids": ids, "target": key, "folder": key}
    pages.offer_undo(request, text, {**undo, "list": request.POST.get("list", "")})
    return "junk", ids


@require_POST
def report_junk_messages(request):
    key = _list_key(request)
    everything = _everything(request)
    form = ReportJunkForm(request.POST) if everything else BulkReportJunkForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _after(request, key, "", [])
    chosen = everything if everything else form.cleaned_data["ids"]
    action, acted = _report(request, chosen, key, form.cleaned_data["block"])
    return _after(request, key, action, acted)


@require_POST
def report_junk_message(request, pk: int):
    message = _message_or_404(request, pk)
    key = folders.key_of(message)
    form = ReportJunkForm(request.POST)
    form.is_valid()  # one optional checkbox: always valid
    action, acted = _report(request, [message.pk], key, form.cleaned_data["block"])
    return _after(request, key, action, acted, message.pk)


# Blocked senders (Settings) ----------------------------------------------------------


def blocked_senders(request):
    form = BlockSenderForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        entry = form.save()
        flash.success(
            request,
            _("Mail from %(address)s will go to Junk.") % {"address": entry.address},
        )
        return redirect("blocked_senders")
    return render(
        request,
        "mailbox/blocked_senders.html",
        {
            "form": form,
            "blocked": BlockedSender.objects.filter(owner=request.user),
        },
        status=400 if form.errors else 200,
    )


@require_POST
def unblock_sender(request, pk: int):
    entry = get_object_or_404(BlockedSender, pk=pk, owner=request.user)
    junk.unblock(request.user, entry.pk)
    flash.success(request, _("%(address)s is no longer blocked.") % {"address": entry.address})
    return redirect("blocked_senders")
