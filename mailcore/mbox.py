"""mbox files: a streaming mboxrd writer and a tolerant, constant-memory reader.

We write our own rather than use the standard library's ``mailbox`` module: our Django app
of that name shadows it, and it reads whole files and rewrites line endings anyway.

The format we write (mboxrd, as in qmail's mbox(5) and Thunderbird's import):

* each message starts with ``From SENDER Www Mmm dd hh:mm:ss yyyy`` + LF (the date in UTC,
  asctime layout, English names whatever the locale);
* every message line matching ``^>*From `` gets one more ``>`` (so a reader can remove
  exactly one and get the line back: mboxrd is reversible, mboxo is not);
* the message bytes are written **as stored**: our stored mail has CRLF line endings (as
  POP3 delivered it), and they stay CRLF inside the file; the From_ lines and separators
  are LF. Tools of either convention read such files (Thunderbird, mutt and Python's
  mailbox give back the CRLF lines);
* after the message comes one LF, the separator. A message that ends with a line break
  (all polled and sent mail does) is thus followed by the blank line mboxrd expects.
  A message that does not end with a line break (RFC 5322 allows it; only imported
  .eml files do it) gets its last line terminated by the separator instead and no
  blank line: the only way to give back exactly its bytes, since "no final newline"
  and "final newline" would otherwise be written identically. Other readers then see
  the message with one more LF, which is all any mbox tool can do.

The reader undoes exactly that: it splits at every line that starts with ``From `` (all
such lines inside messages are quoted by mboxrd and mboxo writers), removes the one line
ending before the next From_ line (a CRLF when the message's From_ line ended with CRLF,
as in files written on Windows, else an LF) and removes one ``>`` from each ``^>+From ``
line. So ``read_mbox(write_mbox(msgs))`` gives back every message byte for byte, with
or without CRLF or a final line break (the property test in tests/mailcore/test_mbox.py).

Files from other clients: mboxo (Thunderbird, Apple Mail) reads the same, except that
mboxo cannot tell a quoted ``>From`` from a real one (we unquote it, like every mboxrd
reader); mboxcl/mboxcl2 (Gmail Takeout, Solaris) lines are quoted in practice, and their
Content-Length headers are ignored (they are often wrong after editing). Text before the
first From_ line (a single .eml uploaded as mbox, a truncated file) is never dropped: it
comes out as an :class:`MboxJunk` item for the caller to store as a malformed message.
Only line endings before the first From_ line are ignored (nothing of a message is lost).

Memory: the reader reads fixed-size blocks and holds one message at a time (so at most
the largest message plus a block), never the whole file; the writer holds one message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

from .mime.dates import aware

__all__ = [
    "BinaryReadable",
    "MboxItem",
    "MboxJunk",
    "MboxMessage",
    "from_line",
    "parse_from_line",
    "quote_from_lines",
    "read_mbox",
    "unquote_from_lines",
    "write_mbox",
]

BLOCK_SIZE = 1 << 20
DEFAULT_SENDER = "MAILER-DAEMON"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_MONTHS_LOWER = tuple(m.lower() for m in _MONTHS)

_QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)
_UNQUOTE = re.compile(rb"^>(>*From )", re.MULTILINE)
_SEPARATOR = b"\nFrom "
# Anything but whitespace and controls may stand in the sender token.
_SENDER_JUNK = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
# "Www Mmm dd hh:mm[:ss] [zone] yyyy [zone]": asctime, Gmail Takeout's "+0000 2023",
# and the zone some writers append.
_FROM_DATE = re.compile(
    r"(?:(?P<wday>[A-Za-z]{3})\s+)?(?P<mon>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s+"
    r"(?:(?P<zone1>[+-]\d{4}|[A-Z]{3,5})\s+)?(?P<year>\d{4})(?:\s+(?P<zone2>[+-]\d{4}))?"
)


class BinaryReadable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class MboxMessage:
    """One message read from an mbox: ``raw`` is the message's bytes, unquoted."""

    raw: bytes = field(repr=False)
    from_line: bytes  # b"From sender date", without its line ending
    offset: int  # of the From_ line in the file, for error reports


@dataclass(frozen=True)
class MboxJunk:
    """Bytes before the first From_ line: not an mbox message, but never dropped."""

    raw: bytes = field(repr=False)
    offset: int
    reason: str


MboxItem = MboxMessage | MboxJunk


# --------------------------------------------------------------------------- writing


def quote_from_lines(raw: bytes) -> bytes:
    """mboxrd quoting: one more ``>`` before every line matching ``^>*From ``."""
    return _QUOTE.sub(rb">\1", raw)


def unquote_from_lines(raw: bytes) -> bytes:
    """The inverse of :func:`quote_from_lines`: one ``>`` less on every ``^>+From `` line."""
    return _UNQUOTE.sub(rb"\1", raw)


