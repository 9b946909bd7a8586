"""POP3 client sessions over poplib. No Django here.

poplib does the connecting, TLS (POP3_SSL / STLS) and the one-line commands.
Multi-line replies (RETR, TOP, LIST, UIDL, CAPA) are read by this module instead:
poplib reads them one `readline(2048)` at a time, which refuses lines longer than
2 KB and costs a Python round trip per line. We read the socket's buffered file in
large chunks, look for the terminator only in the new tail, and undo the
dot-stuffing with a single `bytes.replace`.

Typical use::

    with POP3Session(host, port, Security.SSL, user, password) as pop:
        for entry in pop.listing():
            raw = pop.retr(entry.number)
            ...
            pop.dele(entry.number)
        pop.quit()          # only QUIT makes the server apply the DELEs

Leaving the `with` block without `quit()` (or through an exception) drops the
connection without QUIT, so the server deletes nothing.

`retr_many(numbers)` downloads several messages in order. When the server
advertises PIPELINING (RFC 2449) it keeps a few RETRs in flight, so the server
prepares the next message while the caller processes this one; otherwise it
sends them one at a time, as `retr` does.

Every failure is one of the typed errors below, with a stable `kind` and its
`values` (see failures.py) and the server's `reply` verbatim ("" when the server said
nothing); `str(exc)` is an English description. None ever contains the password.
"""

from __future__ import annotations

import contextlib
import errno
import poplib
import re
import socket
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from . import destinations, failures
from .security import Security, tls_context

__all__ = [
    "ListingEntry",
    "POP3AuthError",
    "POP3ConnectionError",
    "POP3DestinationRefused",
    "POP3Error",
    "POP3ProtocolError",
    "POP3Session",
]

_RESPONSE_CODE = re.compile(r"-ERR \[([^\]\s]+)\]", re.IGNORECASE)
_TEMPORARY_CODES = frozenset({"IN-USE", "LOGIN-DELAY", "SYS/TEMP"})


class POP3Error(failures.ServerError):
    """Base class: `kind`, `values` and `reply` as mailcore.failures describes them;
    str(exc) in English."""

    @property
    def response_code(self) -> str | None:
        """The RFC 2449/3206 code of a "-ERR [CODE] ..." reply, e.g. "AUTH" or "IN-USE"."""
        match = _RESPONSE_CODE.match(self.reply)
        return match.group(1).upper() if match else None

    @property
    def is_temporary(self) -> bool:
        """Worth retrying later: connection trouble, or a busy/locked/delayed maildrop."""
        return isinstance(self, POP3ConnectionError) or self.response_code in _TEMPORARY_CODES


class POP3AuthError(POP3Error):
    """The server refused the login (-ERR on USER, PASS or APOP)."""


class POP3ConnectionError(POP3Error):
    """Unreachable, refused, timed out, TLS failure, or the connection was lost."""


class POP3DestinationRefused(POP3ConnectionError):
    """The destination policy forbids this host or port (mailcore.destinations); nothing
    was sent. Not temporary: trying again later meets the same policy."""

    @property
    def is_temporary(self) -> bool:
        return False


class POP3ProtocolError(POP3Error):
    """An unexpected or malformed reply, or -ERR on a command other than the login."""


@dataclass(frozen=True)
class ListingEntry:
    """One message of the maildrop.

    `uid` is the UIDL unique id, decoded as Latin-1 (lossless for any byte string; it
    is plain ASCII on every sane server) and kept as is whatever its length. It is
    None when this message has no *reliable* unique id: the server does not
    support UIDL, it listed no id for this message, or the id repeats one that an
    earlier message of the same listing already has (the first keeps it). Callers
    must not use a None uid for "already fetched" bookkeeping.
    """

    number: int
    size: int
    uid: str | None


_NO_STLS = "-ERR STLS not supported by server"  # poplib's own, not the server's


