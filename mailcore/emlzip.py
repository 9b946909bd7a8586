"""Zips of .eml files: safe, unique member names for export, and a guarded reader for import.

Export: :func:`write_eml_zip` streams ``(raw, subject, date, folder)`` items as a zip
(via :mod:`mailcore.zipstream`, constant memory). Each message is stored byte for byte
as ``[folder/…/]000123 YYYY-MM-DD HHMMSS Subject.eml``: its number in the archive first
(zero-padded, so that a file manager lists mail in the order given, oldest first), then
the date, Korean and other scripts kept (UTF-8 names, flagged as such), and nothing that
a disk or an unzipper could misread (see :func:`eml_name`). The number makes every name
unique by construction, also ignoring case and Unicode normalization (Windows and macOS
disks), so nothing remembers the names given out: memory stays flat for any number of
messages (bench/export.py). :class:`NameAllocator` numbers repeats " (2)", " (3)" for the
few names that are not numbered (one mbox per folder in a whole-account archive).

Import: :func:`read_eml_zip` yields the .eml members of an uploaded zip as
:class:`EmlFile`, and a :class:`SkippedMember` with a :class:`SkipReason` for every other
member, so that the caller's summary can say what was left out and why. Zip bombs are
refused by counting what is actually inflated (declared sizes can lie): past the member
cap the archive is refused before anything is read; past the per-message or total cap,
the member is skipped, and after the total cap every remaining member is too.
:func:`read_eml` reads a single uploaded .eml with the same size cap, and
:func:`guess_upload_kind` tells zip, mbox and .eml uploads apart by their first bytes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import IO, Literal

from .zipstream import ZipMember, stream_zip

__all__ = [
    "MAX_MEMBERS",
    "MAX_MESSAGE_BYTES",
    "MAX_TOTAL_BYTES",
    "ArchiveError",
    "EmlExport",
    "EmlFile",
    "NameAllocator",
    "SkipReason",
    "SkippedMember",
    "clean_name_part",
    "eml_name",
    "guess_upload_kind",
    "read_eml",
    "read_eml_zip",
    "write_eml_zip",
]

MAX_MEMBERS = 100_000
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
# Room for "000123 " and ".eml" (or " (2).mbox") within the 255-byte limit of disks.
MAX_NAME_BYTES = 180
# Digits of an exported message's number: names sort in order up to 999,999 messages (past
# that the number grows a digit and stays unique; only the file manager's order suffers).
NUMBER_DIGITS = 6
_READ_BLOCK = 1 << 16

_KEEP_FORMAT_CHARS = frozenset("\u200c\u200d")  # ZWNJ/ZWJ are needed by Persian and emoji
_UNSAFE = re.compile(r'[\\/<>:"|?*]')
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{name}{n}" for name in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")]
)


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class EmlExport:
    """One message to export: its stored bytes and what names it."""

    raw: bytes = field(repr=False)
    subject: str
    date: datetime | None  # in the zone the names and zip times should show (the user's)
    folder: Sequence[str] = ()  # folder path segments, for a whole-account archive


def clean_name_part(text: str, fallback: str = "_") -> str:
    """``text`` made safe as one file or folder name: no separators, controls or tricks.

    NFC-normalized; controls, bidi overrides and zero-width characters removed (they
    spoof extensions); ``\\ / < > : " | ? *`` replaced by "_" (path separators and what
    Windows refuses); whitespace collapsed; no leading or trailing dots and spaces (hidden
    files, "..", what Windows drops); Windows device names (CON, COM1 ...) prefixed with
    "_"; cut to :data:`MAX_NAME_BYTES` of UTF-8 on a character boundary.
    """
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        ch
        for ch in text
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
        or ch in _KEEP_FORMAT_CHARS
        or ch in "\t\n\r"
    )
    text = " ".join(_UNSAFE.sub("_", text).split())
    text = text.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    text = text.strip(". ")
    if text.split(".", 1)[0].rstrip().upper() in _RESERVED:
        text = "_" + text
    return text or fallback


def eml_name(
    subject: str, date: datetime | None, untitled: str = "message", number: int | None = None
) -> str:
    """``[000123 ]YYYY-MM-DD HHMMSS Subject.eml`` (the date as given), safe on any disk.

    ``untitled`` stands in for an empty subject (the caller may pass a translation);
    ``number``, the message's place in the archive, comes first, zero-padded to
    :data:`NUMBER_DIGITS`, before the cleaned (and, when too long, cut) rest: names with
    different numbers differ whatever the subjects.
    """
    number_part = f"{number:0{NUMBER_DIGITS}d} " if number is not None else ""
    stamp = f"{date:%Y-%m-%d %H%M%S} " if date is not None else ""
    return number_part + clean_name_part(stamp + (subject.strip() or untitled), untitled) + ".eml"


def _folder_name(segment: str) -> str:
    # A folder is never named like a message file, or "Work/x.eml" could be both.
    name = clean_name_part(segment)
    return name + "_" if name.casefold().endswith(".eml") else name


class NameAllocator:
    """Unique archive paths: a repeated path gets " (2)", " (3)" ... before its extension.

    Paths compare ignoring case and Unicode normalization, as Windows and macOS disks do.
    Remembers an 8-byte digest of every path given out (about 70 bytes a name), so it is
    for a bounded number of names (one per folder), never one per message: messages are
    numbered instead (:func:`write_eml_zip`).
    """

    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def _key(self, path: str) -> bytes:
        folded = unicodedata.normalize("NFC", path).casefold()
        return hashlib.blake2b(folded.encode("utf-8"), digest_size=8).digest()

    def allocate(self, path: str) -> str:
        stem, dot, ext = path.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = path, ""
        else:
            ext = "." + ext
        candidate, number = path, 1
        while self._key(candidate) in self._seen:
            number += 1
            candidate = f"{stem} ({number}){ext}"
        self._seen.add(self._key(candidate))
        return candidate


def write_eml_zip(messages: Iterable[EmlExport], untitled: str = "message") -> Iterator[bytes]:
    """Yield a zip of one .eml per message, byte for byte, in chunks of about 64 KB.

    The messages are numbered from 1 in the order given, across folders, and each name
    starts with its number (:func:`eml_name`), so names are unique without remembering
    any: memory does not grow with the number of messages.
    """

    def members() -> Iterator[ZipMember]:
        for number, message in enumerate(messages, 1):
            folders = [_folder_name(segment) for segment in message.folder]
            name = eml_name(message.subject, message.date, untitled, number)
            yield ZipMember("/".join([*folders, name]), bytes(message.raw), message.date)

    return stream_zip(members())


# --------------------------------------------------------------------------- import


class SkipReason(StrEnum):
    """Why a zip member was not imported (the caller words it for the user)."""

    DIRECTORY = "directory"
    NOT_EML = "not-eml"  # another kind of file
    METADATA = "metadata"  # macOS "__MACOSX/" and "._name" resource forks
    TOO_LARGE = "too-large"  # inflates past the per-message cap
    TOTAL_LIMIT = "total-limit"  # the archive inflated past the total cap before it
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"  # bad CRC or deflate data
    UNSUPPORTED = "unsupported"  # a compression method Python cannot read


@dataclass(frozen=True)
class EmlFile:
    """An .eml to import: ``raw`` exactly as in the archive."""

    name: str
    raw: bytes = field(repr=False)
    date: datetime | None = None  # the member's zip time (naive, no zone), a fallback date


@dataclass(frozen=True)
class SkippedMember:
    name: str
    reason: SkipReason


class ArchiveError(ValueError):
    """The upload cannot be read as a zip at all, or is refused whole; ``code`` says why."""

    def __init__(self, code: Literal["not-a-zip", "too-many-members", "too-large"]) -> None:
        super().__init__(code)
        self.code = code


def read_eml_zip(
    fileobj: IO[bytes],
    *,
    max_members: int = MAX_MEMBERS,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> Iterator[EmlFile | SkippedMember]:
    """Yield each member of a seekable zip file object: an :class:`EmlFile` or a skip.

    Raises :class:`ArchiveError` ("not-a-zip", "too-many-members") before yielding
    anything. Members come in the archive's order.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveError("not-a-zip") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise ArchiveError("too-many-members")
        total = 0
        for info in infos:
            reason = _member_kind(info)
            if reason is None and total >= max_total_bytes:
                reason = SkipReason.TOTAL_LIMIT
            if reason is not None:
                yield SkippedMember(_display_name(info), reason)
                continue
            budget = min(max_message_bytes, max_total_bytes - total)
            raw, reason = _inflate(archive, info, budget)
            if raw is None:
                if reason is SkipReason.TOO_LARGE and budget < max_message_bytes:
                    reason = SkipReason.TOTAL_LIMIT
                    total = max_total_bytes
                yield SkippedMember(_display_name(info), reason or SkipReason.CORRUPT)
                continue
            total += len(raw)
            yield EmlFile(_display_name(info), raw, _zip_date(info))


