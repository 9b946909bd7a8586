"""Snooze: hide messages until a chosen moment, then bring them back to the Inbox, unread.

A snoozed message is in Folder.SNOOZED with `snoozed_until` set. Everything is in the
database, so nothing is lost when the web server, the worker or beat restarts: beat runs
`wake_snoozed` every minute (mailbox.tasks.wake_snoozed, CELERY_BEAT_SCHEDULE), and a
run that was missed is made up by the next one, which wakes everything that is due.

The presets follow Gmail, in the user's time zone:
- "Later today": 18:00 if that is at least three hours away, else three hours from now
  rounded up to the next full hour; not offered when that would be tomorrow already.
- "Tomorrow": 08:00 tomorrow.
- "Next week": Monday 08:00 (a week from today on a Monday; on a Sunday that is
  tomorrow, so only "Tomorrow" is offered).
- or a date and time the user picks.

Where a woken message appears: at the top of the Inbox, like new mail. Lists are sorted
by `Message.date` (every listing index and mailbox.listing's keyset cursor), so waking
sets `date` to the wake time and keeps the message's own Date in `header_date` (the
first one, if it is snoozed again); `Message.own_date` is what the reading pane, the
conversation and exports show. The list row shows `date`: when it came back, as Gmail
does. Search's before:/after: go by `date` too, the date the list shows.

`snoozed_until` is kept when a message leaves Snoozed by a user's action (Unsnooze, a
move, Trash), so that Undo, or Restore from Trash, puts it back with the same wake time;
it is only read while the message is in Snoozed. Waking clears it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import dateformat, timezone
from django.utils.translation import gettext_lazy, pgettext

from accounts.formatting import full_date

from .actions import owned
from .models import Folder, Message

MORNING = dt.time(8, 0)
EVENING = dt.time(18, 0)
LATER_AT_LEAST = dt.timedelta(hours=3)
# Folders whose mail can be snoozed: not Trash and Junk (they have their own ways out).
NOT_FROM = (Folder.TRASH, Folder.JUNK)

LABELS = {
    "later_today": gettext_lazy("Later today"),
    "tomorrow": gettext_lazy("Tomorrow"),
    "next_week": gettext_lazy("Next week"),
}


@dataclass(frozen=True)
class Preset:
    key: str  # "later_today", "tomorrow", "next_week"
    when: dt.datetime  # aware, in the zone the presets were computed for

    @property
    def label(self) -> str:
        return str(LABELS[self.key])

    @property
    def text(self) -> str:
        """When it comes back, as the menu shows it: "Today, 6:00 PM"."""
        return wake_time(self.when, now=None)


def _at(day: dt.date, moment: dt.time, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, moment, tzinfo=zone)


def later_today(now: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    local = now.astimezone(zone)
    evening = _at(local.date(), EVENING, zone)
    if evening - local >= LATER_AT_LEAST:
        return evening
    # Three hours on (in real time, whatever the clocks do), up to the next full hour.
    later = (now + LATER_AT_LEAST).astimezone(zone)
    hour = later.replace(minute=0, second=0, microsecond=0)
    if hour < later:
        hour = (hour.astimezone(dt.UTC) + dt.timedelta(hours=1)).astimezone(zone)
    return hour if hour.date() == local.date() else None


def tomorrow(now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    return _at(now.astimezone(zone).date() + dt.timedelta(days=1), MORNING, zone)


def next_week(now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    today = now.astimezone(zone).date()
    return _at(today + dt.timedelta(days=7 - today.weekday()), MORNING, zone)


def presets(now: dt.datetime, zone: dt.tzinfo) -> list[Preset]:
    """The menu's choices at `now`, in the user's time zone `zone`."""
    found = [
        ("later_today", later_today(now, zone)),
        ("tomorrow", tomorrow(now, zone)),
        ("next_week", next_week(now, zone)),
    ]
    # On a Sunday "next week" is tomorrow morning: offered once, as "Tomorrow".
    times = [when for _key, when in found]
    return [
        Preset(key, when)
        for i, (key, when) in enumerate(found)
        if when is not None and when not in times[:i]
    ]


def preset_time(key: str, now: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """The time of one preset (None for "later_today" late in the evening)."""
    return {"later_today": later_today, "tomorrow": tomorrow, "next_week": next_week}[key](
        now, zone
    )


def wake_time(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """A wake time in the active (user's) zone: "Today, 6:00 PM", "Tomorrow, 8:00 AM",
    else the full date ("Mon, Dec 14, 2026, 8:00 AM")."""
    local = timezone.localtime(when)
    today = timezone.localdate(now)
    clock = dateformat.format(local, pgettext("time of day (Django date format)", "g:i A"))
    if local.date() == today:
        return pgettext("snoozed until", "Today, %(time)s") % {"time": clock}
    if local.date() == today + dt.timedelta(days=1):
        return pgettext("snoozed until", "Tomorrow, %(time)s") % {"time": clock}
    return full_date(local)


def snooze(owner, ids, until: dt.datetime) -> int:
    """Hide the owner's messages `ids` until `until`; snoozing again changes the time.

    An own folder's message leaves it (as any move out of it does); Undo moves it back.
    """
    return (
        owned(owner, ids)
        .exclude(folder__in=NOT_FROM)
        .update(folder=Folder.SNOOZED, snoozed_until=until, user_folder=None)
    )


def unsnooze(owner, ids) -> int:
    """Back to the Inbox now, as they are (read or not); the wake time stays for Undo."""
    return owned(owner, ids).filter(folder=Folder.SNOOZED).update(folder=Folder.INBOX)


def due(now: dt.datetime):
    # A message in Snoozed without a time (moved there by other means) is due at once:
    # it would never come back otherwise.
    return Message.objects.filter(
        Q(snoozed_until__lte=now) | Q(snoozed_until__isnull=True), folder=Folder.SNOOZED
    )


def wake_snoozed(now: dt.datetime) -> int:
    """Move every message whose time has come back to the top of the Inbox, unread; for
    all users.

    One UPDATE over the partial index message_snoozed_idx: a crash leaves each message
    either snoozed or woken, and a second run wakes nothing twice.

    The top of the Inbox: its `date` (the lists' sort key) becomes `now`, the moment of
    this run; its own date moves to `header_date` unless an earlier wake-up put it there
    (the right-hand sides of one UPDATE all read the row as it was).
    """
    return due(now).update(
        folder=Folder.INBOX,
        seen=False,
        snoozed_until=None,
        header_date=Coalesce(F("header_date"), F("date")),
        date=now,
    )
