"""What the poller and the sender record for people, worded in the reader's language.

They run in Celery tasks, without anyone's language: they store a code and its values
(accounts.outcomes), and the models' *_text properties word it when a page shows it. A
server's reply is one of the values, shown as the server sent it; a column that holds
only a server's reply, or text stored before codes existed, is shown as it is.
"""

from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from accounts import mail_errors, outcomes
from accounts.formatting import file_size

# Outgoing.last_error: these, or why the SMTP server could not take the message
# (accounts.mail_errors: a server's reply alone, or one of mailcore's failure codes).
GAVE_UP = "gave_up"  # values: attempts, error (the last one, as mail_errors stores it)
STATUS_UNKNOWN = "status_unknown"  # values: server, at (ISO): lost after the final dot
SENT_COPY_NOT_STORED = "sent_copy_not_stored"  # values: storage (a mail_errors STORAGE_* code)

# SkippedMessage.reason
TOO_LARGE = "too_large"  # values: limit (bytes)


def _gave_up(attempts: int, reply: str = "", error: str | None = None) -> str:
    said = mail_errors.describe(error) if error is not None else reply
    if error is None or said == error:  # the server's reply alone (or text stored before codes)
        return ngettext(
            "Gave up after %(count)s attempt. Last reply: %(reply)s",
            "Gave up after %(count)s attempts. Last reply: %(reply)s",
            attempts,
        ) % {"count": attempts, "reply": said}
    return ngettext(
        "Gave up after %(count)s attempt. Last error: %(error)s",
        "Gave up after %(count)s attempts. Last error: %(error)s",
        attempts,
    ) % {"count": attempts, "error": said}


def _status_unknown(server: str = "", at: str = "") -> str:
    if not server or not at:  # recorded before the server and time were kept
        return gettext(
            "Delivery status unknown: sending was interrupted after the server may have "
            "accepted the message. Check with the recipients before sending again."
        )
    try:
        when = formats.date_format(
            timezone.localtime(datetime.fromisoformat(at)), "DATETIME_FORMAT"
        )
    except ValueError:
        when = at
    return gettext(
        "Delivery unknown: the connection to %(server)s was lost at %(when)s, after the "
        "whole message was sent and before the server confirmed it. The server may have "
        "accepted it. Check with the recipients, then choose Send again or Mark as sent."
    ) % {"server": server, "when": when}


def _sent_copy_not_stored(storage: str = "", refused: str = "") -> str:
    if storage == mail_errors.STORAGE_FULL:
        text = gettext("Sent, but storage is full: the copy for the Sent folder is not saved yet.")
    elif storage == mail_errors.STORAGE_READ_ONLY:
        text = gettext(
            "Sent, but storage is read-only: the copy for the Sent folder is not saved yet."
        )
    else:
        text = gettext("Sent, but the copy for the Sent folder is not saved yet.")
    if refused:  # recipients the server refused: their replies, as the server sent them
        text += " " + gettext("Refused: %(replies)s") % {"replies": refused}
    return text


def _too_large(limit: int) -> str:
    return gettext("larger than the %(limit)s limit") % {"limit": file_size(limit)}


WORDING: outcomes.Wording = {
    **mail_errors.WORDING,
    GAVE_UP: _gave_up,
    STATUS_UNKNOWN: _status_unknown,
    SENT_COPY_NOT_STORED: _sent_copy_not_stored,
    TOO_LARGE: _too_large,
}


def record(code: str, **values) -> str:
    """What to store for `code` (one of the codes above) and its values."""
    return outcomes.record(code, **values)


# How Outgoing.last_error starts for a sent message whose Sent copy is not stored yet.
SENT_COPY_MISSING = record(SENT_COPY_NOT_STORED)[:-1]


def describe(stored: str) -> str:
    """A stored outcome in the active language; anything else as it is."""
    return outcomes.describe(stored, WORDING)
