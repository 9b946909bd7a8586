"""SMTP client sessions over smtplib. No Django here.

Like Django's own SMTP backend, everything the connection needs (host, port,
credentials, TLS mode) is an argument, so each account brings its own server.

`send_message` runs one mail transaction and reports per recipient: RCPT
refusals are results, not exceptions; what stops the whole transaction (the
connection, AUTH, MAIL FROM, DATA) is raised as an `SMTPError` subclass whose
`kind` and `values` say what went wrong (see failures.py), whose `reply` is the
server's own text ("" when the server said nothing) and whose `code` says temporary
(4xx, or None for connection trouble) or permanent (5xx). Passwords and message
bodies are never put in errors or logs.
"""

from __future__ import annotations

import errno
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from . import destinations, failures
from .security import Security, tls_context
from .smtp_sessions import SessionCache, session_key
from .smtp_sessions import close as _close

log = logging.getLogger(__name__)

# The steps of a session, as `on_step` names them and SMTPError.step records the one a
# failure happened at: the command about to be sent (or the connection being opened).
CONNECT, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, DOT = (
    "connect",
    "ehlo",
    "starttls",
    "auth",
    "mail",
    "rcpt",
    "data",
    "dot",
)
STEPS = (CONNECT, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, DOT)


class SMTPError(failures.ServerError):
    """Base class: `kind`, `values` and `reply` as mailcore.failures describes them, and
    `code`, the SMTP reply code; str(exc) in English."""

    def __init__(
        self,
        message: str,
        code: int | None = None,
        *,
        kind: str = failures.REPLY,
        reply: str | None = None,
        values: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, kind=kind, reply=reply, values=values)
        self.code = code
        self.step = ""  # send_message: the step it failed at (CONNECT … DOT)

    @property
    def is_temporary(self) -> bool:
        return self.code is None or 400 <= self.code < 500


class SMTPAuthError(SMTPError):
    """The server refused our credentials."""


class SMTPConnectionError(SMTPError):
    """Unreachable, timed out, TLS failure, or the connection dropped."""


class SMTPDestinationRefused(SMTPConnectionError):
    """The destination policy forbids this host or port (mailcore.destinations); nothing
    was sent. Permanent: trying again later meets the same policy."""

    @property
    def is_temporary(self) -> bool:
        return False


class SMTPDeliveryUnknown(SMTPConnectionError):
    """The connection failed (dropped, timed out) after the final "." was written and
    before its reply was read: the server may have accepted the message, or not. Never
    retried automatically (a retry may be a second copy): `is_temporary` is False."""

    @property
    def is_temporary(self) -> bool:
        return False

    results: dict[str, RecipientResult] = {}  # noqa: RUF012 - set per instance


class _AfterDot(Exception):
    """Inside _transaction: `exc` happened between writing the "." and reading its reply."""

    def __init__(self, exc: BaseException, results: dict[str, RecipientResult]) -> None:
        super().__init__(exc)
        self.exc = exc
        self.results = results


def _delivery_unknown(failure: _AfterDot, host: str, port: int) -> SMTPDeliveryUnknown:
    kind, text, _ = _os_reason(failure.exc, host, port)
    error = SMTPDeliveryUnknown(
        f"{text} This happened after the message was sent and before the server confirmed "
        "it: the server may have accepted it.",
        kind=kind,
        values={"host": host, "port": port},
    )
    error.results = dict(failure.results)  # the RCPT replies of the session
    return error


class SMTPProtocolError(SMTPError):
    """The server answered something we cannot go on from."""


class SMTPSendError(SMTPError):
    """The server refused the transaction as a whole: MAIL FROM, or DATA (the
    command itself or the reply after the final dot).

    `stage` is "mail", "data", or "rcpt" (only for a 421 to RCPT: the server is
    closing the connection). `results` holds the RCPT replies gathered
    before a DATA refusal (empty for a MAIL refusal), so a caller can still
    tell permanently refused recipients from the ones worth retrying.
    """

    def __init__(
        self,
        reply: str,
        code: int | None = None,
        *,
        stage: str,
        results: dict[str, RecipientResult] | None = None,
    ) -> None:
        super().__init__(reply, code)
        self.stage = stage
        self.results: dict[str, RecipientResult] = dict(results or {})


@dataclass(frozen=True)
class RecipientResult:
    code: int
    reply: str  # the server's reply to RCPT TO, e.g. "550 5.1.1 <x@y>: Recipient ... rejected"
    accepted: bool  # 2xx on RCPT (a refused DATA raises instead)

    @property
    def is_temporary(self) -> bool:
        return 400 <= self.code < 500