def _malformed(command: str, reply: str, what: str = "reply") -> POP3ProtocolError:
    return POP3ProtocolError(
        f"Malformed {command} {what}: {reply}",
        kind=failures.MALFORMED_REPLY,
        reply=reply,
        values={"command": command},
    )


class _Readable(Protocol):
    def read1(self, size: int = ..., /) -> bytes: ...


_CHUNK = 65536
_TERMINATOR = b"\r\n.\r\n"


def _read_multiline(file: _Readable) -> bytes:
    """Read the body of a multi-line reply whose status line was already read.

    Returns the data exactly as sent, dot-unstuffed, CRLFs preserved, ending with
    the last line's CRLF and without the terminating ".\\r\\n". Raises
    POP3ConnectionError on EOF and POP3ProtocolError when the server sent more
    than the reply (outside a pipeline that would desynchronise the session).
    """
    # The status line's CRLF was consumed with it; a leading CRLF lets one search
    # for "\r\n.\r\n" also find the terminator of an empty body (".\r\n" alone).
    buf = bytearray(b"\r\n")
    read1 = file.read1
    start = 0
    while True:
        chunk = read1(_CHUNK)
        if not chunk:
            raise POP3ConnectionError(
                "Connection closed by the server in the middle of a reply",
                kind=failures.CONNECTION_CLOSED,
            )
        buf += chunk
        end = buf.find(_TERMINATOR, start)
        if end >= 0:
            break
        # A terminator split between reads starts at most 4 bytes before the end.
        start = len(buf) - 4
    if end + len(_TERMINATOR) != len(buf):
        raise POP3ProtocolError(
            "Unexpected data from the server after a multi-line reply",
            kind=failures.UNEXPECTED_DATA,
        )
    with memoryview(buf) as view:
        body = bytes(view[2 : end + 2])
    if body.startswith(b".."):
        body = body[1:]
    return body.replace(b"\r\n..", b"\r\n.")


_MAXLINE = 2048  # poplib's bound on a status line
PIPELINE_DEPTH = 4  # RETRs in flight at once on a PIPELINING server


class _PipelineReader:
    """Replies read from a socket file on which several commands are in flight.

    The socket may deliver the start of the next reply together with the end of
    this one: what follows a reply is kept for the next one, and must be empty
    when the pipeline is done (else the server sent more than it was asked for).
    """

    def __init__(self, file: _Readable) -> None:
        self._read1 = file.read1
        self.rest = b""

    def _more(self) -> bytes:
        chunk = self._read1(_CHUNK)
        if not chunk:
            raise POP3ConnectionError(
                "Connection closed by the server in the middle of a reply",
                kind=failures.CONNECTION_CLOSED,
            )
        return chunk

    def status(self) -> bytes:
        """The next status line without its line end (as poplib returns it)."""
        buf = self.rest
        start = 0
        while (end := buf.find(b"\n", start)) < 0:
            if len(buf) > _MAXLINE:
                raise POP3ProtocolError("Reply line too long", kind=failures.LINE_TOO_LONG)
            start = len(buf)
            buf += self._more()
        if end > _MAXLINE:
            raise POP3ProtocolError("Reply line too long", kind=failures.LINE_TOO_LONG)
        self.rest = buf[end + 1 :]
        return buf[: end - 1] if end and buf[end - 1] == 13 else buf[:end]

    def body(self) -> bytes:
        """The next multi-line body, as _read_multiline returns it.

        One pass over the data: every line that starts with a dot is either the
        terminator or dot-stuffed (its first dot is dropped; RFC 1939 3).
        """
        buf = bytearray(b"\r\n")  # so that a first line is found like any other
        buf += self.rest
        stuffed: list[int] = []  # where the dots to drop are
        start = 0
        while True:
            hit = buf.find(b"\r\n.", start)
            if hit < 0 or hit + 5 > len(buf):  # the rest of a dot line has not arrived
                start = hit if hit >= 0 else max(len(buf) - 2, 0)
                buf += self._more()
                continue
            if buf[hit + 3] == 0x2E:  # "..": a stuffed dot
                stuffed.append(hit + 2)
            elif buf[hit + 3 : hit + 5] == b"\r\n":  # ".\r\n": the terminator
                break
            start = hit + 3
        end = hit + 2  # the body keeps its last CRLF
        with memoryview(buf) as view:
            self.rest = bytes(view[hit + len(_TERMINATOR) :])
            if not stuffed:
                return bytes(view[2:end])
            cuts = [1, *stuffed, end]  # each piece runs from after a dot to the next dot
            return b"".join(view[cuts[i] + 1 : cuts[i + 1]] for i in range(len(cuts) - 1))


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})


