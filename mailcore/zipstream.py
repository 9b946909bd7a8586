"""A streaming zip writer whose memory does not grow with the number of members.

Why not ``zipfile.ZipFile`` on a non-seekable stream: it works (data descriptors since
Python 3.5), but it keeps a ``ZipInfo`` per member until ``close()`` writes the central
directory: about 500 bytes a member measured on Python 3.11, so 50 MB for a folder of
100,000 messages and no bound for a whole account. Here each member's central directory
record is packed to bytes at once (46 bytes and its name) and spooled to a temporary file
past :data:`SPOOL_SIZE` (64 KB, about 700 members), then streamed out at the end: memory
is one member's data, a 64 KB output buffer and at most 64 KB of directory, whatever the
number of members (the directory's bytes go to disk: about 100 bytes a member).

The output is plain PKZIP 2.0 with the zip64 extensions where sizes or offsets pass
4 GiB or members pass 65,535 (Info-ZIP, 7-Zip, Windows, macOS and Python read it):

* a member given as ``bytes`` (an .eml) is compressed whole first, so its local header
  carries the real CRC and sizes (no data descriptor): the friendliest form for readers;
* a member given as an iterable of chunks (an mbox of a whole folder) is deflated as it
  streams, and its CRC and sizes follow in a zip64 data descriptor;
* names are UTF-8 with the language encoding flag (bit 11) set when not ASCII, so Korean
  names show as Korean in every current unzipper;
* times are DOS local times, which have no zone: the caller passes the datetime it wants
  shown (the user's zone), clamped to the DOS range 1980-2107.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["ZipMember", "stream_zip"]

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_DESCRIPTOR64 = struct.Struct("<IIQQ")

_UTF8_FLAG = 0x0800
_DESCRIPTOR_FLAG = 0x0008
_STORED, _DEFLATED = 0, 8
_VERSION, _VERSION64 = 20, 45
_MADE_BY_UNIX = 3 << 8
_FILE_MODE = 0o100644 << 16
_LIMIT32 = 0xFFFFFFFF
_LIMIT16 = 0xFFFF
# Patched by the tests to exercise the zip64 records without writing 4 GiB.
ZIP64_LIMIT = _LIMIT32
ZIP64_COUNT_LIMIT = _LIMIT16

FLUSH_SIZE = 1 << 16
# The central directory stays in memory up to this size, then goes to a temporary file. It
# was 1 MB: about 10,000 members' records, which made the 10k-message export's peak three
# times the 1k one's (bench/export.py); small enough now that memory is flat past ~700.
SPOOL_SIZE = 1 << 16


@dataclass(frozen=True)
class ZipMember:
    """One file of the archive: ``name`` uses "/" between folders; ``data`` is the content."""

    name: str
    data: bytes | Iterable[bytes] = field(repr=False)
    date: datetime | None = None  # shown as is (DOS times have no zone); None: 1980-01-01


def stream_zip(members: Iterable[ZipMember], level: int = 6) -> Iterator[bytes]:
    """Yield a zip archive of ``members`` in chunks of about 64 KB.

    Lazy: each member is taken from ``members`` (and each chunk of a streamed member
    from its iterable) only when the output so far has been consumed.
    """
    writer = _Writer(level)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE) as central:
        writer.central = central
        for member in members:
            yield from writer.add(member)
        yield from writer.finish()


class _Writer:
    def __init__(self, level: int) -> None:
        self.level = level
        self.offset = 0
        self.count = 0
        self.central_size = 0
        self.central = None  # set by stream_zip: the spooled central directory
        self.out = bytearray()

    def emit(self, data: bytes) -> Iterator[bytes]:
        self.out += data
        self.offset += len(data)
        if len(self.out) >= FLUSH_SIZE:
            yield bytes(self.out)
            self.out.clear()

    def add(self, member: ZipMember) -> Iterator[bytes]:
        name = member.name.encode("utf-8")
        flags = 0 if member.name.isascii() else _UTF8_FLAG
        dos_time, dos_date = _dos_datetime(member.date)
        header_offset = self.offset
        if isinstance(member.data, bytes | bytearray | memoryview):
            raw = bytes(member.data)
            crc, size = zlib.crc32(raw), len(raw)
            packed = _deflate(raw, self.level)
            method = _DEFLATED
            if len(packed) >= size:
                packed, method = raw, _STORED
            version = _VERSION
            yield from self.emit(
                _LOCAL.pack(
                    0x04034B50,
                    version,
                    flags,
                    method,
                    dos_time,
                    dos_date,
                    crc,
                    len(packed),
                    size,
                    len(name),
                    0,
                )
                + name
            )
            yield from self.emit(packed)
            packed_size = len(packed)
        else:
            flags |= _DESCRIPTOR_FLAG
            method, version = _DEFLATED, _VERSION64
            zip64 = struct.pack("<HHQQ", 1, 16, 0, 0)
            yield from self.emit(
                _LOCAL.pack(
                    0x04034B50,
                    version,
                    flags,
                    method,
                    dos_time,
                    dos_date,
                    0,
                    _LIMIT32,
                    _LIMIT32,
                    len(name),
                    len(zip64),
                )
                + name
                + zip64
            )
            crc = size = packed_size = 0
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
            for chunk in member.data:
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                packed = compressor.compress(chunk)
                packed_size += len(packed)
                yield from self.emit(packed)
            packed = compressor.flush()
            packed_size += len(packed)
            yield from self.emit(packed)
            yield from self.emit(_DESCRIPTOR64.pack(0x08074B50, crc, packed_size, size))
        self.record(
            name, flags, method, version, dos_time, dos_date, crc, packed_size, size, header_offset
        )

    def record(
        self,
        name: bytes,
        flags: int,
        method: int,
        version: int,
        dos_time: int,
        dos_date: int,
        crc: int,
        packed_size: int,
        size: int,
        header_offset: int,
    ) -> None:
        extra = b""
        if size >= ZIP64_LIMIT:
            extra += struct.pack("<Q", size)
            size = _LIMIT32
        if packed_size >= ZIP64_LIMIT:
            extra += struct.pack("<Q", packed_size)
            packed_size = _LIMIT32
        if header_offset >= ZIP64_LIMIT:
            extra += struct.pack("<Q", header_offset)
            header_offset = _LIMIT32
        if extra:
            version = _VERSION64
            extra = struct.pack("<HH", 1, len(extra)) + extra
        entry = (
            _CENTRAL.pack(
                0x02014B50,
                _MADE_BY_UNIX | version,
                version,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                packed_size,
                size,
                len(name),
                len(extra),
                0,
                0,
                0,
                _FILE_MODE,
                header_offset,
            )
            + name
            + extra
        )
        self.central.write(entry)
        self.central_size += len(entry)
        self.count += 1

    def finish(self) -> Iterator[bytes]:
        start = self.offset
        self.central.seek(0)
        while block := self.central.read(FLUSH_SIZE):
            yield from self.emit(block)
        size, count = self.central_size, self.count
        big_count = count >= ZIP64_COUNT_LIMIT
        big_size, big_start = size >= ZIP64_LIMIT, start >= ZIP64_LIMIT
        if big_count or big_size or big_start:
            end64 = self.offset
            yield from self.emit(
                _END64.pack(
                    0x06064B50,
                    44,
                    _MADE_BY_UNIX | _VERSION64,
                    _VERSION64,
                    0,
                    0,
                    count,
                    count,
                    size,
                    start,
                )
                + _LOCATOR64.pack(0x07064B50, 0, end64, 1)
            )
            count = _LIMIT16 if big_count else count
            size = _LIMIT32 if big_size else size
            start = _LIMIT32 if big_start else start
        yield from self.emit(_END.pack(0x06054B50, 0, 0, count, count, size, start, 0))
        if self.out:
            yield bytes(self.out)
            self.out.clear()


def _deflate(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _dos_datetime(moment: datetime | None) -> tuple[int, int]:
    """(time, date) in MS-DOS format, clamped to 1980-01-01 .. 2107-12-31."""
    if moment is None or moment.year < 1980:
        return 0, (0 << 9) | (1 << 5) | 1
    if moment.year > 2107:
        return (23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31
    return (
        (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2),
        ((moment.year - 1980) << 9) | (moment.month << 5) | moment.day,
    )
