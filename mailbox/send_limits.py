"""Abuse limits on sending: one stolen password must not turn the instance into a relay.

Checked when a message is queued (outbox.queue_for_sending: Send, Send later, Send again
after Undo; outbox.queue_redirect and queue_auto_reply: a rule's forward, a vacation
reply), in the transaction that queues it and under a lock on the owner's row, so two
sends at once are counted one after the other and nothing past a limit is ever queued;
the delivery task only sends what was queued. The limits (accounts.sending_limits: the
server's, or the user's own set by an administrator):

- messages queued in any 60 minutes;
- recipients of one message;
- recipients of the messages queued in any 24 hours;
- bytes of the user's messages still waiting to be sent (queued, scheduled, retrying,
  being sent). Drafts are not outgoing mail: their attachments are bounded per draft by
  WEBMAIL_MAX_ATTACHMENT_BYTES, like any upload.

What counts is what left the Drafts: a message counts from the moment it is queued
(`queued_at`), sent or not yet, failed too (it may have reached some recipients); one
taken back with Undo or Cancel is a draft again and counts when it is queued again.
Rules' forwards and vacation replies count like mail the user wrote: they leave the
instance under the user's name all the same, and a forwarding rule is the easiest relay
a stolen account could set up. Past a limit they are not queued (and logged,
`event=send_limit`); the message that arrived is stored as usual. Read receipts neither
count nor are refused: one per received message that asks, a few hundred bytes.

Cost: one query (a count and two sums) over the owner's rows of the last 24 hours and
the pending ones, through the (owner, queued_at) and (owner, status) indexes; the limits
themselves bound how many rows that is. Working out when a limit frees up reads the same
rows, and only when one was reached.
"""

from __future__ import annotations

import datetime as dt
import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Func, IntegerField, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts import sending_limits
from accounts.formatting import file_size

from . import oplog, snooze
from .models import Outgoing, OutgoingStatus

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PENDING = (OutgoingStatus.QUEUED, OutgoingStatus.RETRYING, OutgoingStatus.SENDING)
LIMIT_FIELDS = (
    "send_per_hour",
    "recipients_per_message",
    "recipients_per_day",
    "max_pending_bytes",
)


class JsonArrayLength(Func):
    """The number of items of a JSON array column (PostgreSQL's jsonb, SQLite's JSON)."""

    function = "json_array_length"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="jsonb_array_length", **extra)


class OverLimit(Exception):
    """Queuing this message would pass a sending limit; `text()` says which, and when
    sending is possible again, in the active language."""

    def __init__(
        self,
        kind: str,
        *,
        limit: int,
        count: int = 0,
        used: int = 0,
        size: int = 0,
        free_at: dt.datetime | None = None,
    ):
        super().__init__(kind)
        self.kind = kind
        self.limit = limit
        self.count = count  # this message's recipients
        self.used = used  # what counts already (messages, recipients or bytes)
        self.size = size  # this message's bytes
        self.free_at = free_at

    def when(self) -> str:
        return snooze.wake_time(self.free_at) if self.free_at else ""

    def text(self) -> str:
        if self.kind == "stopped":
            return gettext("Sending is turned off for your account. Ask the administrator.")
        if self.kind in ("pending", "pending_message"):
            return self._size_text()
        if self.kind == "per_message":
            text = gettext(
                "This message has %(count)s recipients, more than the %(limit)s allowed in "
                "one message. Send it to fewer people at a time."
            )
        elif self.kind == "per_hour":
            text = ngettext(
                "You have reached your limit of %(limit)s message an hour. "
                "You can send again: %(when)s.",
                "You have reached your limit of %(limit)s messages an hour. "
                "You can send again: %(when)s.",
                self.limit,
            )
        elif self.kind == "per_day_message":
            text = gettext(
                "This message has %(count)s recipients, more than your limit of %(limit)s "
                "recipients a day. Send it to fewer people at a time."
            )
        else:  # per_day
            text = gettext(
                "Its %(count)s recipients would pass your limit of %(limit)s recipients a "
                "day (%(used)s in the last 24 hours). You can send it: %(when)s."
            )
        return text % {
            "limit": self.limit,
            "count": self.count,
            "used": self.used,
            "when": self.when(),
        }

    def _size_text(self) -> str:
        if self.kind == "pending_message":
            text = gettext(
                "This message is %(size)s, more than the %(limit)s your messages waiting "
                "to be sent may total."
            )
        else:
            text = gettext(
                "Your messages waiting to be sent total %(used)s already; with this one "
                "(%(size)s) they would pass your limit of %(limit)s. Send it once they have "
                "gone, or cancel some in the Outbox."
            )
        return text % {
            "size": file_size(self.size),
            "used": file_size(self.used),
            "limit": file_size(self.limit),
        }


# Counting ------------------------------------------------------------------------


def _counted(owner_id: int, exclude_pk: int | None = None):
    """The owner's messages that count: every one queued (not a draft), but read receipts."""
    rows = Outgoing.objects.filter(owner_id=owner_id, is_read_receipt=False).exclude(
        status=OutgoingStatus.DRAFT
    )
    return rows.exclude(pk=exclude_pk) if exclude_pk is not None else rows


