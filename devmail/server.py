"""devmail: a development mail server (SMTP in, POP3 out, plain files). No Django here.

For trying the webmail on one machine and for tests. It is NOT a production MTA:
no TLS, it never relays, passwords sit in plain JSON, and it binds to loopback
only (unless explicitly told otherwise for a container whose ports are published
on the host's loopback).

- SMTP (aiosmtpd, our own handler): accepts mail for the local domain(s) and
  stores one copy per local recipient. Other domains: ``550 5.7.1 Relaying
  denied``; unknown local users: ``550 5.1.1 User unknown`` (both at RCPT).
  AUTH PLAIN/LOGIN against users.json, required for MAIL with
  ``auth_required``; SIZE is advertised, bigger mail gets ``552 5.3.4``.
- POP3 (asyncio, RFC 1939 + CAPA/RESP-CODES/PIPELINING of RFC 2449): USER/PASS,
  STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT. Deletions are applied only
  by QUIT after a login; one session per mailbox at a time ([IN-USE]).
- Storage: ``<root>/<address>/<nanoseconds>.<random>.eml``, written to a dot-file
  and renamed, so readers never see half a message and name order is arrival
  order. The UIDL is the file name without ``.eml``. Files hold exactly what RETR
  serves: CRLF line endings, ending with CRLF. A message received over SMTP is
  stored as one ``Received:`` line followed by the received bytes (dot-unstuffed,
  bare LFs taken as line ends and turned into CRLF, which changes nothing for a
  well-formed message);
  ``deliver()`` stores its bytes with only that line-ending normalisation.
- Users: ``<root>/users.json`` = {address: password}, plain text (a dev server);
  re-read whenever it changed, so users added while running work at once.

File I/O runs on the event loop thread; fine for a development mailbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import UnthreadedController
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "DEFAULT_MAX_SIZE",
    "DevMail",
    "DevMailError",
    "MailStore",
    "StoredMessage",
    "UserStore",
    "check_bind_host",
    "normalize_address",
    "parse_hostport",
    "to_crlf",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_POP3_TIMEOUT = 600.0
MAX_POP3_LINE = 512  # RFC 2449 allows 255-octet commands; be a bit lenient
USERS_FILE = "users.json"

_ADDRESS = re.compile(r"[^@\s/\\\x00-\x1f\x7f]+@[^@\s/\\\x00-\x1f\x7f]+")
_NUMBER = re.compile(r"[0-9]{1,9}")
_LINE_END = re.compile(rb"\r?\n")
_BARE_LF_DOT = re.compile(rb"(?<!\r)\n\.")


class DevMailError(Exception):
    """Bad configuration or a server that could not start."""


# --------------------------------------------------------------------------- helpers


def normalize_address(address: str) -> str:
    """Lower-case `address` and check it is safe as a directory name."""
    address = address.strip().lower()
    if not _ADDRESS.fullmatch(address) or address.startswith("."):
        raise ValueError(f"not a usable mail address: {address!r}")
    return address


def to_crlf(data: bytes) -> bytes:
    """Every line ending as CRLF and a final CRLF: what POP3 needs to frame a message."""
    data = _LINE_END.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def parse_hostport(value: str) -> tuple[str, int]:
    """ "127.0.0.1:2525" or "[::1]:2525" -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, not {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def check_bind_host(host: str, *, allow_any_address: bool = False) -> None:
    """Refuse anything but a loopback address: this server has no TLS and weak auth."""
    if allow_any_address or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name: can't promise it stays on loopback
    if not loopback:
        raise DevMailError(
            f"refusing to listen on {host!r}: devmail is a development server and binds "
            "to loopback addresses only (127.0.0.1, ::1, localhost)"
        )


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    # A dot-file in the same directory, then rename: readers see all or nothing,
    # and dot-files are never listed as messages.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# --------------------------------------------------------------------------- storage


class UserStore:
    """`<root>/users.json`, {address: password} in plain text: a development server only.

    Re-read whenever its mtime, size or inode changed, so edits and `add()` from
    another process are picked up at the next login or RCPT.
    """

    def __init__(self, root: Path | str) -> None:
        self.path = Path(root) / USERS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, str] = {}

    def _current(self) -> dict[str, str]:
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._users = None, {}
                return self._users
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp != self._stamp:
                try:
                    loaded = json.loads(self.path.read_text(encoding="utf-8"))
                    if not isinstance(loaded, dict):
                        raise ValueError("not a JSON object")
                    users = {normalize_address(str(k)): str(v) for k, v in loaded.items()}
                except (OSError, ValueError) as exc:
                    # Half-edited by hand? Keep the last good copy rather than lock everyone out.
                    log.warning(
                        "devmail: cannot read %s (%s); keeping the previous users", self.path, exc
                    )
                    return self._users
                self._stamp, self._users = stamp, users
            return self._users

    def all(self) -> dict[str, str]:
        return dict(self._current())

    def exists(self, address: str) -> bool:
        try:
            return normalize_address(address) in self._current()
        except ValueError:
            return False

    def check(self, address: str, password: bytes | str) -> bool:
        """Constant-time password check; False for unknown users."""
        try:
            expected = self._current().get(normalize_address(address))
        except ValueError:
            return False
        if expected is None:
            return False
        if isinstance(password, str):
            password = password.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(expected.encode("utf-8"), password)

    def add(self, address: str, password: str) -> bool:
        """Add or update a user (and create the mailbox directory). True if new."""
        address = normalize_address(address)
        if not password or any(c in password for c in "\r\n\0"):
            raise ValueError("the password must be non-empty, without CR, LF or NUL")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                users = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                users = {}
            created = address not in users
            users[address] = password
            text = json.dumps(users, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            _atomic_write(self.path, text.encode("utf-8"), mode=0o600)
            self._stamp = None  # force a re-read
        (self.path.parent / address).mkdir(exist_ok=True)
        return created


@dataclass(frozen=True)
class StoredMessage:
    uid: str  # what UIDL reports: the file name without ".eml"
    data: bytes  # exactly what RETR serves (CRLF line endings)
    path: Path


class MailStore:
    """One directory of `.eml` files per address; name order is arrival order."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._last_ns = 0

    def directory(self, address: str) -> Path:
        return self.root / normalize_address(address)

    def _next_name(self) -> str:
        # Nanoseconds, strictly increasing within this process, zero-padded so
        # that sorting names sorts by arrival; the random part keeps names unique
        # across processes.
        with self._lock:
            self._last_ns = max(time.time_ns(), self._last_ns + 1)
            stamp = self._last_ns
        return f"{stamp:020d}.{secrets.token_hex(4)}"

    def deliver(self, address: str, data: bytes) -> StoredMessage:
        directory = self.directory(address)
        directory.mkdir(parents=True, exist_ok=True)
        data = to_crlf(data)
        uid = self._next_name()
        path = directory / f"{uid}.eml"
        _atomic_write(path, data)
        return StoredMessage(uid, data, path)

    def paths(self, address: str) -> list[Path]:
        try:
            directory = self.directory(address)
            names = os.listdir(directory)
        except (ValueError, FileNotFoundError):
            return []
        return [directory / n for n in sorted(names) if n.endswith(".eml") and n[0] != "."]

    def count(self, address: str) -> int:
        return len(self.paths(address))


# --------------------------------------------------------------------------- SMTP


class _DevSMTP(SMTP):
    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # AUTH without TLS on loopback is the point of a dev server. Set after
        # __init__, which would otherwise warn about it.
        self._auth_require_tls = False

    async def push(self, status: Any) -> None:
        # aiosmtpd words both of its size refusals (MAIL SIZE=, and too much DATA)
        # its own way; answer with the standard enhanced code instead.
        if isinstance(status, str) and status.startswith("552 Error:"):
            status = "552 5.3.4 Message too big"
        await super().push(status)


class _Controller(UnthreadedController):
    def factory(self) -> SMTP:
        return _DevSMTP(self.handler, loop=self.loop, **self.SMTP_kwargs)


class _SMTPHandler:
    def __init__(self, devmail: DevMail) -> None:
        self.devmail = devmail

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        _, at, domain = address.rpartition("@")
        if at and domain.lower() not in self.devmail.domains:
            return "550 5.7.1 Relaying denied"
        if not self.devmail.users.exists(address):
            return "550 5.1.1 User unknown"
        rcpt = normalize_address(address)
        if rcpt not in envelope.rcpt_tos:  # one copy per mailbox, even if named twice
            envelope.rcpt_tos.append(rcpt)
            envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = bytes(envelope.original_content or b"")
        # Bare LFs become line ends when stored, so undo the client's dot-stuffing
        # after them too (aiosmtpd only unstuffs after CRLF), as Postfix does.
        content = _BARE_LF_DOT.sub(b"\n", content)
        proto = "ESMTPA" if session.authenticated else "ESMTP" if session.extended_smtp else "SMTP"
        helo = "".join(c for c in (session.host_name or "unknown") if 32 < ord(c) < 127)[:64]
        peer = session.peer[0] if isinstance(session.peer, tuple) else "unknown"
        date = email.utils.format_datetime(datetime.now(UTC))
        uids = []
        for rcpt in envelope.rcpt_tos:
            received = (
                f"Received: from {helo or 'unknown'} ([{peer}]) by {server.hostname} "
                f"(devmail) with {proto} for <{rcpt}>; {date}\r\n"
            ).encode("utf-8", "surrogateescape")
            stored = self.devmail.store.deliver(rcpt, received + content)
            uids.append(stored.uid)
            log.info("devmail: delivered %s to %s", stored.uid, rcpt)
        return f"250 2.0.0 OK: delivered to {len(uids)} mailbox(es)"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("devmail: SMTP session failed")
        return "451 4.3.0 Local error in processing"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "surrogateescape")
            if self.devmail.users.check(login, auth_data.password):
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)  # -> 535 5.7.8


# --------------------------------------------------------------------------- POP3


@dataclass
class _Entry:
    uid: str
    path: Path
    size: int
    deleted: bool = False


class _TooLong:
    pass


_TOO_LONG = _TooLong()


def _top(data: bytes, lines: int) -> bytes:
    """The header, the blank line and the first `lines` lines of the body."""
    if data.startswith(b"\r\n"):
        head_end = 2  # no header at all
    else:
        blank = data.find(b"\r\n\r\n")
        if blank < 0:
            return data  # all header
        head_end = blank + 4
    pos = head_end
    for _ in range(lines):
        nl = data.find(b"\r\n", pos)
        if nl < 0:
            return data
        pos = nl + 2
    return data[:pos]


def _stuff(data: bytes) -> bytes:
    """Byte-stuff a CRLF-terminated body and add the terminating line."""
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


class _POP3Session:
    def __init__(
        self, devmail: DevMail, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.devmail = devmail
        self.reader = reader
        self.writer = writer
        self.user: str | None = None  # after USER
        self.address: str | None = None  # after a successful PASS (mailbox locked)
        self.entries: list[_Entry] = []

    async def run(self) -> None:
        try:
            await self.send("+OK devmail ready")
            while True:
                line = await self.read_command()
                if line is None:
                    break
                if line is _TOO_LONG:
                    await self.send(f"-ERR Command line too long (max {MAX_POP3_LINE} octets)")
                    continue
                assert isinstance(line, bytes)
                if await self.dispatch(line):
                    break
        except (ConnectionError, OSError):
            pass  # the client went away: nothing to apply
        finally:
            # Without QUIT nothing is deleted; just give the mailbox back.
            if self.address is not None:
                self.devmail._pop3_locked.discard(self.address)
                self.address = None
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def send(self, line: str, body: bytes | None = None) -> None:
        self.writer.write(line.encode("utf-8") + b"\r\n" + (body or b""))
        await self.writer.drain()

    async def read_command(self) -> bytes | _TooLong | None:
        try:
            return await asyncio.wait_for(self._read_line(), self.devmail.pop3_timeout)
        except TimeoutError:
            with contextlib.suppress(ConnectionError, OSError):
                await self.send("-ERR Disconnected for inactivity")
            return None

    async def _read_line(self) -> bytes | _TooLong | None:
        too_long = False
        while True:
            try:
                line = await self.reader.readuntil(b"\n")
            except asyncio.IncompleteReadError:
                return None  # EOF (a partial last line is dropped)
            except asyncio.LimitOverrunError as exc:
                # Discard the oversized line in pieces; the buffer stays bounded.
                await self.reader.read(max(exc.consumed, 1))
                too_long = True
                continue
            break
        if too_long or len(line) > MAX_POP3_LINE:
            return _TOO_LONG
        return line

    async def dispatch(self, line: bytes) -> bool:
        """Run one command; True when the session is over."""
        text = line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
        verb, _, arg = text.partition(" ")
        verb = verb.upper()
        if verb == "CAPA":
            caps = ["USER", "UIDL", "TOP", "RESP-CODES", "PIPELINING", "IMPLEMENTATION devmail"]
            body = "".join(f"{c}\r\n" for c in caps).encode() + b".\r\n"
            await self.send("+OK Capability list follows", body)
            return False
        if verb == "NOOP":
            await self.send("+OK")
            return False
        if verb == "QUIT":
            await self.quit()
            return True
        if self.address is None:
            if verb == "USER":
                await self.cmd_user(arg)
            elif verb == "PASS":
                await self.cmd_pass(arg)
            elif verb in _TRANSACTION_COMMANDS:
                await self.send("-ERR Not logged in: send USER and PASS first")
            else:
                await self.send("-ERR Unknown command")
            return False
        handler = _TRANSACTION_COMMANDS.get(verb)
        if handler is None:
            await self.send("-ERR Unknown command")
        else:
            await handler(self, arg.split())
        return False

    # --- AUTHORIZATION ----------------------------------------------------------

    async def cmd_user(self, arg: str) -> None:
        if not arg.strip():
            await self.send("-ERR Usage: USER name")
            return
        self.user = arg.strip()
        await self.send("+OK")  # same for unknown users: don't reveal who exists

    async def cmd_pass(self, arg: str) -> None:
        user, self.user = self.user, None
        if user is None:
            await self.send("-ERR Send USER first")
            return
        if not self.devmail.users.check(user, arg):
            await self.send("-ERR [AUTH] Authentication failed")
            return
        address = normalize_address(user)
        if address in self.devmail._pop3_locked:
            await self.send("-ERR [IN-USE] Mailbox locked")
            return
        self.devmail._pop3_locked.add(address)
        self.address = address
        # A snapshot: mail arriving during the session shows up in the next one.
        self.entries = []
        for path in self.devmail.store.paths(address):
            with contextlib.suppress(FileNotFoundError):
                self.entries.append(_Entry(path.name[:-4], path, path.stat().st_size))
        count, size = self._totals()
        await self.send(f"+OK Logged in, {count} messages ({size} octets)")

    # --- TRANSACTION ------------------------------------------------------------

    def _totals(self) -> tuple[int, int]:
        live = [e for e in self.entries if not e.deleted]
        return len(live), sum(e.size for e in live)

    async def _entry(self, arg: str) -> tuple[int, _Entry] | None:
        """The message numbered `arg`, or None after sending the -ERR."""
        if not _NUMBER.fullmatch(arg):
            await self.send("-ERR Invalid message number")
            return None
        number = int(arg)
        if not 1 <= number <= len(self.entries):
            await self.send("-ERR No such message")
            return None
        entry = self.entries[number - 1]
        if entry.deleted:
            await self.send(f"-ERR message {number} already deleted")
            return None
        return number, entry

    async def cmd_stat(self, args: list[str]) -> None:
        count, size = self._totals()
        await self.send(f"+OK {count} {size}")

    async def _listing(self, args: list[str], value: Callable[[_Entry], str]) -> None:
        if len(args) > 1:
            await self.send("-ERR Too many arguments")
            return
        if args:
            found = await self._entry(args[0])
            if found:
                await self.send(f"+OK {found[0]} {value(found[1])}")
            return
        lines = [f"{n} {value(e)}\r\n" for n, e in enumerate(self.entries, 1) if not e.deleted]
        count, size = self._totals()
        body = "".join(lines).encode() + b".\r\n"
        await self.send(f"+OK {count} messages ({size} octets)", body)

    async def cmd_list(self, args: list[str]) -> None:
        await self._listing(args, lambda e: str(e.size))

    async def cmd_uidl(self, args: list[str]) -> None:
        await self._listing(args, lambda e: e.uid)

    async def _read(self, entry: _Entry) -> bytes | None:
        try:
            data = entry.path.read_bytes()
        except OSError:
            await self.send("-ERR [SYS/PERM] Message file is gone")
            return None
        # Files devmail wrote are CRLF already; this only guards hand-made ones.
        return to_crlf(data)

    async def cmd_retr(self, args: list[str]) -> None:
        if len(args) != 1:
            await self.send("-ERR Usage: RETR n")
            return
        found = await self._entry(args[0])
        if found and (data := await self._read(found[1])) is not None:
            await self.send(f"+OK {len(data)} octets", _stuff(data))

    async def cmd_top(self, args: list[str]) -> None:
        if len(args) != 2 or not _NUMBER.fullmatch(args[1]):
            await self.send("-ERR Usage: TOP n lines")
            return
        found = await self._entry(args[0])
        if found and (data := await self._read(found[1])) is not None:
            await self.send("+OK", _stuff(_top(data, int(args[1]))))

    async def cmd_dele(self, args: list[str]) -> None:
        if len(args) != 1:
            await self.send("-ERR Usage: DELE n")
            return
        found = await self._entry(args[0])
        if found:
            found[1].deleted = True
            await self.send(f"+OK message {found[0]} deleted")

    async def cmd_rset(self, args: list[str]) -> None:
        for entry in self.entries:
            entry.deleted = False
        count, size = self._totals()
        await self.send(f"+OK maildrop has {count} messages ({size} octets)")

    # --- UPDATE -----------------------------------------------------------------

    async def quit(self) -> None:
        if self.address is None:
            await self.send("+OK devmail signing off")
            return
        failed = 0
        for entry in self.entries:
            if entry.deleted:
                try:
                    entry.path.unlink(missing_ok=True)
                except OSError:
                    failed += 1
        count, _ = self._totals()
        if failed:
            await self.send(f"-ERR [SYS/PERM] {failed} deleted messages could not be removed")
        else:
            await self.send(f"+OK devmail signing off ({count} messages left)")


_TRANSACTION_COMMANDS: dict[str, Callable[[_POP3Session, list[str]], Any]] = {
    "STAT": _POP3Session.cmd_stat,
    "LIST": _POP3Session.cmd_list,
    "UIDL": _POP3Session.cmd_uidl,
    "RETR": _POP3Session.cmd_retr,
    "TOP": _POP3Session.cmd_top,
    "DELE": _POP3Session.cmd_dele,
    "RSET": _POP3Session.cmd_rset,
}


# --------------------------------------------------------------------------- server


class DevMail:
    """SMTP and POP3 over one mail directory, in a background thread with its own loop.

    Ports may be 0 (tests): the real ones are in `smtp_address` / `pop3_address`
    after `start()`. Use `start()`/`stop()` (or `with DevMail(...)`) in tests and
    `run_forever()` in the management command.
    """

    def __init__(
        self,
        root: Path | str,
        domain: str | Iterable[str] = "example.test",
        *,
        smtp: tuple[str, int] = ("127.0.0.1", 2525),
        pop3: tuple[str, int] = ("127.0.0.1", 1110),
        auth_required: bool = False,
        max_size: int = DEFAULT_MAX_SIZE,
        pop3_timeout: float = DEFAULT_POP3_TIMEOUT,
        smtp_timeout: float = 300.0,
        allow_any_address: bool = False,
    ) -> None:
        domains = [domain] if isinstance(domain, str) else list(domain)
        self.domains = frozenset(d.strip().lower() for d in domains if d.strip())
        if not self.domains:
            raise DevMailError("at least one local domain is needed")
        self.primary_domain = next(d.strip().lower() for d in domains if d.strip())
        for host, _ in (smtp, pop3):
            check_bind_host(host, allow_any_address=allow_any_address)
        if max_size <= 0:
            raise DevMailError("max_size must be a positive number of bytes")
        self.root = Path(root)
        self.smtp_address = smtp
        self.pop3_address = pop3
        self.auth_required = auth_required
        self.max_size = max_size
        self.pop3_timeout = pop3_timeout
        self.smtp_timeout = smtp_timeout
        self.users = UserStore(self.root)
        self.store = MailStore(self.root)
        self._pop3_locked: set[str] = set()  # only touched on the loop thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # --- convenience API ------------------------------------------------------

    def add_user(self, address: str, password: str) -> bool:
        return self.users.add(address, password)

    def deliver(self, address: str, raw: bytes) -> StoredMessage:
        """Store `raw` for `address` as if received (no Received: line added)."""
        return self.store.deliver(address, raw)

    def message_count(self, address: str) -> int:
        return self.store.count(address)

    def messages(self, address: str) -> list[bytes]:
        """Stored messages, oldest first, as RETR would serve them."""
        return [p.read_bytes() for p in self.store.paths(address)]

    # --- lifecycle ----------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            raise DevMailError("devmail is already running")
        self.root.mkdir(parents=True, exist_ok=True)
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="devmail", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise DevMailError("devmail did not start in time")
        if self._startup_error is not None:
            error = self._startup_error
            self._thread.join(timeout)
            self._thread = None
            raise DevMailError(f"devmail could not start: {error}") from error

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> DevMail:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def run_forever(self, announce: Callable[[str], Any] | None = None) -> None:
        """Serve until Ctrl-C or SIGTERM, then stop cleanly."""
        stop = threading.Event()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        try:
            self.start()
            if announce:
                smtp_host, smtp_port = self.smtp_address
                pop3_host, pop3_port = self.pop3_address
                announce(
                    f"devmail (development only) for {', '.join(sorted(self.domains))}: "
                    f"SMTP {smtp_host}:{smtp_port}, POP3 {pop3_host}:{pop3_port}, "
                    f"mail in {self.root}; Ctrl-C to stop"
                )
            # Short waits so Ctrl-C is handled promptly, and a dead server thread noticed.
            while not stop.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        controller: _Controller | None = None
        pop3_server: asyncio.AbstractServer | None = None
        try:
            handler = _SMTPHandler(self)
            controller = _Controller(
                handler,
                loop=loop,
                hostname=self.smtp_address[0],
                port=self.smtp_address[1],
                server_hostname=self.primary_domain,
                ident="ESMTP devmail (development server, not an MTA)",
                data_size_limit=self.max_size,
                authenticator=handler.authenticate,
                auth_required=self.auth_required,
                timeout=self.smtp_timeout,
            )
            controller.begin()
            assert controller.server is not None
            self.smtp_address = controller.server.sockets[0].getsockname()[:2]
            pop3_server = loop.run_until_complete(
                asyncio.start_server(
                    self._pop3_client,
                    self.pop3_address[0],
                    self.pop3_address[1],
                    limit=MAX_POP3_LINE,
                )
            )
            self.pop3_address = pop3_server.sockets[0].getsockname()[:2]
        except Exception as exc:  # noqa: BLE001 - handed to start() in the caller's thread
            self._startup_error = exc
            self._shutdown(loop, controller, pop3_server)
            self._ready.set()
            return
        log.debug("devmail: SMTP %s:%s, POP3 %s:%s", *self.smtp_address, *self.pop3_address)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            self._shutdown(loop, controller, pop3_server)

    def _shutdown(
        self,
        loop: asyncio.AbstractEventLoop,
        controller: _Controller | None,
        pop3_server: asyncio.AbstractServer | None,
    ) -> None:
        # Stop listening first, then end the sessions (POP3 sessions release their
        # lock without deleting anything, as for a dropped connection).
        if pop3_server is not None:
            pop3_server.close()
        if controller is not None and controller.server is not None:
            controller.server.close()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        if controller is not None and controller.server is not None:
            controller.end()
        if pop3_server is not None:
            loop.run_until_complete(pop3_server.wait_closed())
        loop.run_until_complete(asyncio.sleep(0))  # let closed transports finish
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        self._loop = None
        self._pop3_locked.clear()

    async def _pop3_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await _POP3Session(self, reader, writer).run()
        except asyncio.CancelledError:
            # Only _shutdown cancels sessions (run() has released the mailbox by
            # now). End quietly: Python 3.11's streams callback logs an error for
            # a cancelled client task.
            pass
