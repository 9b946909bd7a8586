"""A user's sending limits: the server's (settings), or the ones an administrator set for
this user (the nullable fields of accounts.User). They are enforced by
mailbox.send_limits when a message is queued; accounts only resolves them.

The User admin shows the user's current use next to them. Counting it needs the outgoing
messages, which live in mailbox (a layer above accounts): mailbox registers its reader
here when it starts (`register_usage`), so accounts never imports mailbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class Limits:
    per_hour: int  # messages queued in any 60 minutes
    per_message: int  # recipients of one message
    per_day: int  # recipients of the messages queued in any 24 hours
    pending_bytes: int  # bytes of messages waiting to be sent


def _own(value: int | None, default: int) -> int:
    return default if value is None else value


def limits_for(user) -> Limits:
    return Limits(
        per_hour=_own(user.send_per_hour, settings.WEBMAIL_SEND_PER_HOUR),
        per_message=_own(user.recipients_per_message, settings.WEBMAIL_RECIPIENTS_PER_MESSAGE),
        per_day=_own(user.recipients_per_day, settings.WEBMAIL_RECIPIENTS_PER_DAY),
        pending_bytes=_own(user.max_pending_bytes, settings.WEBMAIL_MAX_PENDING_BYTES),
    )


@dataclass(frozen=True)
class Usage:
    """What counts against the limits now."""

    last_hour: int  # messages
    last_day: int  # recipients
    pending_bytes: int


_usage_reader: Callable[[Any], Usage] | None = None


def register_usage(reader: Callable[[Any], Usage]) -> None:
    global _usage_reader  # noqa: PLW0603 - set once, when mailbox starts
    _usage_reader = reader


def usage(user) -> Usage | None:
    """The user's current use (None if no app counts it)."""
    return _usage_reader(user) if _usage_reader is not None else None
