"""Keyset pagination over a user's messages, newest first.

OFFSET pagination reads and throws away every row before the page, so the last
page of 100,000 messages costs 100,000 rows. A cursor (date, id) lets the
database start at the right place in the (owner, folder, -date, -id) index, so
the first, a middle and the last page cost the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Subquery

from . import threading

PAGE_SIZE = 50
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    date: dt.datetime
    id: int

    def encode(self) -> str:
        # Whole microseconds since the epoch: exact, unlike a float timestamp.
        return f"{(self.date - _EPOCH) // _MICROSECOND}_{self.id}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        try:
            stamp, ident = (value or "").split("_")
            return cls(_EPOCH + int(stamp) * _MICROSECOND, int(ident))
        except (ValueError, OverflowError, OSError):
            return None

    @classmethod
    def of(cls, message) -> Cursor:
        return cls(message.date, message.pk)


def older_than(cursor: Cursor) -> Q:
    # The redundant date__lte lets the planner range-scan the index.
    return Q(date__lte=cursor.date) & (Q(date__lt=cursor.date) | Q(id__lt=cursor.id))


def newer_than(cursor: Cursor) -> Q:
    return Q(date__gte=cursor.date) & (Q(date__gt=cursor.date) | Q(id__gt=cursor.id))


@dataclass
class Page:
    messages: list
    older: str | None  # cursor for the next (older) page, None on the last page
    newer: str | None  # cursor for the previous (newer) page, None on the first page
    # The highest message id there was when the page was read (mailbox.selection: what
    # "select all" covers), read with the page's rows rather than by a query of its own.
    newest_id: int | None = None

    @property
    def is_first(self) -> bool:
        return self.newer is None

    @property
    def is_last(self) -> bool:
        return self.older is None


def paginate(
    messages: QuerySet,
    *,
    before: str | None = None,
    after: str | None = None,
    oldest: bool = False,
    size: int | None = None,
) -> Page:
    """One page of `messages`: the newest, those before/after a cursor, or the oldest
    (PAGE_SIZE rows unless `size` says; read at each call, so tests may lower it)."""
    size = size or PAGE_SIZE
    before_cursor, after_cursor = Cursor.decode(before), Cursor.decode(after)
    # A lookup at the end of the primary key, done once in the page's own query.
    newest = messages.model._base_manager.order_by("-pk").values("pk")[:1]
    messages = messages.annotate(newest_id=Subquery(newest))
    if oldest or after_cursor:
        query = messages.filter(newer_than(after_cursor)) if after_cursor else messages
        rows = list(query.order_by("date", "id")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        more_older = (
            not oldest and bool(rows) and messages.filter(older_than(Cursor.of(rows[-1]))).exists()
        )
    else:
        query = messages.filter(older_than(before_cursor)) if before_cursor else messages
        rows = list(query.order_by("-date", "-id")[: size + 1])
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = (
            bool(before_cursor)
            and bool(rows)
            and messages.filter(newer_than(Cursor.of(rows[0]))).exists()
        )
    return Page(
        messages=rows,
        older=Cursor.of(rows[-1]).encode() if rows and more_older else None,
        newer=Cursor.of(rows[0]).encode() if rows and more_newer else None,
        newest_id=rows[0].newest_id if rows else None,
    )


def neighbours(messages: QuerySet, message) -> tuple[int | None, int | None]:
    """Ids of the next newer and next older message around `message` in this list."""
    cursor = Cursor.of(message)
    newer = (
        messages.filter(newer_than(cursor))
        .order_by("date", "id")
        .values_list("pk", flat=True)
        .first()
    )
    older = (
        messages.filter(older_than(cursor))
        .order_by("-date", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    return newer, older


def conversation_neighbours(messages: QuerySet, message) -> tuple[int | None, int | None]:
    """Ids of the rows above and below `message`'s conversation in this list as the
    conversation view shows it (one row per conversation: threading.latest_per_thread),
    so Newer/Older step from conversation to conversation. Three queries whatever the
    list's size: the conversation's own row (its newest message in the list, which may
    not be `message`), then one step each way among the other conversations' rows."""
    row = message
    if message.thread_id is not None:
        row = (
            messages.filter(thread_id=message.thread_id)
            .order_by("-date", "-id")
            .only("pk", "date", "thread_id")
            .first()
        ) or message
    return neighbours(threading.latest_per_thread(messages), row)
