"""What went wrong talking to a mail server, as stable codes. No Django here.

Every POP3Error and SMTPError carries:

- `kind`: one of the codes below, for the app to word in its reader's language;
- `values`: the details that wording needs (see each code);
- `reply`: the server's own reply, verbatim, or "" when the server said nothing
  (a refused connection, a timeout, a TLS failure ...). Never translate it.

`str(exc)` stays an English sentence for logs and for callers that show it as is.
A code's meaning never changes once stored: add a new code instead.
"""

from __future__ import annotations

# The server's reply is the whole story (str(exc) == reply).
REPLY = "reply"

# Reaching the server. values: host, port; the ones with `detail` also carry the
# operating system's or OpenSSL's own (English) reason.
CONNECTION_REFUSED = "connection-refused"
TIMEOUT = "timeout"
UNKNOWN_HOST = "unknown-host"  # + detail
CONNECTION_FAILED = "connection-failed"  # + detail
CONNECTION_CLOSED = "connection-closed"  # the server hung up (or reset the connection)
UNREACHABLE = "unreachable"  # no network route to the server
TLS_CERTIFICATE = "tls-certificate"  # + detail: why the certificate is not trusted
TLS_FAILED = "tls-failed"  # + detail

# What the server offers, or refuses.
STARTTLS_UNSUPPORTED = "starttls-unsupported"
STARTTLS_REFUSED = "starttls-refused"  # reply
AUTH_UNSUPPORTED = "auth-unsupported"
AUTH_NO_METHOD = "auth-no-method"  # none of the AUTH methods we know was accepted
SMTPUTF8_UNSUPPORTED = "smtputf8-unsupported"  # a non-ASCII envelope address

# Replies we cannot go on from. values: command; reply: what the server sent.
MALFORMED_REPLY = "malformed-reply"
UNINTELLIGIBLE_REPLY = "unintelligible-reply"  # a reply without a numeric code
UNEXPECTED_DATA = "unexpected-data"  # more than the reply (the session is out of step)
LINE_TOO_LONG = "line-too-long"

# Refused before anything was sent.
FORBIDDEN_CHARACTER = "forbidden-character"  # a line break or NUL in the login

# Refused by the operator's destination policy before any connection (destinations.py).
# values: host, port, reason ("address", "port" or "host"), and for "address" the
# address and its category ("loopback", "private", "metadata", ...).
DESTINATION_REFUSED = "destination-refused"

# The session used out of order (a bug in the caller).
NOT_CONNECTED = "not-connected"
ALREADY_CONNECTED = "already-connected"

ALL = frozenset(
    {
        REPLY,
        CONNECTION_REFUSED,
        TIMEOUT,
        UNKNOWN_HOST,
        CONNECTION_FAILED,
        CONNECTION_CLOSED,
        UNREACHABLE,
        TLS_CERTIFICATE,
        TLS_FAILED,
        STARTTLS_UNSUPPORTED,
        STARTTLS_REFUSED,
        AUTH_UNSUPPORTED,
        AUTH_NO_METHOD,
        SMTPUTF8_UNSUPPORTED,
        MALFORMED_REPLY,
        UNINTELLIGIBLE_REPLY,
        UNEXPECTED_DATA,
        LINE_TOO_LONG,
        FORBIDDEN_CHARACTER,
        DESTINATION_REFUSED,
        NOT_CONNECTED,
        ALREADY_CONNECTED,
    }
)


class ServerError(Exception):
    """Base of POP3Error and SMTPError: `kind`, `values` and `reply` as described above.

    Without a kind, the message is the server's reply (kind REPLY).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = REPLY,
        reply: str | None = None,
        values: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        # True once a server greeted us (POP3 "+OK", SMTP "220") before this failure: a
        # mail server answered, whatever went wrong after.
        self.greeted = False
        self.kind = kind
        self.reply = message if reply is None and kind == REPLY else reply or ""
        self.values: dict[str, object] = dict(values or {})
