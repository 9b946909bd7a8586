"""Why talking to a mail server failed, worded in the reader's language.

mailcore's POP3 and SMTP errors carry a stable `kind` (mailcore.failures), its values
and the server's reply verbatim. The poller, the sender and the connection test run in
Celery tasks without anyone's language, so they store `record(exc)`; the pages word it
with `describe` when they show it. The server's reply is shown as the server sent it.

An error that *is* the server's reply is stored as that reply alone, as before codes
existed; so is plain text stored before, and `describe` shows either as it is.
"""

from __future__ import annotations

from django.utils.translation import gettext

from mailcore import destinations, failures
from mailcore.pop3 import POP3Error
from mailcore.smtp import SMTPError

from . import outcomes


def record(exc: POP3Error | SMTPError) -> str:
    """What to store for a mailcore POP3/SMTP error: its code, values and reply."""
    if exc.kind == failures.REPLY and not exc.reply.startswith("{"):
        return exc.reply
    values = dict(exc.values)
    if exc.reply:
        values["reply"] = exc.reply
    return outcomes.record(exc.kind, **values)


def describe(stored: str) -> str:
    """A stored error in the active language; a server's reply or old text as it is."""
    return outcomes.describe(stored, {**WORDING, **STORAGE_WORDING})


def _where(values: dict) -> dict:
    return {"host": values.get("host", ""), "port": values.get("port", "")}


def _reply(reply: str = "", **_values) -> str:
    return reply


def _connection_refused(**values) -> str:
    return gettext("The server %(host)s:%(port)s refused the connection.") % _where(values)


def _timeout(**values) -> str:
    return gettext("The server %(host)s:%(port)s did not answer in time.") % _where(values)


def _unknown_host(host: str = "", **_values) -> str:
    return gettext("The server name %(host)s could not be found.") % {"host": host}


def _connection_failed(detail: str = "", **values) -> str:
    return gettext("Could not connect to %(host)s:%(port)s: %(detail)s") % {
        **_where(values),
        "detail": detail,
    }


def _unreachable(**values) -> str:
    return gettext("The server %(host)s:%(port)s cannot be reached from here.") % _where(values)


def _connection_closed(**_values) -> str:
    return gettext("The server closed the connection.")


def _tls_certificate(detail: str = "", **values) -> str:
    return gettext("The certificate of %(host)s:%(port)s is not trusted: %(detail)s") % {
        **_where(values),
        "detail": detail,
    }


def _tls_failed(detail: str = "", **values) -> str:
    return gettext("The secure connection (SSL/TLS) to %(host)s:%(port)s failed: %(detail)s") % {
        **_where(values),
        "detail": detail,
    }


def _starttls_unsupported(**_values) -> str:
    return gettext("The server does not offer STARTTLS.")


def _starttls_refused(reply: str = "", **_values) -> str:
    return gettext("The server refused STARTTLS: %(reply)s") % {"reply": reply}


def _auth_unsupported(**_values) -> str:
    return gettext("The server does not offer login (AUTH).")


def _auth_no_method(**_values) -> str:
    return gettext("The server accepted none of the login methods this webmail supports.")


def _smtputf8_unsupported(**_values) -> str:
    return gettext(
        "An address contains non-ASCII characters (such as Korean), and the server does "
        "not support SMTPUTF8."
    )


def _malformed_reply(command: str = "", reply: str = "", **_values) -> str:
    return gettext("The server's reply to %(command)s could not be understood: %(reply)s") % {
        "command": command,
        "reply": reply,
    }


def _unexpected_data(**_values) -> str:
    return gettext("The server sent more than it was asked for.")


def _line_too_long(**_values) -> str:
    return gettext("The server sent a line that is too long.")


def _forbidden_character(**_values) -> str:
    return gettext("The username or password contains a character that cannot be sent.")


def _not_connected(**_values) -> str:
    return gettext("Not connected to the server.")


def _already_connected(**_values) -> str:
    return gettext("Already connected to the server.")