def _display_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its maker meant it.

    Without the UTF-8 flag, zipfile decodes names as CP437, but Korean Windows writes
    CP949 and many tools write UTF-8 without setting the flag: try those, in that order.
    """
    name = info.filename
    if info.flag_bits & 0x800 or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for codec in ("utf-8", "cp949"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            pass
    return name


def _member_kind(info: zipfile.ZipInfo) -> SkipReason | None:
    name = info.filename
    base = name.rstrip("/").rpartition("/")[2]
    if info.is_dir():
        return SkipReason.DIRECTORY
    if name.startswith("__MACOSX/") or base.startswith("._"):
        return SkipReason.METADATA
    if not base.lower().endswith(".eml"):
        return SkipReason.NOT_EML
    return None


def _inflate(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int
) -> tuple[bytes | None, SkipReason | None]:
    """The member's bytes, read block by block so a bomb stops at ``budget`` bytes."""
    if info.file_size > budget:
        return None, SkipReason.TOO_LARGE
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as member:
            while block := member.read(_READ_BLOCK):
                size += len(block)
                if size > budget:
                    return None, SkipReason.TOO_LARGE
                chunks.append(block)
    except NotImplementedError:  # "That compression method is not supported"
        return None, SkipReason.UNSUPPORTED
    except RuntimeError:  # "File is encrypted, password required for extraction"
        return None, SkipReason.ENCRYPTED
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError):
        return None, SkipReason.CORRUPT
    return b"".join(chunks), None


def _zip_date(info: zipfile.ZipInfo) -> datetime | None:
    try:
        moment = datetime(*info.date_time)  # noqa: DTZ001 - zip times have no zone
    except ValueError:
        return None
    return None if moment.year <= 1980 else moment


def read_eml(fileobj: IO[bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> bytes | None:
    """A single uploaded .eml's bytes, exactly; None when it is larger than ``max_bytes``."""
    data = fileobj.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


def guess_upload_kind(head: bytes, filename: str = "") -> Literal["zip", "mbox", "eml"]:
    """What an upload is, from its first bytes (at least 5) and, failing those, its name.

    A zip starts with a local header (or is an empty zip); an mbox starts with a From_
    line; anything else is taken as one message, as a mail client's "Save as" writes it.
    """
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.lstrip(b"\r\n").startswith(b"From "):
        return "mbox"
    lowered = filename.lower()
    if lowered.endswith((".mbox", ".mbx")) or lowered == "mbox":
        return "mbox"
    return "eml"