@dataclass
class SendOutcome:
    results: dict[str, RecipientResult] = field(default_factory=dict)  # RCPT order
    dsn_supported: bool = False  # the server advertised DSN (RFC 3461)
    data_reply: str = ""  # reply to the final dot; "" when DATA was not sent

    @property
    def accepted(self) -> list[str]:
        return [addr for addr, result in self.results.items() if result.accepted]

    @property
    def refused(self) -> list[str]:
        return [addr for addr, result in self.results.items() if not result.accepted]


def _reply_text(code: int, message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}".strip()


class _PinnedAddress(smtplib.SMTP):
    """Connects to the checked addresses (mailcore.destinations) instead of resolving the
    host again; SMTP_SSL and STARTTLS still use the host name for SNI and the certificate."""

    _addresses: list[str] | None = None

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        if self._addresses is None:
            return super()._get_socket(host, port, timeout)
        if timeout is not None and not timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        return destinations.connect(self._addresses, port, timeout, self.source_address)


class _Addressed:
    """Takes `addresses` before smtplib's constructor connects."""

    def __init__(self, *args: object, addresses: list[str] | None = None, **kwargs: object) -> None:
        self._addresses = addresses
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]


class _SMTP(_Addressed, _PinnedAddress):
    pass


class _SMTPSSL(_Addressed, smtplib.SMTP_SSL, _PinnedAddress):
    pass


def _refused(exc: destinations.DestinationRefused) -> SMTPDestinationRefused:
    return SMTPDestinationRefused(str(exc), kind=failures.DESTINATION_REFUSED, values=exc.values)


def open_session(
    host: str,
    port: int,
    security: Security | str,
    username: str = "",
    password: str = "",
    *,
    verify_tls: bool = True,
    timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
    local_hostname: str | None = None,
    policy: destinations.Policy | None = None,
    on_step: Callable[[str], None] | None = None,
) -> smtplib.SMTP:
    """Connect, EHLO (HELO if EHLO is refused), STARTTLS if asked, AUTH if a login is given.

    `policy` (mailcore.destinations) is checked here, on the addresses the socket then
    connects to; a refusal is SMTPDestinationRefused. None: no check. An error raised
    after the server's 220 greeting has `greeted` set. `on_step` is called with CONNECT,
    EHLO, STARTTLS and AUTH as each begins.
    """
    greeting: list[bool] = []
    try:
        return _open_session(
            host,
            port,
            Security(security),
            username,
            password,
            verify_tls=verify_tls,
            timeout=timeout,
            ssl_context=ssl_context,
            local_hostname=local_hostname,
            policy=policy,
            greeting=greeting,
            on_step=on_step or (lambda step: None),
        )
    except SMTPError as exc:
        exc.greeted = bool(greeting)
        raise


