"""devmail's POP3 side: an asyncio POP3 server over the mail files. No Django here.

RFC 1939 + CAPA/RESP-CODES/PIPELINING of RFC 2449: USER/PASS, STAT, LIST, UIDL,
RETR, TOP, DELE, RSET, NOOP, QUIT. Deletions are applied only by QUIT after a
login; one session per mailbox at a time ([IN-USE]). A session sees the mailbox
as it was at login. No TLS and no APOP: passwords travel in plain text, which
is only fine on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .store import MailStore, UserStore, normalize_address, to_crlf

__all__ = ["DEFAULT_POP3_TIMEOUT", "MAX_POP3_LINE", "POP3Service"]

DEFAULT_POP3_TIMEOUT = 600.0
MAX_POP3_LINE = 512  # RFC 2449 allows 255-octet commands; be a bit lenient

_NUMBER = re.compile(r"[0-9]{1,9}")


class POP3Service:
    """What the POP3 sessions of one running server share: users, mail and mailbox locks.

    Everything here runs on the server's event loop thread.
    """

    def __init__(self, users: UserStore, store: MailStore, timeout: float) -> None:
        self.users = users
        self.store = store
        self.timeout = timeout  # seconds a client may stay silent
        self.locked: set[str] = set()  # addresses with a logged-in session

    async def listen(self, host: str, port: int) -> asyncio.AbstractServer:
        return await asyncio.start_server(self.handle_client, host, port, limit=MAX_POP3_LINE)

    async def handle_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await _POP3Session(self, reader, writer).run()
        except asyncio.CancelledError:
            # Only the server's shutdown cancels sessions (run() has released the
            # mailbox by now). End quietly: Python 3.11's streams callback logs an
            # error for a cancelled client task.
            pass


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
        self, service: POP3Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.service = service
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
                self.service.locked.discard(self.address)
                self.address = None
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def send(self, line: str, body: bytes | None = None) -> None:
        self.writer.write(line.encode("utf-8") + b"\r\n" + (body or b""))
        await self.writer.drain()

    async def read_command(self) -> bytes | _TooLong | None:
        try:
            return await asyncio.wait_for(self._read_line(), self.service.timeout)
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
        if not self.service.users.check(user, arg):
            await self.send("-ERR [AUTH] Authentication failed")
            return
        address = normalize_address(user)
        if address in self.service.locked:
            await self.send("-ERR [IN-USE] Mailbox locked")
            return
        self.service.locked.add(address)
        self.address = address
        # A snapshot: mail arriving during the session shows up in the next one.
        self.entries = []
        for path in self.service.store.paths(address):
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