def _since(owner_id: int, since: dt.datetime, exclude_pk: int | None = None):
    return _counted(owner_id, exclude_pk).filter(queued_at__gt=since)


def _counts(owner_id: int, now: dt.datetime, exclude_pk: int | None = None) -> tuple[int, int, int]:
    """(messages queued in the last hour, recipients in the last 24 hours, bytes still
    waiting to be sent): one query, over the rows of the last 24 hours and the pending."""
    day = Q(queued_at__gt=now - DAY)
    pending = Q(status__in=PENDING)
    found = (
        _counted(owner_id, exclude_pk)
        .filter(day | pending)
        .aggregate(
            hour=Count("pk", filter=Q(queued_at__gt=now - HOUR)),
            day=Coalesce(Sum(JsonArrayLength("recipients"), filter=day), 0),
            pending=Coalesce(Sum("size", filter=pending), 0),
        )
    )
    return found["hour"], found["day"], found["pending"]


def usage(user) -> sending_limits.Usage:
    """What counts against the user's limits now (the User admin shows it)."""
    hour, day, pending = _counts(user.pk, timezone.now())
    return sending_limits.Usage(last_hour=hour, last_day=day, pending_bytes=pending)


def _up_to_minute(when: dt.datetime) -> dt.datetime:
    """Shown to the minute, never earlier than it is."""
    floor = when.replace(second=0, microsecond=0)
    return floor if floor == when else floor + timedelta(minutes=1)


def _hour_frees_at(owner_id, now, count, limit, exclude_pk) -> dt.datetime:
    # One more may go once count - limit + 1 of them are over an hour old.
    times = _since(owner_id, now - HOUR, exclude_pk).order_by("queued_at")
    oldest = times.values_list("queued_at", flat=True)[count - limit]
    return _up_to_minute(oldest + HOUR)


def _day_frees_at(owner_id, now, needed: int, exclude_pk) -> dt.datetime:
    """When `needed` of the last 24 hours' recipients are over a day old."""
    rows = (
        _since(owner_id, now - DAY, exclude_pk)
        .order_by("queued_at")
        .annotate(n=JsonArrayLength("recipients"))
        .values_list("queued_at", "n")
    )
    freed, last = 0, now
    for queued_at, n in rows.iterator(chunk_size=500):
        freed, last = freed + n, queued_at
        if freed >= needed:
            break
    return _up_to_minute(last + DAY)


# Checking ------------------------------------------------------------------------


def lock_owner(owner_id: int):
    """The owner's row, locked until the transaction ends (FOR NO KEY UPDATE: rows that
    refer to the user can still be written meanwhile), with its own limits."""
    return (
        get_user_model()
        .objects.select_for_update(no_key=True)
        .only("pk", *LIMIT_FIELDS)
        .get(pk=owner_id)
    )


def check(
    owner_id: int,
    *,
    recipients: int,
    size: int,
    exclude_pk: int | None = None,
    locked_owner=None,
) -> None:
    """Raise OverLimit if queuing a message of `size` bytes to `recipients` addresses
    now would pass one of the owner's limits. In the transaction that queues it: the
    owner's row is locked here, so concurrent sends are counted one after the other.
    `exclude_pk`: the row being queued (a failed message sent again counts once).
    `locked_owner`: the owner's row, already locked FOR NO KEY UPDATE in this
    transaction by the caller (outbox.queue_for_sending, with the draft's row)."""
    owner = locked_owner if locked_owner is not None else lock_owner(owner_id)
    limits = sending_limits.limits_for(owner)
    if not limits.per_hour or not limits.per_day or not limits.per_message:
        raise OverLimit("stopped", limit=0)
    if recipients > limits.per_message:
        raise OverLimit("per_message", limit=limits.per_message, count=recipients)
    if recipients > limits.per_day:
        raise OverLimit("per_day_message", limit=limits.per_day, count=recipients)
    now = timezone.now()
    hour, day, pending = _counts(owner_id, now, exclude_pk)
    if hour + 1 > limits.per_hour:
        free_at = _hour_frees_at(owner_id, now, hour, limits.per_hour, exclude_pk)
        raise OverLimit("per_hour", limit=limits.per_hour, used=hour, free_at=free_at)
    if day + recipients > limits.per_day:
        needed = day + recipients - limits.per_day
        raise OverLimit(
            "per_day",
            limit=limits.per_day,
            count=recipients,
            used=day,
            free_at=_day_frees_at(owner_id, now, needed, exclude_pk),
        )
    if size > limits.pending_bytes:
        raise OverLimit("pending_message", limit=limits.pending_bytes, size=size)
    if pending + size > limits.pending_bytes:
        raise OverLimit("pending", limit=limits.pending_bytes, used=pending, size=size)


def log_refused(exc: OverLimit, *, owner_id: int, account_id: int, what: str) -> None:
    """An automatic message (`what`: "forward", "vacation") not queued: for operators."""
    oplog.emit(
        "send_limit",
        logging.WARNING,
        user=owner_id,
        account=account_id,
        message=what,
        limit=exc.kind,
    )