def _destination_category(category: str) -> str:
    """Why an address is not public (mailcore.destinations' categories), in words."""
    return {
        destinations.LOOPBACK: gettext("this computer (loopback)"),
        destinations.PRIVATE: gettext("a private network"),
        destinations.LINK_LOCAL: gettext("a link-local network"),
        destinations.MULTICAST: gettext("a multicast address"),
        destinations.SHARED: gettext("a carrier-grade NAT network"),
        destinations.UNSPECIFIED: gettext("an unspecified address"),
        destinations.RESERVED: gettext("a reserved address range"),
        destinations.METADATA: gettext("a cloud metadata service"),
    }.get(category, category)


def describe_refusal(
    reason: str = "", host: str = "", port: object = "", address: str = "", category: str = ""
) -> str:
    """Why the destination policy refused host:port, in the active language."""
    if reason == destinations.REASON_PORT:
        return gettext(
            "Port %(port)s is not allowed on this webmail. Use a mail port "
            "(25, 110, 143, 465, 587, 993, 995 or 2525)."
        ) % {"port": port}
    if reason == destinations.REASON_HOST:
        return gettext(
            "The server %(host)s is not on this webmail's list of allowed mail servers."
        ) % {"host": host}
    return gettext(
        "The server %(host)s is at %(address)s, %(category)s: this webmail does not connect there."
    ) % {"host": host, "address": address, "category": _destination_category(category)}


def _destination_refused(**values) -> str:
    return describe_refusal(**values)


# Storing what was fetched or sent failed on our side (mailbox.blobs), not the server's.
STORAGE_FULL = "storage-full"  # no space left (or over quota)
STORAGE_READ_ONLY = "storage-read-only"  # the media directory cannot be written
STORAGE_FAILED = "storage-failed"  # any other I/O error


def record_storage(code: str) -> str:
    """What to store when a blob could not be written: one of the STORAGE_* codes."""
    return outcomes.record(code)


def _storage_full(**_values) -> str:
    return gettext(
        "Storage full: new mail could not be saved and was left on the server. "
        "It will be fetched once space is freed."
    )


def _storage_read_only(**_values) -> str:
    return gettext(
        "Storage is read-only: new mail could not be saved and was left on the server. "
        "It will be fetched once storage can be written again."
    )


def _storage_failed(**_values) -> str:
    return gettext(
        "Storage error: new mail could not be saved and was left on the server. "
        "It will be fetched on the next check."
    )


STORAGE_WORDING: outcomes.Wording = {
    STORAGE_FULL: _storage_full,
    STORAGE_READ_ONLY: _storage_read_only,
    STORAGE_FAILED: _storage_failed,
}


# Every mailcore.failures code -> its wording (a test checks none is missing).
WORDING: outcomes.Wording = {
    failures.REPLY: _reply,
    failures.CONNECTION_REFUSED: _connection_refused,
    failures.TIMEOUT: _timeout,
    failures.UNKNOWN_HOST: _unknown_host,
    failures.CONNECTION_FAILED: _connection_failed,
    failures.CONNECTION_CLOSED: _connection_closed,
    failures.UNREACHABLE: _unreachable,
    failures.TLS_CERTIFICATE: _tls_certificate,
    failures.TLS_FAILED: _tls_failed,
    failures.STARTTLS_UNSUPPORTED: _starttls_unsupported,
    failures.STARTTLS_REFUSED: _starttls_refused,
    failures.AUTH_UNSUPPORTED: _auth_unsupported,
    failures.AUTH_NO_METHOD: _auth_no_method,
    failures.SMTPUTF8_UNSUPPORTED: _smtputf8_unsupported,
    failures.MALFORMED_REPLY: _malformed_reply,
    failures.UNINTELLIGIBLE_REPLY: _malformed_reply,
    failures.UNEXPECTED_DATA: _unexpected_data,
    failures.LINE_TOO_LONG: _line_too_long,
    failures.FORBIDDEN_CHARACTER: _forbidden_character,
    failures.DESTINATION_REFUSED: _destination_refused,
    failures.NOT_CONNECTED: _not_connected,
    failures.ALREADY_CONNECTED: _already_connected,
}
