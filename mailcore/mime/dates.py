"""Dates: the one parser of RFC 5322 date-times and the one rule for naive datetimes.

Used by the parser (Date headers), by :mod:`mailcore.reports` (DSN date fields) and by
:mod:`mailcore.compose` (the Date of outgoing messages). Each used to have its own copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .headers import decode_header_text


def parse_date(
    value: str | None, clean: Callable[[str], str] = decode_header_text
) -> datetime | None:
    """``value`` as an aware datetime (no zone or "-0000" means UTC); None if not a date.

    ``clean`` turns the value into one line of text first, inside the same guard: by
    default a raw header value is unfolded and RFC 2047-decoded; a DSN field, text that
    is already decoded, is only cleaned of controls (the report parser passes its own).
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(clean(value))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return aware(parsed)


def aware(moment: datetime | None, *, local_now: bool = False) -> datetime:
    """``moment`` with a time zone: a naive one is UTC ("-0000" or no zone, RFC 5322).

    None means now: in UTC, as the parser dates a message received at an unknown time,
    or with ``local_now`` in the server's local zone, as the Date header of an outgoing
    message shows it. (The parser's and the composer's copies differed only there.)
    """
    if moment is None:
        return datetime.now(UTC).astimezone() if local_now else datetime.now(UTC)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment
