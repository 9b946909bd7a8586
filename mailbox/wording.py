"""What the poller and the sender record for people, worded in the reader's language.

They run in Celery tasks, without anyone's language: they store a code and its values
(accounts.outcomes), and the models' *_text properties word it when a page shows it. A
server's reply is one of the values, shown as the server sent it; a column that holds
only a server's reply, or text stored before codes existed, is shown as it is.
"""

from django.utils.translation import gettext, ngettext

from accounts import outcomes
from accounts.formatting import file_size

# Outgoing.last_error
GAVE_UP = "gave_up"  # values: attempts, reply (the last one)
STATUS_UNKNOWN = "status_unknown"  # a worker died during DATA

# SkippedMessage.reason
TOO_LARGE = "too_large"  # values: limit (bytes)


def _gave_up(attempts: int, reply: str) -> str:
    return ngettext(
        "Gave up after %(count)s attempt. Last reply: %(reply)s",
        "Gave up after %(count)s attempts. Last reply: %(reply)s",
        attempts,
    ) % {"count": attempts, "reply": reply}


def _status_unknown() -> str:
    return gettext(
        "Delivery status unknown: sending was interrupted after the server may have "
        "accepted the message. Check with the recipients before sending again."
    )


def _too_large(limit: int) -> str:
    return gettext("larger than the %(limit)s limit") % {"limit": file_size(limit)}


WORDING: outcomes.Wording = {
    GAVE_UP: _gave_up,
    STATUS_UNKNOWN: _status_unknown,
    TOO_LARGE: _too_large,
}


def record(code: str, **values) -> str:
    """What to store for `code` (one of the codes above) and its values."""
    return outcomes.record(code, **values)


def describe(stored: str) -> str:
    """A stored outcome in the active language; anything else as it is."""
    return outcomes.describe(stored, WORDING)