def _os_reason(exc: OSError) -> tuple[str, str, str]:
    """(kind, English text, detail: the OS's or OpenSSL's own words, or "")."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = str(exc.verify_message or exc.reason)
        return failures.TLS_CERTIFICATE, f"TLS certificate verification failed: {detail}", detail
    if isinstance(exc, ssl.SSLError):
        detail = str(exc.reason or exc)
        return failures.TLS_FAILED, f"TLS error: {detail}", detail
    if isinstance(exc, TimeoutError):
        return failures.TIMEOUT, "Timed out waiting for the server", ""
    if isinstance(exc, socket.gaierror):
        detail = str(exc.strerror or exc)
        return failures.UNKNOWN_HOST, f"Cannot resolve the server name: {detail}", detail
    if exc.errno == errno.ECONNREFUSED:
        return failures.CONNECTION_REFUSED, "Connection refused", ""
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _UNREACHABLE:
        return failures.UNREACHABLE, text, ""
    if isinstance(exc, ConnectionError):  # reset or aborted: the server hung up
        return failures.CONNECTION_CLOSED, text, ""
    return failures.CONNECTION_FAILED, text, text


class _ClosesOnFailedGreeting:
    """poplib leaves the socket open when the greeting is -ERR or never comes.

    `addresses` (keyword): the checked addresses to connect to instead of resolving the
    host again (mailcore.destinations); the host name still goes to TLS.
    """

    sock: socket.socket | None = None
    file: object = None
    _addresses: list[str] | None = None

    def __init__(self, *args: object, addresses: list[str] | None = None, **kwargs: object) -> None:
        self._addresses = addresses
        try:
            super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        except BaseException:
            with contextlib.suppress(OSError):
                self.close()  # type: ignore[attr-defined]
            raise


class _PinnedAddress(poplib.POP3):
    """Connects to the checked addresses; POP3_SSL wraps this socket for the host name."""

    _addresses: list[str] | None = None

    def _create_socket(self, timeout: float) -> socket.socket:
        if self._addresses is None:
            return super()._create_socket(timeout)
        if timeout is not None and not timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        return destinations.connect(self._addresses, self.port, timeout)


class _POP3(_ClosesOnFailedGreeting, _PinnedAddress):
    pass


class _POP3SSL(_ClosesOnFailedGreeting, poplib.POP3_SSL, _PinnedAddress):
    pass


class POP3Session:
    """One POP3 session: connect (+STLS), log in, list/retrieve/delete, QUIT or drop.

    `with POP3Session(...) as pop` connects and logs in; leaving the block closes
    the connection WITHOUT QUIT, so deletions are applied only by an explicit
    `quit()`. All methods raise POP3Error subclasses only (ValueError for bad
    arguments). After a connection error the session is closed.

    `ssl_context`, when given, is used as is (and `verify_tls` is ignored).
    `use_apop` logs in with APOP when the greeting carries a timestamp, and falls
    back to USER/PASS when it does not.
    `policy` (mailcore.destinations): checked when connecting, on the addresses the
    socket then connects to; a refusal is POP3DestinationRefused. None: no check.
    """

    capabilities: dict[str, list[str]]
    welcome: str

    def __init__(
        self,
        host: str,
        port: int,
        security: Security | str,
        username: str,
        password: str,
        *,
        verify_tls: bool = True,
        timeout: float = 30.0,
        use_apop: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        policy: destinations.Policy | None = None,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.security = Security(str(security).lower())
        self.username = username
        self._password = password
        self.verify_tls = verify_tls
        self.timeout = timeout
        self.use_apop = use_apop
        self._ssl_context = ssl_context
        self._policy = policy
        self.capabilities = {}
        self.welcome = ""
        self._conn: poplib.POP3 | None = None

    def __repr__(self) -> str:
        state = "connected" if self._conn is not None else "closed"
        return (
            f"<POP3Session {self.username!r}@{self.host}:{self.port} {self.security.value} {state}>"
        )

    # --- context manager -------------------------------------------------

    def __enter__(self) -> POP3Session:
        try:
            self.connect()
            self.login()
        except POP3Error as exc:
            exc.greeted = bool(self.welcome)
            self.close()
            raise
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Never QUIT implicitly: QUIT is what makes the server apply DELEs.
        self.close()

    # --- connection --------------------------------------------------------

    def connect(self) -> None:
        """Open the connection, read the greeting, STLS if asked, then CAPA."""
        if self._conn is not None:
            raise POP3ProtocolError("Already connected", kind=failures.ALREADY_CONNECTED)
        context = self._ssl_context
        if context is None and self.security is not Security.NONE:
            context = tls_context(self.verify_tls)
        try:
            addresses = None
            if self._policy is not None:
                addresses = destinations.check(self.host, self.port, self._policy)
            if self.security is Security.SSL:
                conn: poplib.POP3 = _POP3SSL(
                    self.host, self.port, timeout=self.timeout, context=context, addresses=addresses
                )
            else:
                conn = _POP3(self.host, self.port, timeout=self.timeout, addresses=addresses)
        except destinations.DestinationRefused as exc:
            raise POP3DestinationRefused(
                str(exc), kind=failures.DESTINATION_REFUSED, values=exc.values
            ) from None
        except poplib.error_proto as exc:
            # The greeting was -ERR (server busy, refusing us) or missing.
            raise self._translate_proto(exc, POP3ConnectionError) from None
        except (OSError, ValueError) as exc:
            raise self._translate_os(exc) from None
        self._conn = conn
        self.welcome = _text(conn.getwelcome())
        try:
            if self.security is Security.STARTTLS:
                try:
                    conn.stls(context=context)
                except poplib.error_proto as exc:
                    raise self._stls_failed(exc) from None
                except OSError as exc:
                    raise self._translate_os(exc) from None
            self.capabilities = self._capa()
        except BaseException:
            self.close()
            raise

    def login(self) -> None:
        """USER/PASS, or APOP when asked for and offered. -ERR -> POP3AuthError."""
        conn = self._require()
        for value in (self.username, self._password):
            if "\r" in value or "\n" in value or "\0" in value:
                raise POP3AuthError(
                    "The username or password contains a forbidden character",
                    kind=failures.FORBIDDEN_CHARACTER,
                )
        try:
            if self.use_apop and conn.timestamp.match(conn.getwelcome()):
                conn.apop(self.username, self._password)
            else:
                conn.user(self.username)
                conn.pass_(self._password)
        except poplib.error_proto as exc:
            raise self._translate_proto(exc, POP3AuthError) from None
        except OSError as exc:
            raise self._translate_os(exc) from None

    # --- commands ------------------------------------------------------------

    def stat(self) -> tuple[int, int]:
        """(message count, maildrop size in octets)."""
        reply = self._short("STAT")
        try:
            _, count, size = reply.split()[:3]
            return int(count), int(size)
        except ValueError:
            raise _malformed("STAT", reply) from None

    def listing(self) -> list[ListingEntry]:
        """LIST merged with UIDL, in LIST order. See ListingEntry for when uid is None."""
        sizes: list[tuple[int, int]] = []
        for line in self._long("LIST").splitlines():
            parts = line.split()
            try:
                sizes.append((int(parts[0]), int(parts[1])))
            except (IndexError, ValueError):
                raise _malformed("LIST", _text(line)[:200], "line") from None
        uids = self._uidl()
        seen: set[str] = set()
        entries = []
        for number, size in sizes:
            uid = uids.get(number)
            if uid is not None:
                if uid in seen:
                    uid = None
                else:
                    seen.add(uid)
            entries.append(ListingEntry(number, size, uid))
        return entries

    def retr(self, number: int) -> bytes:
        """The whole message, CRLF line endings, without the terminating ".\\r\\n"."""
        return self._long(f"RETR {self._number(number)}")

    @property
    def pipelining(self) -> bool:
        """Whether the server advertised PIPELINING (RFC 2449) in its CAPA."""
        return "PIPELINING" in self.capabilities

    def retr_many(
        self, numbers: Iterable[int], depth: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """(number, message) for each of `numbers`, in order, as `retr` returns them.

        On a PIPELINING server up to `depth` RETRs are in flight, so the server
        prepares the next messages while the caller works on this one; otherwise
        (or with depth 1) one RETR at a time. A failure is raised where the failed
        message would have been yielded, after every message before it. While RETRs
        are in flight, a -ERR reply or leaving the loop early closes the connection
        (without QUIT, so the server deletes nothing): the replies still on their way
        would be read as those of the next commands. `depth` defaults to PIPELINE_DEPTH.
        """
        numbers = [self._number(number) for number in numbers]
        depth = PIPELINE_DEPTH if depth is None else depth
        if not self.pipelining or depth <= 1:
            for number in numbers:
                yield number, self.retr(number)
            return
        yield from self._retr_pipelined(numbers, depth)

    def _retr_pipelined(self, numbers: list[int], depth: int) -> Iterator[tuple[int, bytes]]:
        conn = self._require()
        reader = _PipelineReader(conn.file)
        sent = 0
        done = 0
        try:
            while done < len(numbers):
                if sent < len(numbers) and sent - done < depth:
                    upto = min(len(numbers), done + depth)
                    conn.sock.sendall(b"".join(b"RETR %d\r\n" % n for n in numbers[sent:upto]))
                    sent = upto
                status = reader.status()
                if not status.startswith(b"+"):
                    raise POP3ProtocolError(self._scrub(_text(status)) or "-ERR")
                message = reader.body()
                done += 1
                if done == len(numbers) and reader.rest:
                    raise POP3ProtocolError(
                        "Unexpected data from the server after a multi-line reply",
                        kind=failures.UNEXPECTED_DATA,
                    )
                yield numbers[done - 1], message
        except OSError as exc:
            raise self._translate_os(exc) from None
        finally:
            if done < sent or reader.rest:  # replies in flight: the session is out of step
                self.close()

    def top(self, number: int, lines: int) -> bytes:
        """The header, blank line and first `lines` body lines of a message."""
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
            raise ValueError(f"lines must be a non-negative int, not {lines!r}")
        return self._long(f"TOP {self._number(number)} {lines}")

    def dele(self, number: int) -> None:
        """Mark a message for deletion; the server applies it only on QUIT."""
        self._short(f"DELE {self._number(number)}")

    def rset(self) -> None:
        self._short("RSET")

    def noop(self) -> None:
        self._short("NOOP")

    def quit(self) -> str:
        """QUIT (the server applies the DELEs), close, and return the server's reply."""
        try:
            return self._short("QUIT")
        finally:
            self.close()

    def close(self) -> None:
        """Drop the connection without QUIT, so the server applies no deletions."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.close()
        except OSError:
            pass

    # --- internals -------------------------------------------------------------

    def _require(self) -> poplib.POP3:
        if self._conn is None:
            raise POP3ConnectionError("Not connected", kind=failures.NOT_CONNECTED)
        return self._conn

    @staticmethod
    def _number(number: int) -> int:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError(f"message number must be a positive int, not {number!r}")
        return number

    def _where(self, **values: object) -> dict[str, object]:
        return {"host": self.host, "port": self.port, **values}

    def _translate_os(self, exc: OSError | ValueError) -> POP3ConnectionError:
        self.close()
        if not isinstance(exc, OSError):  # (a certificate error is a ValueError too)
            detail = str(exc)
            return POP3ConnectionError(
                detail, kind=failures.CONNECTION_FAILED, values=self._where(detail=detail)
            )
        kind, text, detail = _os_reason(exc)
        values = self._where(detail=detail) if detail else self._where()
        return POP3ConnectionError(text, kind=kind, values=values)

    def _translate_proto(self, exc: poplib.error_proto, kind: type[POP3Error]) -> POP3Error:
        reply = self._scrub(_text(exc.args[0]) if exc.args else "")
        if reply == "-ERR EOF":  # poplib's way of saying the server hung up
            self.close()
            return POP3ConnectionError(
                "Connection closed by the server",
                kind=failures.CONNECTION_CLOSED,
                values=self._where(),
            )
        if reply == "line too long":
            self.close()
            return POP3ProtocolError("Reply line too long", kind=failures.LINE_TOO_LONG)
        return kind(reply or "-ERR")

    def _stls_failed(self, exc: poplib.error_proto) -> POP3Error:
        reply = self._scrub(_text(exc.args[0]) if exc.args else "-ERR")
        if reply == _NO_STLS:  # poplib's words: STLS is not among the CAPA
            return POP3ConnectionError(
                f"STARTTLS failed: {reply}", kind=failures.STARTTLS_UNSUPPORTED
            )
        if reply == "-ERR EOF":
            return self._translate_proto(exc, POP3ConnectionError)
        return POP3ConnectionError(
            f"STARTTLS failed: {reply}", kind=failures.STARTTLS_REFUSED, reply=reply
        )

    def _scrub(self, reply: str) -> str:
        """Server replies are shown to users: make sure none echoes the password."""
        if self._password and self._password in reply:
            return reply.replace(self._password, "********")
        return reply

    def _short(self, command: str) -> str:
        conn = self._require()
        try:
            return _text(conn._shortcmd(command))
        except poplib.error_proto as exc:
            raise self._translate_proto(exc, POP3ProtocolError) from None
        except OSError as exc:
            raise self._translate_os(exc) from None

    def _long(self, command: str) -> bytes:
        conn = self._require()
        try:
            conn._putcmd(command)
            conn._getresp()
            return _read_multiline(conn.file)
        except poplib.error_proto as exc:
            raise self._translate_proto(exc, POP3ProtocolError) from None
        except OSError as exc:
            raise self._translate_os(exc) from None
        except POP3Error:
            self.close()  # EOF or desynchronised mid-reply: the session is unusable
            raise

    def _capa(self) -> dict[str, list[str]]:
        try:
            body = self._long("CAPA")
        except POP3ProtocolError:
            if self._conn is None:
                raise
            return {}  # -ERR: the server predates RFC 2449
        caps: dict[str, list[str]] = {}
        for line in body.decode("utf-8", "replace").splitlines():
            words = line.split()
            if words:
                caps[words[0].upper()] = words[1:]
        return caps

    def _uidl(self) -> dict[int, str]:
        try:
            body = self._long("UIDL")
        except POP3ProtocolError:
            if self._conn is None:
                raise
            return {}  # -ERR: no UIDL support
        uids: dict[int, str] = {}
        for line in body.splitlines():
            parts = line.split(None, 1)
            try:
                number = int(parts[0])
                uid = parts[1].strip().decode("latin-1")
            except (IndexError, ValueError):
                raise _malformed("UIDL", _text(line)[:200], "line") from None
            if uid:
                uids.setdefault(number, uid)
        return uids