def from_line(sender: str | None, date: datetime | None) -> bytes:
    """``From sender Www Mmm dd hh:mm:ss yyyy`` (UTC), without a line ending.

    The sender is the envelope sender; whitespace and controls cannot stand in the
    token, so they are removed, and an empty sender (a bounce) is ``MAILER-DAEMON``.
    A missing date is the epoch, so that the same messages always give the same file.
    """
    token = _SENDER_JUNK.sub("", sender or "") or DEFAULT_SENDER
    moment = aware(date).astimezone(UTC) if date is not None else datetime(1970, 1, 1, tzinfo=UTC)
    stamp = (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:2d} "
        f"{moment:%H:%M:%S} {moment.year:04d}"
    )
    return f"From {token} {stamp}".encode()


def write_mbox(
    messages: Iterable[tuple[bytes, str | None, datetime | None]],
) -> Iterator[bytes]:
    """Yield an mboxrd file, one chunk per message, from (raw, envelope sender, date).

    Lazy: a message is read from ``messages`` only when its chunk is asked for, so a
    streaming HTTP response or a file write of any number of messages holds one message.
    """
    for raw, sender, date in messages:
        yield b"".join((from_line(sender, date), b"\n", quote_from_lines(bytes(raw)), b"\n"))


# --------------------------------------------------------------------------- reading


def read_mbox(fileobj: BinaryReadable, block_size: int = BLOCK_SIZE) -> Iterator[MboxItem]:
    """Yield the messages of a binary mbox file object in order; see the module docstring.

    An empty file yields nothing. Reads ``block_size`` bytes at a time from any object
    with ``read(n)`` (an upload, an open file, a pipe); never seeks.
    """
    yield from _Reader(fileobj, block_size).items()


class _Reader:
    def __init__(self, fileobj: BinaryReadable, block_size: int) -> None:
        self.fileobj = fileobj
        self.block_size = max(16, block_size)
        self.buf = bytearray()
        self.eof = False
        self.consumed = 0  # file offset of buf[0]

    def fill(self) -> bool:
        """Read one more block into the buffer; False at the end of the file."""
        if self.eof:
            return False
        block = self.fileobj.read(self.block_size)
        if not block:
            self.eof = True
            return False
        self.buf += block
        return True

    def take(self, size: int) -> bytes:
        with memoryview(self.buf) as view:
            data = bytes(view[:size])
        del self.buf[:size]
        self.consumed += size
        return data

    def next_from_line(self) -> int:
        """Index in the buffer of the next line starting with "From ", or -1 at the end."""
        while len(self.buf) < 5 and self.fill():
            pass
        if self.buf.startswith(b"From "):
            return 0
        pos = 0
        while True:
            found = self.buf.find(_SEPARATOR, pos)
            if found >= 0:
                return found + 1
            # A separator may straddle the next block: search again from where it could start.
            pos = max(0, len(self.buf) - len(_SEPARATOR) + 1)
            if not self.fill():
                return -1

    def items(self) -> Iterator[MboxItem]:
        head = self.next_from_line()
        if head != 0:
            junk = self.take(len(self.buf) if head < 0 else head)
            if junk.strip(b"\r\n"):
                yield MboxJunk(junk, 0, "text before the first From_ line (not an mbox file?)")
        while self.buf:
            offset = self.consumed
            line_end = self.buf.find(b"\n")
            while line_end < 0 and self.fill():
                line_end = self.buf.find(b"\n")
            if line_end < 0:
                yield MboxJunk(self.take(len(self.buf)), offset, "a From_ line with no message")
                return
            line = self.take(line_end + 1)
            body_end = self.next_from_line()
            raw = self.take(len(self.buf) if body_end < 0 else body_end)
            # The one line ending before the next From_ line is the separator, not the message's.
            if line.endswith(b"\r\n") and raw.endswith(b"\r\n"):
                raw = raw[:-2]
            elif raw.endswith(b"\n"):
                raw = raw[:-1]
            yield MboxMessage(unquote_from_lines(raw), line.rstrip(b"\r\n"), offset)


def parse_from_line(line: bytes) -> tuple[str, datetime | None]:
    """(envelope sender, date) from a From_ line; the date is None when there is none.

    Tolerates the variants in the wild: asctime (ours, mutt), Thunderbird's
    ``From - Mon Jan 01 00:00:00 2024``, Gmail Takeout's ``+0000 2023`` and a trailing
    zone. A date without a zone is UTC (as we write it).
    """
    text = line.decode("utf-8", "replace")
    if text.startswith("From "):
        text = text[5:]
    sender, _, rest = text.strip().partition(" ")
    match = _FROM_DATE.search(rest)
    if not match:
        return sender, None
    zone = match["zone1"] or match["zone2"] or ""
    offset = timedelta(0)
    if zone[:1] in ("+", "-"):
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        offset = -offset if zone[0] == "-" else offset
    try:
        moment = datetime(
            int(match["year"]),
            _MONTHS_LOWER.index(match["mon"].lower()) + 1,
            int(match["day"]),
            int(match["h"]),
            int(match["m"]),
            int(match["s"] or 0),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return sender, None
    return sender, moment.astimezone(UTC)