def _open_session(
    host: str,
    port: int,
    security: Security,
    username: str,
    password: str,
    *,
    verify_tls: bool,
    timeout: float,
    ssl_context: ssl.SSLContext | None,
    local_hostname: str | None,
    policy: destinations.Policy | None,
    greeting: list[bool],
    on_step: Callable[[str], None],
) -> smtplib.SMTP:
    context = ssl_context
    if context is None and security is not Security.NONE:
        context = tls_context(verify_tls)
    client: smtplib.SMTP | None = None
    try:
        addresses = None
        on_step(CONNECT)
        if policy is not None:
            addresses = destinations.check(host, port, policy)
        if security is Security.SSL:
            client = _SMTPSSL(
                host,
                port,
                local_hostname=local_hostname,
                timeout=timeout,
                context=context,
                addresses=addresses,
            )
        else:
            client = _SMTP(
                host, port, local_hostname=local_hostname, timeout=timeout, addresses=addresses
            )
        greeting.append(True)  # the constructor read the 220 greeting
        on_step(EHLO)
        client.ehlo_or_helo_if_needed()
        if security is Security.STARTTLS:
            on_step(STARTTLS)
            if not client.has_extn("starttls"):
                raise SMTPProtocolError(
                    "The server does not offer STARTTLS.", kind=failures.STARTTLS_UNSUPPORTED
                )
            try:
                client.starttls(context=context)
            except smtplib.SMTPResponseException as exc:
                reply = _reply_text(exc.smtp_code, exc.smtp_error)
                raise SMTPConnectionError(
                    reply, exc.smtp_code, kind=failures.STARTTLS_REFUSED, reply=reply
                ) from None
            on_step(EHLO)
            client.ehlo_or_helo_if_needed()
    except SMTPError:
        _close(client)
        raise
    except destinations.DestinationRefused as exc:
        raise _refused(exc) from None
    except smtplib.SMTPResponseException as exc:
        _close(client)
        raise SMTPConnectionError(
            _reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        _close(client)
        raise _os_error(exc, host, port) from None
    if username:
        on_step(AUTH)
        try:
            client.login(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            client.close()
            raise SMTPAuthError(_reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code) from None
        except smtplib.SMTPNotSupportedError:
            client.close()
            raise SMTPAuthError(
                "The server does not offer AUTH.", kind=failures.AUTH_UNSUPPORTED
            ) from None
        except smtplib.SMTPServerDisconnected:
            client.close()
            raise SMTPConnectionError(
                f"{host}:{port} closed the connection during AUTH.",
                kind=failures.CONNECTION_CLOSED,
                values={"host": host, "port": port},
            ) from None
        except smtplib.SMTPResponseException as exc:
            client.close()
            raise SMTPAuthError(_reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code) from None
        except smtplib.SMTPException:
            # smtplib's own texts here ("No suitable authentication method found.")
            # never contain the credentials, but don't rely on it.
            client.close()
            raise SMTPAuthError(
                "No AUTH method we support was accepted.", kind=failures.AUTH_NO_METHOD
            ) from None
        except OSError as exc:
            client.close()
            raise _os_error(exc, host, port) from None
    return client


def _os_error(exc: BaseException, host: str, port: int) -> SMTPConnectionError:
    kind, text, detail = _os_reason(exc, host, port)
    values: dict[str, object] = {"host": host, "port": port}
    if detail:
        values["detail"] = detail
    return SMTPConnectionError(text, kind=kind, values=values)


def _os_reason(exc: BaseException, host: str, port: int) -> tuple[str, str, str]:
    """(kind, English text, detail: the OS's or OpenSSL's own words, or "")."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib turns a timeout while reading a reply into this; say which it was.
        if isinstance(exc.__context__, socket.timeout | TimeoutError):
            return failures.TIMEOUT, f"Timed out talking to {host}:{port}.", ""
        return failures.CONNECTION_CLOSED, f"{host}:{port} closed the connection unexpectedly.", ""
    if isinstance(exc, socket.timeout | TimeoutError):
        return failures.TIMEOUT, f"Timed out talking to {host}:{port}.", ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = str(exc.verify_message or exc.reason)
        text = f"TLS with {host}:{port} failed: the server's certificate is not trusted ({detail})."
        return failures.TLS_CERTIFICATE, text, detail
    if isinstance(exc, ssl.SSLError):
        detail = str(exc.reason or exc)
        return failures.TLS_FAILED, f"TLS with {host}:{port} failed: {detail}", detail
    if isinstance(exc, ConnectionRefusedError):
        return failures.CONNECTION_REFUSED, f"Connection to {host}:{port} refused.", ""
    if isinstance(exc, socket.gaierror):
        detail = str(exc.strerror or exc)
        return failures.UNKNOWN_HOST, f"Cannot resolve {host}: {exc.strerror}", detail
    text = f"Cannot talk to {host}:{port}: {exc}"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return failures.UNREACHABLE, text, ""
    if isinstance(exc, ConnectionError):  # reset or aborted: the server hung up
        return failures.CONNECTION_CLOSED, text, ""
    detail = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    return failures.CONNECTION_FAILED, text, detail


def check_login(
    host: str,
    port: int,
    security: Security | str,
    username: str,
    password: str,
    *,
    verify_tls: bool = True,
    timeout: float = 15.0,
    policy: destinations.Policy | None = None,
) -> str:
    """Log in and out; return the server's last reply. Raises SMTPError subclasses."""
    client = open_session(
        host,
        port,
        security,
        username,
        password,
        verify_tls=verify_tls,
        timeout=timeout,
        policy=policy,
    )
    try:
        code, message = client.noop()
        return _reply_text(code, message)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


# --------------------------------------------------------------------------- sending

_FORBIDDEN_IN_ADDRESS = re.compile(r"[\x00-\x20\x7f<>]")
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def _no_delay(client: smtplib.SMTP) -> None:
    try:
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def xtext(value: str) -> str:
    """RFC 3461 xtext: printable ASCII except "+" and "=" as is, other octets as +XX."""
    return "".join(
        chr(octet) if 33 <= octet <= 126 and octet not in (0x2B, 0x3D) else f"+{octet:02X}"
        for octet in value.encode("utf-8")
    )


def _check_address(address: str, what: str) -> None:
    if _FORBIDDEN_IN_ADDRESS.search(address):
        raise ValueError(f"Invalid {what} address {address!r}.")


def send_message(
    host: str,
    port: int,
    security: Security | str,
    username: str = "",
    password: str = "",
    *,
    envelope_from: str,
    recipients: list[str],
    data: bytes,
    verify_tls: bool = True,
    timeout: float = 60.0,
    ssl_context: ssl.SSLContext | None = None,
    request_dsn: bool = False,
    envid: str | None = None,
    local_hostname: str | None = None,
    before_dot: Callable[[], None] | None = None,
    policy: destinations.Policy | None = None,
    on_step: Callable[[str], None] | None = None,
    sessions: SessionCache | None = None,
) -> SendOutcome:
    """Submit `data` (the whole message, CRLF line endings) to `recipients`.

    One session: EHLO, STARTTLS/AUTH as configured, MAIL FROM, one RCPT per
    (distinct) recipient, DATA if any recipient was accepted, QUIT. Refused
    recipients are reported in the outcome; if none was accepted, DATA is not
    sent and the outcome says so (`accepted == []`, `data_reply == ""`).

    With `request_dsn` and a server advertising DSN, MAIL gets RET=HDRS and
    ENVID=`envid` (when given), and each RCPT NOTIFY=SUCCESS,FAILURE and ORCPT.
    Envelope addresses with non-ASCII characters need SMTPUTF8.

    Raises SMTPConnectionError (unreachable, TLS, timeout, dropped), SMTPAuthError,
    SMTPProtocolError (STARTTLS or SMTPUTF8 missing), SMTPSendError (MAIL or DATA
    refused, or 421 to RCPT); ValueError for an empty recipient list or a malformed address.
    The one moment whose outcome is unknown is between writing the final "." and reading
    its reply: `before_dot` is called immediately before the "." is written (the caller
    marks it, for a crash), and a dropped connection or a timeout inside it raises
    SMTPDeliveryUnknown; any failure before it means the server has not taken the message.
    `on_step` is called as each step (CONNECT … DOT) begins (the caller renews its lease,
    records progress); an SMTPError raised has `step`, the step it failed at. `policy`:
    see open_session (a refused destination is SMTPDestinationRefused, nothing is sent).

    `sessions` (mailcore.smtp_sessions): a session kept from the previous message to
    the same server as the same login is used instead of a new one, and this one is
    kept after a successful transaction. A kept session the server has dropped or
    closes (a cut or 421 at MAIL, its first command) is replaced by a new one at once:
    nothing of the message had reached the server. Any other failure is what it would
    be on a new session.
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError("data must be bytes")
    _check_address(envelope_from, "sender")
    unique: list[str] = []
    for address in recipients:
        _check_address(address, "recipient")
        if not address:
            raise ValueError("Empty recipient address.")
        if address not in unique:
            unique.append(address)
    if not unique:
        raise ValueError("No recipients.")
    # smtplib sends bytes as is; make bare CR or LF proper CRLF line ends.
    payload = _LINE_ENDINGS.sub(b"\r\n", bytes(data))
    current = [CONNECT]

    def step(name: str) -> None:
        current[0] = name
        if on_step is not None:
            on_step(name)

    key = client = None
    if sessions is not None:
        key = session_key(
            host,
            port,
            Security(security).value,
            username,
            password,
            verify_tls=verify_tls,
            local_hostname=local_hostname,
            policy=policy,
            ssl_context=ssl_context,
        )
        client = sessions.take(key)
    reused = client is not None
    while True:
        if client is None:
            try:
                client = open_session(
                    host,
                    port,
                    security,
                    username,
                    password,
                    verify_tls=verify_tls,
                    timeout=timeout,
                    ssl_context=ssl_context,
                    local_hostname=local_hostname,
                    policy=policy,
                    on_step=step,
                )
            except SMTPError as exc:
                exc.step = current[0]
                raise
        error: SMTPError | None = None
        outcome = SendOutcome()
        try:
            outcome = _transaction(
                client,
                envelope_from,
                unique,
                payload,
                request_dsn=request_dsn,
                envid=envid,
                before_dot=before_dot,
                step=step,
            )
        except _AfterDot as exc:
            _close(client)
            error = _delivery_unknown(exc, host, port)
        except SMTPError as exc:
            if reused and current[0] == MAIL and exc.code == 421:  # closing an idle session
                _close(client)
                client, reused = None, False
                continue
            _quit(client)
            error = exc
        except smtplib.SMTPResponseException as exc:  # e.g. smtplib's own checks
            _quit(client)
            error = SMTPProtocolError(_reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code)
        except (OSError, smtplib.SMTPException) as exc:  # SMTPException is an OSError too
            _close(client)
            if reused and current[0] == MAIL:  # the kept session was gone: a new one
                client, reused = None, False
                continue
            error = _os_error(exc, host, port)
        break
    if error is not None:
        error.step = current[0]
        raise error
    if sessions is not None and key is not None and outcome.accepted:
        sessions.give_back(key, client)  # for the next message to this server
    else:
        _quit(client)
    log.info(
        "SMTP %s:%s: %d of %d recipients accepted%s",
        host,
        port,
        len(outcome.accepted),
        len(outcome.results),
        f"; {outcome.data_reply}" if outcome.data_reply else "",
    )
    return outcome


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        _close(client)


def _command(client: smtplib.SMTP, verb: str, args: list[str]) -> tuple[int, bytes]:
    code, message = client.docmd(verb, " ".join(args))
    if code < 0:  # smtplib's mark for a reply without a numeric code
        raise _unintelligible(verb, _reply_text(code, message))
    return code, message


def _unintelligible(verb: str, reply: str) -> SMTPProtocolError:
    return SMTPProtocolError(
        f"Unintelligible reply to {verb}: {reply}",
        kind=failures.UNINTELLIGIBLE_REPLY,
        reply=reply,
        values={"command": verb},
    )


def _transaction(
    client: smtplib.SMTP,
    envelope_from: str,
    recipients: list[str],
    payload: bytes,
    *,
    request_dsn: bool,
    envid: str | None,
    before_dot: Callable[[], None] | None,
    step: Callable[[str], None],
) -> SendOutcome:
    dsn = client.has_extn("dsn")
    use_dsn = request_dsn and dsn
    mail_options: list[str] = []
    if client.has_extn("size"):
        mail_options.append(f"SIZE={len(payload)}")
    if client.has_extn("8bitmime") and not payload.isascii():
        mail_options.append("BODY=8BITMIME")
    if not all(address.isascii() for address in [envelope_from, *recipients]):
        if not client.has_extn("smtputf8"):
            raise SMTPProtocolError(
                "An envelope address has non-ASCII characters and the server "
                "does not support SMTPUTF8.",
                kind=failures.SMTPUTF8_UNSUPPORTED,
            )
        mail_options.append("SMTPUTF8")
        client.command_encoding = "utf-8"
    if use_dsn:
        mail_options.append("RET=HDRS")
        if envid:
            mail_options.append(f"ENVID={xtext(envid)}")

    step(MAIL)
    code, message = _command(client, "MAIL", [f"FROM:<{envelope_from}>", *mail_options])
    if not 200 <= code < 300:
        raise SMTPSendError(_reply_text(code, message), code, stage="mail")

    outcome = SendOutcome(dsn_supported=dsn)
    for address in recipients:
        rcpt_options: list[str] = []
        if use_dsn:
            rcpt_options.append("NOTIFY=SUCCESS,FAILURE")
            if address.isascii():  # non-ASCII would need RFC 6533's utf-8 type
                rcpt_options.append(f"ORCPT=rfc822;{xtext(address)}")
        step(RCPT)
        code, message = _command(client, "RCPT", [f"TO:<{address}>", *rcpt_options])
        outcome.results[address] = RecipientResult(
            code=code, reply=_reply_text(code, message), accepted=200 <= code < 300
        )
        if code == 421:  # the server is closing the connection
            raise SMTPSendError(
                _reply_text(code, message), code, stage="rcpt", results=outcome.results
            )

    if not outcome.accepted:
        try:
            client.rset()
        except (OSError, smtplib.SMTPException):
            pass
        return outcome

    step(DATA)
    code, message = _command(client, "DATA", [])  # _command refuses a reply without a code
    if code != 354:
        raise SMTPSendError(_reply_text(code, message), code, stage="data", results=outcome.results)
    # The message, dot-stuffed, as smtplib's data() writes it; then the final "." on its
    # own, so that the unknown moment (before_dot … its reply) is exactly that line.
    body = _LEADING_DOT.sub(b"..", payload)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    client.send(body)
    _no_delay(client)  # the short "." line goes out now (no Nagle wait for an ACK)
    step(DOT)
    if before_dot is not None:
        before_dot()
    try:
        client.send(b".\r\n")
        code, message = client.getreply()
    except OSError as exc:  # smtplib's SMTPServerDisconnected is an OSError too
        raise _AfterDot(exc, outcome.results) from None
    if not 200 <= code < 300:
        if code < 0:
            raise _unintelligible("DATA", _reply_text(code, message))
        raise SMTPSendError(_reply_text(code, message), code, stage="data", results=outcome.results)
    outcome.data_reply = _reply_text(code, message)
    return outcome
