"""The words of the "Test connection" report, in the reader's language.

The test runs in a Celery task, which stores each server's outcome (see outcomes.py);
these functions word it when a page shows it. Each server's reply stays as it was sent.
"""

from django.utils.translation import gettext, ngettext

from . import mail_errors, outcomes
from .formatting import file_size

CODE = "connection_test"


def record(pop3: dict, smtp: dict) -> str:
    """What the task stores: pop3 is {"ok", "messages", "size"} (bytes) or {"ok", "error"};
    smtp is {"ok", "auth", "reply"} or {"ok", "error"}. "error" is mail_errors.record of
    the failure (reports stored before it have {"ok", "reply"} instead). A failure before
    any mail server answered is {"ok", "no_server", "host", "port"} (accounts.connection)."""
    return outcomes.record(CODE, pop3=pop3, smtp=smtp)


def _failure(reply: str, error: str | None, no_server: bool, host: str, port: object) -> str:
    if no_server:
        return gettext(
            "No mail server answered at %(host)s:%(port)s. Check the server name, the port "
            "and the security setting."
        ) % {"host": host, "port": port}
    return mail_errors.describe(error) if error is not None else reply


def _pop3_line(
    ok: bool,
    messages: int = 0,
    size: int = 0,
    reply: str = "",
    error: str | None = None,
    no_server: bool = False,
    host: str = "",
    port: object = "",
) -> str:
    if not ok:
        failure = _failure(reply, error, no_server, host, port)
        return gettext("POP3 failed: %(reply)s") % {"reply": failure}
    return ngettext(
        "POP3: logged in; %(count)s message (%(size)s) on the server.",
        "POP3: logged in; %(count)s messages (%(size)s) on the server.",
        messages,
    ) % {"count": messages, "size": file_size(size)}


def _smtp_line(
    ok: bool,
    reply: str = "",
    auth: bool = False,
    error: str | None = None,
    no_server: bool = False,
    host: str = "",
    port: object = "",
) -> str:
    if not ok:
        failure = _failure(reply, error, no_server, host, port)
        return gettext("SMTP failed: %(reply)s") % {"reply": failure}
    if auth:
        return gettext("SMTP: logged in; the server said: %(reply)s") % {"reply": reply}
    return gettext("SMTP: connected (no AUTH configured); the server said: %(reply)s") % {
        "reply": reply
    }


def _report(pop3: dict, smtp: dict) -> str:
    return f"{_pop3_line(**pop3)}\n{_smtp_line(**smtp)}"


WORDING = {CODE: _report}


def describe(stored: str) -> str:
    """A stored report in the active language; reports stored as plain text as they are."""
    return outcomes.describe(stored, WORDING)
