"""Undo send and Send later: a queued message is not due before its `send_after`.

- Send queues the message (outbox.queue_for_sending: bytes frozen, then the task after
  commit) with `send_after` = now + the owner's undo window (`undo_send_seconds`; 0 =
  at once); Send later queues it with the chosen time and `scheduled`.
- Nothing delivers it before then, whoever asks: the claim (delivery._claim) refuses a
  row whose `send_after` is in the future, so an early, redelivered or restarted task
  does nothing, and the sweep (outbox.due_for_delivery, run every minute by beat) only
  enqueues rows whose time has come. The database row is the truth: a restart of the
  web server, the worker, the broker or beat delays nothing by more than a minute.
- Taking it back (Undo in the toast, Edit and Cancel in the outbox) is one conditional
  UPDATE: still queued and `send_after` still in the future → draft. The claim is the
  opposite UPDATE on the same row (queued and due → sending), so one of the two wins and
  a message is never both taken back and sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from . import outbox, snooze
from .models import Outgoing, OutgoingStatus

# Send later's presets, in the user's time zone (as Snooze's: mailbox.snooze).
LABELS = {
    "tomorrow": gettext_lazy("Tomorrow morning"),
    "monday": gettext_lazy("Monday morning"),
}
_TIMES = {"tomorrow": snooze.tomorrow, "monday": snooze.next_week}


@dataclass(frozen=True)
class Preset:
    key: str  # "tomorrow", "monday"
    when: dt.datetime

    @property
    def label(self) -> str:
        return str(LABELS[self.key])

    @property
    def text(self) -> str:
        return snooze.wake_time(self.when)


def presets(now: dt.datetime, zone: dt.tzinfo) -> list[Preset]:
    """Tomorrow 8:00 and next Monday 8:00; on a Sunday they are the same: offered once."""
    found = [Preset(key, time(now, zone)) for key, time in _TIMES.items()]
    return [p for i, p in enumerate(found) if p.when not in [q.when for q in found[:i]]]


def preset_time(key: str, now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    return _TIMES[key](now, zone)


def _waiting(outgoing: Outgoing, now: dt.datetime):
    """The row, if it is still queued and not due yet (what nobody can have claimed)."""
    return Outgoing.objects.filter(
        pk=outgoing.pk,
        status=OutgoingStatus.QUEUED,
        send_after__gt=now,
        is_rule_forward=False,
        is_read_receipt=False,
    )


def take_back(outgoing: Outgoing) -> bool:
    """Undo (and the outbox's Edit and Cancel): back to Drafts exactly as it was written
    (recipients, subject, text, HTML, attachments: the row keeps them), if its time has
    not come. False: too late (see too_late)."""
    return bool(_waiting(outgoing, timezone.now()).update(**outbox.BACK_TO_DRAFT))


def send_now(outgoing: Outgoing) -> bool:
    """A waiting message (scheduled, or in its undo window) due now; its task is
    enqueued after the commit. False: it is not waiting any more."""
    with transaction.atomic():
        now = timezone.now()
        moved = _waiting(outgoing, now).update(send_after=now, next_attempt_at=now, scheduled=False)
        if moved:
            outbox.announce_queued_on_commit(outgoing.pk)
    return bool(moved)


def too_late(outgoing: Outgoing, *, undo: bool = True) -> str:
    """Why a message cannot be taken back (Undo) or changed (Edit, Send now, Cancel) any
    more, in the user's language; "" when it is a draft again already (pressed twice)."""
    status = Outgoing.objects.filter(pk=outgoing.pk).values_list("status", flat=True).first()
    if status in (None, OutgoingStatus.DRAFT):
        return ""
    if status == OutgoingStatus.SENT:
        if undo:
            return gettext("Too late to undo: the message was sent.")
        return gettext("Too late to change it: the message was sent.")
    if status == OutgoingStatus.FAILED:
        return gettext("Too late: sending was tried and failed; see the Outbox.")
    if status == OutgoingStatus.UNKNOWN:
        return gettext("Too late: the server may already have it; see the Outbox.")
    if undo:
        return gettext("Too late to undo: the message is being sent.")
    return gettext("Too late to change it: the message is being sent.")


def seconds_left(outgoing: Outgoing, now: dt.datetime | None = None) -> int:
    if outgoing.send_after is None:
        return 0
    left = (outgoing.send_after - (now or timezone.now())).total_seconds()
    return max(0, round(left))
