"""Invitations: ``text/calendar`` parts and ``.ics`` attachments read as event cards.

Parsed with vobject (already the contacts' vCard reader) from the stored attachment:
what, when (shown in the user's time zone), where, who organizes and who is invited,
and whether it is a request, a cancellation or a plain event. The ``.ics`` stays a
download; nothing is answered (no METHOD:REPLY is sent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import vobject
from django.utils import timezone

from . import storage_io

log = logging.getLogger(__name__)

MAX_ICS_BYTES = 256 * 1024
MAX_EVENTS = 5
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})


@dataclass
class Event:
    summary: str
    method: str  # REQUEST, CANCEL, PUBLISH, REPLY… or ""
    start: datetime | date | None
    end: datetime | date | None
    location: str = ""
    organizer: str = ""
    attendees: list[str] = field(default_factory=list)

    @property
    def all_day(self) -> bool:
        return isinstance(self.start, date) and not isinstance(self.start, datetime)

    @property
    def last_day(self) -> date | None:
        """An all-day event's last day when it lasts more than one (DTEND is exclusive)."""
        if not self.all_day or not isinstance(self.end, date) or isinstance(self.end, datetime):
            return None
        last = self.end - timedelta(days=1)
        return last if last > self.start else None


def is_calendar(attachment) -> bool:
    name = (attachment.safe_name or attachment.filename or "").lower()
    return attachment.content_type in CALENDAR_TYPES or name.endswith(".ics")


def events_of(attachments) -> list[Event]:
    """The events of a message's calendar attachments (at most MAX_EVENTS)."""
    events: list[Event] = []
    for attachment in attachments:
        if not is_calendar(attachment) or attachment.size > MAX_ICS_BYTES:
            continue
        try:
            with storage_io.open_stream(attachment.file.name) as f:
                data = f.read(MAX_ICS_BYTES + 1)
        except OSError:
            continue
        events += parse(data)
        if len(events) >= MAX_EVENTS:
            break
    return events[:MAX_EVENTS]


def parse(data: bytes) -> list[Event]:
    """The VEVENTs of an iCalendar stream; [] for what cannot be read (never raises)."""
    text = data.decode("utf-8", "replace")
    events: list[Event] = []
    try:
        for calendar in vobject.readComponents(text, ignoreUnreadable=True):
            method = _value(calendar, "method").upper()
            for vevent in getattr(calendar, "vevent_list", []):
                events.append(_event(vevent, method))
    except Exception:  # noqa: BLE001 - a broken invitation is still a downloadable file
        log.info("unreadable calendar attachment", exc_info=True)
    return events


def _event(vevent, method: str) -> Event:
    return Event(
        summary=_value(vevent, "summary"),
        method=method,
        start=_moment(vevent, "dtstart"),
        end=_moment(vevent, "dtend"),
        location=_value(vevent, "location"),
        organizer=_person(getattr(vevent, "organizer", None)),
        attendees=[_person(a) for a in getattr(vevent, "attendee_list", [])][:50],
    )


def _value(component, name: str) -> str:
    prop = getattr(component, name, None)
    value = getattr(prop, "value", "") if prop is not None else ""
    return " ".join(str(value).split())[:500]


def _moment(component, name: str) -> datetime | date | None:
    prop = getattr(component, name, None)
    value = getattr(prop, "value", None)
    if isinstance(value, datetime):
        # A floating time (no zone) is the reader's own local time.
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return value if isinstance(value, date) else None


def _person(prop) -> str:
    if prop is None:
        return ""
    address = str(getattr(prop, "value", "")).strip()
    if address.lower().startswith("mailto:"):
        address = address[7:]
    names = getattr(prop, "params", {}).get("CN") or []
    name = str(names[0]).strip('" ') if names else ""
    if name and address:
        return f"{name} <{address}>"
    return name or address
