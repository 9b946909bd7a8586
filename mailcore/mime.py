"""Parse raw RFC 5322 messages into plain data objects.

Django-free on purpose: the POP3 ingest worker, the views and the tests all use
it. Every public function is total: malformed input gives a best-effort result
plus human-readable ``defects``, never an exception.

Body selection rules:

* The first inline ``text/plain`` part (no filename, not ``attachment``) is the
  text body and the first inline ``text/html`` part is the HTML body. A
  single-part message is its own body even when the sender named it.
* Later inline parts of the same kind are appended when they sit directly in a
  ``multipart/mixed`` (mailing-list footers, Apple Mail's text/image/text
  splits) or belong to a different ``multipart/alternative`` group; further
  renderings inside the alternative group that already gave a body are dropped.
* Everything else that carries data becomes an :class:`Attachment`;
  ``message/*`` parts become ``.eml`` attachments named after their subject.
* ``Attachment.inline`` is only ever true for images (disposition ``inline``,
  or a Content-ID inside ``multipart/related``): an "inline" PDF cannot be
  shown in the body, so it must still count for ``has_attachments``.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import TypeVar
from urllib.parse import unquote_to_bytes

import pybase64

__all__ = [
    "Address",
    "Attachment",
    "ParsedMessage",
    "decode_charset",
    "decode_header_text",
    "html_to_text",
    "parse_headers",
    "parse_message",
    "safe_filename",
]

MAX_FILENAME_CHARS = 150
# Most filesystems cap a name at 255 bytes; 150 Hangul characters are 450 bytes.
MAX_FILENAME_BYTES = 255


@dataclass(frozen=True)
class Address:
    name: str  # decoded display name, "" if none
    address: str  # addr-spec, "" if unparseable


@dataclass
class Attachment:
    filename: str  # decoded original name, for display only
    safe_name: str  # safe to use on disk and in Content-Disposition
    content_type: str  # lowercased maintype/subtype
    content_id: str  # without <>
    inline: bool
    payload: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class ParsedMessage:
    subject: str
    from_: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    date: datetime
    date_is_fallback: bool
    message_id: str
    in_reply_to: str
    references: list[str]
    text_body: str = field(repr=False)
    html_body: str = field(repr=False)
    attachments: list[Attachment]
    defects: list[str]

    @property
    def has_attachments(self) -> bool:
        return any(not attachment.inline for attachment in self.attachments)

    def snippet(self, length: int = 160) -> str:
        source = self.text_body
        if not source or source.isspace():
            # Ask for extra: the snippet collapses the line breaks html_to_text keeps.
            source = html_to_text(self.html_body, max_chars=length * 2 + 16)
        return _collapse_whitespace(source, length)


# --------------------------------------------------------------------------- charsets

# Labels whose real-world traffic needs a superset codec (WHATWG Encoding does the same):
# "euc-kr" mail routinely uses CP949-only syllables, "gb2312" mail uses GBK, and so on.
_SUPERSET_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "euc-kr euckr cseuckr ks-c-5601-1987 ks-c-5601-1989 ks-c-5601 ksc5601 ksc-5601 korean "
        "x-windows-949 windows-949 cp949 ms949 uhc x-uhc csksc56011987 iso-ir-149",
        ("cp949",),
    ),
    ("gb2312 gbk x-gbk cp936 ms936 euc-cn x-euc-cn csgb2312 chinese gb-2312-80", ("gb18030",)),
    ("shift-jis sjis x-sjis ms-kanji csshiftjis windows-31j ms932 cp932", ("cp932",)),
    ("big5 x-big5 csbig5 cn-big5 cp950", ("cp950", "big5hkscs")),
    # Latin-1 never fails, so it doubles as the fallback for the bytes cp1252 leaves undefined.
    (
        "iso-8859-1 iso8859-1 iso-8859-1:1987 latin1 latin-1 l1 cp819 ibm819 csisolatin1",
        ("cp1252", "latin-1"),
    ),
    ("iso-8859-9 iso8859-9 latin5 l5", ("cp1254", "iso8859-9")),
    ("tis-620 iso-8859-11 windows-874", ("cp874",)),
)
_SUPERSETS = {label: names for labels, names in _SUPERSET_GROUPS for label in labels.split()}
_SUPERSETS["iso-2022-jp"] = ("iso2022_jp", "iso2022_jp_2")

_ASCII_LABELS = frozenset(
    "us-ascii ascii ansi-x3.4-1968 iso646-us us 646 cp367 ibm367 csascii iso-ir-6".split()
)
# Python codecs that must never be driven by a label from an untrusted message.
_BLOCKED_CODECS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode"})
# Codecs where ASCII bytes do not simply mean ASCII text.
_NOT_ASCII_SAFE = ("utf-16", "utf-32", "utf-7", "iso2022", "hz")
_HEADER_GUESSES = ("utf-8", "cp949", "cp1252")


@dataclass(frozen=True)
class _CharsetSpec:
    codecs: tuple[str, ...]
    ascii_safe: bool
    declared_ascii: bool


def _normalise_label(charset: str | None) -> str:
    if not charset:
        return ""
    label = str(charset).strip().strip("\"';").strip().lower()
    return label.replace("_", "-")


@functools.lru_cache(maxsize=256)
def _charset_spec(label: str) -> _CharsetSpec | None:
    if label in _ASCII_LABELS:
        return _CharsetSpec(("ascii",), ascii_safe=True, declared_ascii=True)
    names = _SUPERSETS.get(label)
    if names is None:
        name = _python_codec(label)
        if name is None and label.startswith("x-"):
            name = _python_codec(label[2:])
        if name is None:
            return None
        names = (name,)
    ascii_safe = not any(codecs.lookup(n).name.startswith(_NOT_ASCII_SAFE) for n in names)
    return _CharsetSpec(names, ascii_safe=ascii_safe, declared_ascii=False)


def _python_codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    try:
        b"a".decode(name)  # bytes-to-bytes codecs such as zlib or base64 raise LookupError
    except LookupError:
        return None
    except UnicodeDecodeError:
        pass  # a real text codec (UTF-16 needs two bytes)
    return None if name in _BLOCKED_CODECS else name


def decode_charset(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode ``data`` labelled ``charset``; returns (text, defect or None). Never raises."""
    if not data:
        return "", None
    data = bytes(data)
    label = _normalise_label(charset)
    if not label:
        return _decode_unlabelled(data)
    spec = _charset_spec(label)
    if spec is None:
        for name in ("utf-8", "cp1252"):
            try:
                return data.decode(name), f"unknown charset {label!r}; decoded as {name}"
            except UnicodeDecodeError:
                pass
        return data.decode("latin-1"), f"unknown charset {label!r}; decoded as latin-1"
    if spec.ascii_safe and data.isascii():
        return data.decode("ascii"), None
    for name in spec.codecs:
        try:
            return _no_lone_surrogates(data.decode(name), name), None
        except UnicodeDecodeError:
            pass
    if spec.declared_ascii:
        # 8-bit data labelled us-ascii: usually UTF-8 these days, else Windows-1252.
        for name in ("utf-8", "cp1252"):
            try:
                return data.decode(name), f"8-bit data labelled {label!r}; decoded as {name}"
            except UnicodeDecodeError:
                pass
        return data.decode("latin-1"), f"8-bit data labelled {label!r}; decoded as latin-1"
    if spec.codecs[0] == "iso2022_jp":
        text = _iso2022jp_as_cp932(data)
        if text is not None:
            return text, None
    # Mislabelled UTF-8 is the commonest mistake (7-bit data proves nothing, though).
    if "utf-8" not in spec.codecs and not data.isascii():
        try:
            return data.decode("utf-8"), f"data labelled {label!r} is UTF-8; decoded as utf-8"
        except UnicodeDecodeError:
            pass
    name = spec.codecs[0]
    text = _no_lone_surrogates(data.decode(name, "replace"), name)
    return text, f"invalid {label} data; undecodable bytes replaced"


def _decode_unlabelled(data: bytes) -> tuple[str, str | None]:
    if data.isascii():
        return data.decode("ascii"), None
    text, name = _guess_8bit(data, None)
    return text, None if name == "utf-8" else f"8-bit text without a charset; guessed {name}"


def _guess_8bit(data: bytes, hint: str | None) -> tuple[str, str]:
    """Undeclared 8-bit bytes: UTF-8, then the message's charset, then Korean, then Western."""
    names = _HEADER_GUESSES if hint is None else ("utf-8", hint, *_HEADER_GUESSES[1:])
    for name in names:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


def _no_lone_surrogates(text: str, codec: str) -> str:
    # UTF-7 can smuggle half a surrogate pair, which databases reject.
    if codec == "utf-7":
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _iso2022jp_as_cp932(data: bytes) -> str | None:
    """Decode ISO-2022-JP holding Microsoft/NEC extensions (circled digits etc.), as mailers do."""
    out = bytearray()
    mode = "ascii"
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte == 0x1B:
            seq = data[i + 1 : i + 3]
            if seq in (b"$B", b"$@"):
                mode = "kanji"
            elif seq == b"(I":
                mode = "kana"
            elif seq in (b"(B", b"(J"):
                mode = "ascii"
            else:
                return None
            i += 3
        elif mode == "kanji" and 0x21 <= byte <= 0x7E and i + 1 < n:
            # JIS row/cell to Shift_JIS lead/trail bytes.
            j1, j2 = byte, data[i + 1]
            lead = (j1 + 1) // 2 + 0x70
            if lead >= 0xA0:
                lead += 0x40
            if j1 % 2:
                trail = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
            else:
                trail = j2 + 0x7E
            out += bytes((lead, trail & 0xFF))
            i += 2
        elif mode == "kana" and 0x21 <= byte <= 0x5F:
            out.append(byte + 0x80)
            i += 1
        else:
            out.append(byte)
            i += 1
    try:
        return out.decode("cp932")
    except UnicodeDecodeError:
        return None


# ---------------------------------------------------------------------------- headers

_FOLD = re.compile(r"\r?\n(?=[ \t])")
# C0, DEL, C1 and Unicode line/paragraph separators: nothing a header value may contain.
_CONTROL_RUN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\r\n]*)\?=")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def decode_header_text(value: str | bytes | None) -> str:
    """Decode an unstructured header value (RFC 2047, raw 8-bit) into single-line text."""
    return _decode_header(value)


def _decode_header(
    value: str | bytes | None, hint: str | None = None, defects: list[str] | None = None
) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("ascii", "surrogateescape")
    else:
        text = str(value)
    if "\n" in text:
        text = _FOLD.sub("", text)
    if "=?" in text:
        text = _decode_encoded_words(text, hint, defects)
    elif not text.isascii():
        text = _decode_raw(text, hint)
    # Strip controls only after decoding so encoded CR/LF cannot survive (CVE-2024-6923 class).
    return _CONTROL_RUN.sub(" ", text).strip()


def _decode_encoded_words(text: str, hint: str | None, defects: list[str] | None) -> str:
    # Runs of encoded words sharing a charset are joined before decoding: mailers split
    # multibyte characters across words.
    out: list[str] = []
    run_charset = ""
    run: list[bytes] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos : match.start()]
        if gap and not (run and gap.isspace()):
            _flush_words(run, run_charset, out, defects)
            out.append(_decode_raw(gap, hint))
        charset = match.group(1).lower()
        if run and charset != run_charset:
            _flush_words(run, run_charset, out, defects)
        run_charset = charset
        payload = _to_bytes(match.group(3))
        if match.group(2) in "Qq":
            run.append(binascii.a2b_qp(payload, header=True))
        else:
            run.append(_b64decode(payload)[0])
        pos = match.end()
    _flush_words(run, run_charset, out, defects)
    out.append(_decode_raw(text[pos:], hint))
    return "".join(out)


def _flush_words(run: list[bytes], charset: str, out: list[str], defects: list[str] | None) -> None:
    if not run:
        return
    text, defect = decode_charset(b"".join(run), charset)
    if defect and defects is not None:
        defects.append(f"header: {defect}")
    out.append(text)
    run.clear()


def _decode_raw(text: str, hint: str | None) -> str:
    """Recover raw 8-bit header bytes (kept as surrogate escapes by the parser)."""
    if text.isascii() or not _ESCAPED_BYTE.search(text):
        return text
    return _guess_8bit(_to_bytes(text), hint)[0]


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _hint_codec(charset: str | None) -> str | None:
    """The message's own charset, tried on raw 8-bit headers before the generic guesses."""
    spec = _charset_spec(_normalise_label(charset)) if charset else None
    if spec is None or spec.declared_ascii or not spec.ascii_safe:
        return None
    name = spec.codecs[0]
    return None if name in _HEADER_GUESSES or name == "utf-8" else name


_PARAM_CHUNK = re.compile(r'(?:[^;"]|"(?:[^"\\]|\\.)*(?:"|$))+', re.S)
_RFC2231_NAME = re.compile(r"([^*]+)\*(?:(\d{1,3})(\*)?)?")
_QUOTED_PAIR = re.compile(r'\\([\\"])')


def _structured(value: str | None, hint: str | None) -> tuple[str, dict[str, str]]:
    """Split ``type/sub; a=b; c*0*=...`` into a lowercased main value and decoded params."""
    if not value:
        return "", {}
    text = _FOLD.sub("", str(value))
    chunks = _PARAM_CHUNK.findall(text)
    if text.lstrip().startswith(";"):
        chunks.insert(0, "")  # no main value, only parameters
    if not chunks:
        return "", {}
    main = chunks[0].strip().lower()
    main = main.split(None, 1)[0] if main else ""
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for chunk in chunks[1:]:
        name, sep, raw = chunk.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        raw = raw.strip()
        if raw.startswith('"'):
            raw = _QUOTED_PAIR.sub(
                r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
            )
        match = _RFC2231_NAME.fullmatch(name)
        if match:
            base, number, star = match.groups()
            encoded = number is None or star is not None
            extended.setdefault(base, {})[int(number or 0)] = (raw, encoded)
        else:
            plain.setdefault(name, raw)
    params = {name: _decode_header(raw, hint) for name, raw in plain.items()}
    for base, sections in extended.items():
        params[base] = _join_rfc2231(sections, hint)
    return main, params


def _join_rfc2231(sections: dict[int, tuple[str, bool]], hint: str | None) -> str:
    ordered = [sections[k] for k in sorted(sections)]
    if not any(encoded for _, encoded in ordered):
        return _decode_header("".join(value for value, _ in ordered), hint)
    charset: str | None = None
    first, first_encoded = ordered[0]
    if first_encoded and first.count("'") >= 2:
        charset, _lang, first = first.split("'", 2)
        ordered[0] = (first, True)
    data = b"".join(
        unquote_to_bytes(_to_bytes(value)) if encoded else _to_bytes(value)
        for value, encoded in ordered
    )
    if charset:
        text = decode_charset(data, charset)[0]
    else:
        text = _guess_8bit(data, hint)[0]
    return _CONTROL_RUN.sub(" ", text).strip()


_ADDRESS_HEADERS = frozenset({"from", "sender", "to", "cc", "reply-to"})
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_ADDR_SPEC = re.compile(r"[^\s<>\"(),;:@]+@[^\s<>\"(),;:@]+")


def _header_map(part: Message) -> dict[str, str]:
    """First occurrence of each header, raw (the parser keeps values undecoded)."""
    headers: dict[str, str] = {}
    for name, value in part.raw_items():
        key = name.strip().lower()
        if key not in headers:
            headers[key] = str(value)
        elif key in _ADDRESS_HEADERS and key not in ("from", "sender"):
            headers[key] += ", " + str(value)  # a repeated To/Cc: keep every recipient
    return headers


def _parse_addresses(value: str | None, hint: str | None) -> list[Address]:
    if not value:
        return []
    text = _FOLD.sub("", value)
    # Park encoded words behind placeholders: a Q-encoded name may contain commas or quotes.
    words: list[str] = []

    def park(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return f"\ue000{len(words) - 1}\ue001"

    if "=?" in text:
        text = _ENCODED_WORD.sub(park, text)
    result: list[Address] = []
    for name, addr in getaddresses([text]):
        if words:
            name = _PLACEHOLDER.sub(lambda m: words[int(m.group(1))], name)
            addr = _PLACEHOLDER.sub(lambda m: words[int(m.group(1))], addr)
        address = _make_address(_decode_header(name, hint), _decode_header(addr, hint))
        if address is not None:
            result.append(address)
    return result


def _make_address(name: str, addr: str) -> Address | None:
    candidate = "".join(addr.split())
    local, at, domain = candidate.rpartition("@")
    if at and local and domain and _ADDR_SPEC.fullmatch(candidate):
        return Address(name=name, address=candidate)
    # Salvage an addr-spec from garbage such as an unterminated quote swallowing "<x@y>".
    match = _ADDR_SPEC.search(addr)
    if match:
        leftover = (addr[: match.start()] + addr[match.end() :]).strip(" <>\"'")
        return Address(name=name or leftover, address=match.group(0))
    text = name or addr.strip(" <>\"'")
    return Address(name=text, address="") if text else None


_MSG_ID = re.compile(r"<([^<>]*)>")


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    text = _CONTROL_RUN.sub(" ", _decode_raw(str(value), None))
    found = ["".join(m.split()) for m in _MSG_ID.findall(text)]
    if not found:
        found = [token.strip("<>") for token in re.split(r"[\s,]+", text)]
    return list(dict.fromkeys(i for i in found if i))


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(decode_header_text(value))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=UTC)  # "-0000" or no zone: RFC 5322 says assume UTC
    return parsed


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment


# ----------------------------------------------------------------------------- parsing


class _Part(Message):
    """A parsed part whose boundary is read as leniently as ``policy.default`` reads it.

    The parser runs with ``compat32``: ``policy.default`` builds a header object on
    every lookup, which was a third of the parse time, and we only ever read raw
    header values. compat32 keeps junk after a quoted boundary (``"b"junk``) as
    part of it; ``policy.default`` stops at the closing quote, and so do we.
    """

    def get_boundary(self, failobj: str | None = None) -> str | None:  # type: ignore[override]
        value = self.get("content-type")
        for chunk in _PARAM_CHUNK.findall(_FOLD.sub("", str(value or "")))[1:]:
            name, _, quoted = chunk.partition("=")
            quoted = quoted.strip()
            if name.strip().lower() == "boundary" and quoted.startswith('"'):
                close = quoted.find('"', 1)
                return (quoted[1:close] if close > 0 else quoted[1:]).rstrip() or failobj
        return super().get_boundary(failobj) or failobj  # an empty one is none at all


_PARSER = BytesParser(_class=_Part, policy=policy.compat32)
CRLF = b"\r\n"

_T = TypeVar("_T")


def _safely(defects: list[str], what: str, func: Callable[[], _T], default: _T) -> _T:
    try:
        return func()
    except Exception as exc:  # noqa: BLE001 - the parser's contract is to never raise
        defects.append(f"{what}: could not be decoded ({type(exc).__name__})")
        return default


def _blank(received_at: datetime | None) -> ParsedMessage:
    return ParsedMessage(
        subject="",
        from_=None,
        to=[],
        cc=[],
        reply_to=[],
        date=_aware(received_at),
        date_is_fallback=True,
        message_id="",
        in_reply_to="",
        references=[],
        text_body="",
        html_body="",
        attachments=[],
        defects=[],
    )


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return _to_bytes(raw)
    return b""


def _header_end(raw: bytes) -> int:
    """Offset just past the blank line that ends the header block (len(raw) if none)."""
    if raw.startswith((b"\r\n", b"\n")):
        return 0
    end = _blank_line_end(raw, 0, len(raw))
    return len(raw) if end < 0 else end


def _blank_line_end(raw: bytes, start: int, end: int) -> int:
    """Offset just past the first blank line (CRLF or LF) in raw[start:end], or -1.

    The second search stops where the first one matched, so a CRLF message does not
    scan its whole body (megabytes of base64) for a bare LF LF it does not have.
    """
    found = raw.find(b"\n\r\n", start, end)
    limit = end if found < 0 else found + 1  # "\n\n\r\n": the LF LF ends first
    bare = raw.find(b"\n\n", start, limit)
    if bare >= 0:
        return bare + 2
    return -1 if found < 0 else found + 3


def parse_headers(raw: bytes, received_at: datetime | None = None) -> ParsedMessage:
    """Parse only the header block; bodies and attachments stay empty."""
    raw = _as_bytes(raw)
    result = _blank(received_at)
    try:
        msg = _PARSER.parsebytes(raw[: _header_end(raw)], headersonly=True)
    except Exception as exc:  # noqa: BLE001 - never raise; report instead
        result.defects.append(f"message: headers could not be parsed ({type(exc).__name__})")
        return result
    _collect_defects(msg, "message", result.defects)
    _fill_headers(result, _header_map(msg))
    return result


def parse_message(raw: bytes, received_at: datetime | None = None) -> ParsedMessage:
    """Parse a complete message. Never raises; problems are listed in ``defects``."""
    raw = _as_bytes(raw)
    msg = _fast_split(raw)
    if msg is not None:
        result = _blank(received_at)
        headers = _header_map(msg)
        hint = _fill_headers(result, headers)
        _Walker(result, hint).walk(msg, headers)
        return result
    return _parse_message_stdlib(raw, received_at)


def _parse_message_stdlib(raw: bytes, received_at: datetime | None = None) -> ParsedMessage:
    """parse_message via the stdlib parser for the whole message (the reference path)."""
    try:
        msg = _PARSER.parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurd nesting
        result = parse_headers(raw, received_at)
        result.defects.append(
            f"message: MIME structure could not be parsed ({type(exc).__name__}); "
            "body kept as plain text"
        )
        text, defect = decode_charset(raw[_header_end(raw) :], None)
        result.text_body = _normalise_body(text)
        if defect:
            result.defects.append(f"message: {defect}")
        return result
    result = _blank(received_at)
    headers = _header_map(msg)
    hint = _fill_headers(result, headers)
    _Walker(result, hint).walk(msg, headers)
    return result


# ------------------------------------------------------------------ fast MIME splitter
#
# The stdlib FeedParser splits the whole body into line strings, which for a large
# base64 attachment means millions of objects and several copies of the message.
# For well-formed messages the splitter below produces the very same Message tree
# (headers parsed by the stdlib parser from each header block only; payloads stored
# as the bytes the stdlib would have stored) with bytes.find on the boundaries. It
# returns None - and parse_message falls back to the stdlib - whenever anything is
# unusual: a header defect, bare CR line breaks, a missing start or close boundary,
# a multipart without boundary or with a transfer encoding, message/* or digest
# parts, empty parts, non-ASCII boundaries, nesting deeper than FAST_PATH_MAX_DEPTH.
# It is used for messages of every size: on a small one it still saves a third of
# the time (the stdlib parser feeds every line through a generator).

FAST_PATH_MAX_DEPTH = 20
_BOUNDARY_REST = re.compile(rb"(--)?[ \t]*(\r\n|\n|\Z)")
_BARE_CR = re.compile(rb"\r(?!\n)")  # a third of the time of comparing two counts


class _Unusual(Exception):
    """Raised inside the splitter to request the stdlib path."""


def _fast_split(raw: bytes) -> Message | None:
    try:
        # A bare CR is a line break to the stdlib parser; keep it simple and let it decide.
        if _BARE_CR.search(raw):
            return None
        return _split_part(raw, 0, len(raw), (), 0)
    except Exception:  # noqa: BLE001 - anything odd: the stdlib path decides
        return None


def _part_header_end(raw: bytes, start: int, end: int) -> int:
    if raw.startswith(b"\r\n", start, end):
        return start + 2
    if raw.startswith(b"\n", start, end):
        return start + 1
    found = _blank_line_end(raw, start, end)
    if found < 0:
        raise _Unusual("no end of headers")
    return found


def _split_part(
    raw: bytes, start: int, end: int, boundaries: tuple[bytes, ...], depth: int
) -> Message:
    if depth > FAST_PATH_MAX_DEPTH:
        raise _Unusual("too deep")
    body_start = _part_header_end(raw, start, end)
    msg = _PARSER.parsebytes(raw[start:body_start], headersonly=True)
    if msg.defects:
        raise _Unusual("header defects")
    ctype = msg.get_content_type()
    maintype = ctype.partition("/")[0]
    if maintype == "message" or ctype == "multipart/digest":
        raise _Unusual("message part")
    if maintype != "multipart":
        payload = raw[body_start:end]
        if depth:
            # The line break before a boundary belongs to the boundary.
            if payload.endswith(b"\r\n"):
                payload = payload[:-2]
            elif payload.endswith(b"\n"):
                payload = payload[:-1]
        msg._payload = payload
        return msg
    boundary = msg.get_boundary()
    if not boundary or not boundary.isascii():
        raise _Unusual("no usable boundary")
    if str(msg.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit", "binary"):
        raise _Unusual("encoded multipart")
    separator = b"--" + boundary.encode("ascii")
    if separator in boundaries:
        raise _Unusual("boundary reused")
    # Offsets of every boundary line (start, end incl. line break, is-close).
    lines: list[tuple[int, int, bool]] = []
    pos = body_start
    while True:
        found = raw.find(separator, pos, end)
        if found < 0:
            raise _Unusual("no close boundary")
        pos = found + len(separator)
        if found != body_start and raw[found - 1] != 0x0A:
            continue
        rest = _BOUNDARY_REST.match(raw, pos, end)
        if rest is None:
            continue
        is_close = bool(rest.group(1))
        if is_close and not lines:
            raise _Unusual("close before start")
        lines.append((found, rest.end(), is_close))
        if is_close:
            break
        pos = rest.end()
    children: list[Message] = []
    inner = (*boundaries, separator)
    for (_, part_start, _), (next_start, _, _) in zip(lines, lines[1:], strict=False):
        if part_start >= next_start:
            raise _Unusual("empty part")
        child = _split_part(raw, part_start, next_start, inner, depth + 1)
        children.append(child)
    if not children:
        raise _Unusual("no parts")
    msg._payload = children
    return msg


def _fill_headers(result: ParsedMessage, headers: dict[str, str]) -> str | None:
    defects = result.defects
    hint = _safely(
        defects,
        "Content-Type charset",
        lambda: _hint_codec(_structured(headers.get("content-type"), None)[1].get("charset")),
        None,
    )
    result.subject = _safely(
        defects, "Subject", lambda: _decode_header(headers.get("subject"), hint, defects), ""
    )

    def addresses(name: str) -> list[Address]:
        return _safely(defects, name, lambda: _parse_addresses(headers.get(name), hint), [])

    senders = addresses("from") or addresses("sender")
    result.from_ = senders[0] if senders else None
    result.to = addresses("to")
    result.cc = addresses("cc")
    result.reply_to = addresses("reply-to")
    date = _safely(defects, "Date", lambda: _parse_date(headers.get("date")), None)
    if date is not None:
        result.date, result.date_is_fallback = date, False
    elif headers.get("date"):
        defects.append("Date: unparseable; using the time the message was received")
    ids = _safely(defects, "Message-ID", lambda: _message_ids(headers.get("message-id")), [])
    result.message_id = ids[0] if ids else ""
    ids = _safely(defects, "In-Reply-To", lambda: _message_ids(headers.get("in-reply-to")), [])
    result.in_reply_to = ids[0] if ids else ""
    result.references = _safely(
        defects, "References", lambda: _message_ids(headers.get("references")), []
    )
    return hint


_DEFECT_WORDS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _collect_defects(part: Message, where: str, defects: list[str]) -> None:
    for defect in getattr(part, "defects", ()):
        words = _DEFECT_WORDS.sub(" ", type(defect).__name__.removesuffix("Defect")).lower()
        detail = str(defect)
        defects.append(f"{where}: {words}" + (f" ({detail})" if detail else ""))


_B64_VALID = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_B64_INVALID = bytes(b for b in range(256) if b not in _B64_VALID)
_B64_VALID_OR_SPACE = _B64_VALID + b" \t\r\n"


def _b64decode(data: bytes) -> tuple[bytes, str | None]:
    """Lenient base64: ignore junk, repair padding, keep every decodable byte."""
    problems: list[str] = []
    if data.translate(None, _B64_VALID_OR_SPACE):
        problems.append("invalid characters ignored")
    else:
        # Fast path for clean data with "=" only as final padding: the non-strict C decoder
        # skips the line breaks itself, without the copies made below. Anything it rejects
        # (bad padding, a dangling character) takes the careful path.
        pad = data.find(b"=")
        if pad < 0 or data[pad:].translate(None, b" \t\r\n") in (b"=", b"=="):
            try:
                # pybase64's SIMD decoder: five times binascii's speed on attachments.
                return pybase64.b64decode(data, validate=False), None
            except binascii.Error:
                pass
    clean = data.translate(None, _B64_INVALID)
    # Some mailers glue separately padded chunks together; decode each chunk.
    chunks = clean.split(b"=") if b"=" in clean.rstrip(b"=") else [clean.rstrip(b"=")]
    out: list[bytes] = []
    for chunk in chunks:
        if not chunk:
            continue
        if len(chunk) % 4 == 1:
            problems.append("truncated final character dropped")
            chunk = chunk[:-1]
        try:
            out.append(binascii.a2b_base64(chunk + b"=" * (-len(chunk) % 4)))
        except binascii.Error:  # pragma: no cover - the input is cleaned above
            problems.append("undecodable chunk kept as is")
            out.append(chunk)
    return b"".join(out), ("invalid base64: " + ", ".join(problems)) if problems else None


def _raw_payload(part: Message) -> bytes:
    # get_payload(decode=False) re-decodes 8-bit text lossily, so read what the parser stored.
    payload = part._payload
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return _to_bytes(payload)
    return b""


def _transfer_decode(data: bytes, cte: str | None, where: str, defects: list[str]) -> bytes:
    encoding = (decode_header_text(cte).lower().split() or [""])[0].strip(";")
    if encoding == "base64":
        decoded, defect = _b64decode(data)
        if defect:
            defects.append(f"{where}: {defect}")
        return decoded
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding not in ("", "7bit", "8bit", "binary", "7-bit", "8-bit"):
        defects.append(f"{where}: unknown transfer encoding {encoding!r}; kept undecoded")
    return data


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


def _serialise(msg: Message) -> bytes:
    """Bytes of a parsed (sub)message, as close to the original as the parser allows.

    Used for message/rfc822 attachments instead of ``as_bytes()``: the stdlib generator
    recurses per MIME level and re-decodes 8-bit text in broken multiparts, then fails
    to encode it. This writes the stored raw headers and payloads back iteratively.
    """
    out = bytearray()
    stack: list[Message | bytes] = [msg]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out += item
            continue
        for name, value in item.raw_items():
            out += _to_bytes(f"{name}: {value}") + CRLF
        out += CRLF
        payload = item._payload
        if not isinstance(payload, list):
            out += _raw_payload(item)
            continue
        children = [child for child in payload if isinstance(child, Message)]
        boundary = item.get_boundary() if item.get_content_maintype() == "multipart" else None
        pieces: list[Message | bytes] = []
        if boundary is None:  # message/rfc822 and friends: the parts follow one another
            for child in children:
                pieces += [child, CRLF]
            pieces = pieces[:-1]
        else:
            delimiter = _to_bytes(f"--{boundary}")
            if item.preamble is not None:
                pieces.append(_to_bytes(item.preamble) + CRLF)
            for index, child in enumerate(children):
                pieces += [(CRLF if index else b"") + delimiter + CRLF, child]
            pieces.append(CRLF + delimiter + b"--" + CRLF)
            if item.epilogue is not None:
                pieces.append(_to_bytes(item.epilogue))
        stack.extend(reversed(pieces))
    return bytes(out)


def _normalise_body(text: str) -> str:
    text = text.removeprefix("\ufeff")  # a BOM would lead every snippet
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    return text


_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/x-hwp": ".hwp",
    "application/haansofthwp": ".hwp",
    "application/vnd.hancom.hwp": ".hwp",
    "application/rtf": ".rtf",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/ms-tnef": ".dat",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/svg+xml": ".svg",
    "image/tiff": ".tif",
    "image/heic": ".heic",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/rtf": ".rtf",
    "message/rfc822": ".eml",
    "message/global": ".eml",
}


def _extension(content_type: str) -> str:
    ext = _EXTENSIONS.get(content_type)
    if ext:
        return ext
    return ".txt" if content_type.startswith(("text/", "message/")) else ".bin"


_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


def _clean_id(value: str | None) -> str:
    text = "".join(decode_header_text(value).split())
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text.strip("<>")


@dataclass(frozen=True, slots=True)
class _Context:
    path: str  # "" for the root, else "1.2" (IMAP-style section numbers)
    parent_subtype: str  # subtype of the enclosing multipart, "" at the root
    in_related: bool
    # (path, branch index) of every enclosing multipart/alternative, outermost first.
    alts: tuple[tuple[str, int], ...]

    @property
    def where(self) -> str:
        return f"part {self.path}" if self.path else "message"

    def child(self, index: int, subtype: str) -> _Context:
        path = f"{self.path}.{index}" if self.path else str(index)
        alts = (*self.alts, (self.path, index)) if subtype == "alternative" else self.alts
        return _Context(path, subtype, self.in_related or subtype == "related", alts)


class _Walker:
    """Iterative depth-first walk (no recursion limit) sorting parts into bodies/attachments."""

    def __init__(self, result: ParsedMessage, hint: str | None) -> None:
        self.result = result
        self.defects = result.defects
        self.hint = hint
        self.text: list[str] = []
        self.html: list[str] = []
        # (alternative path, body kind) -> branch of that alternative which supplied it.
        self.alt_owner: dict[tuple[str, str], int] = {}

    def walk(self, root: Message, root_headers: dict[str, str]) -> None:
        stack: list[tuple[Message, _Context]] = [(root, _Context("", "", False, ()))]
        while stack:
            part, ctx = stack.pop()
            try:
                headers = root_headers if part is root else _header_map(part)
                children = self._visit(part, headers, ctx)
            except Exception as exc:  # noqa: BLE001 - one bad part must not lose the rest
                self.defects.append(f"{ctx.where}: could not be processed ({type(exc).__name__})")
                children = self._salvage(part, ctx)
            stack.extend(reversed(children))
        self.result.text_body = "\n\n".join(self.text)
        self.result.html_body = "\n".join(self.html)

    def _visit(
        self, part: Message, headers: dict[str, str], ctx: _Context
    ) -> list[tuple[Message, _Context]]:
        _collect_defects(part, ctx.where, self.defects)
        ctype = part.get_content_type()
        if not _MIME_TYPE.fullmatch(ctype):
            ctype = "application/octet-stream"  # it ends up in HTTP headers; keep it a token
        if not part.is_multipart():
            self._leaf(part, ctype, headers, ctx)
            return []
        if ctype.startswith("message/"):
            self._message_attachment(part, ctype, headers, ctx)
            return []
        subtype = ctype.partition("/")[2]
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        return [(child, ctx.child(i, subtype)) for i, child in enumerate(children, 1)]

    def _leaf(self, part: Message, ctype: str, headers: dict[str, str], ctx: _Context) -> None:
        disposition, disp_params = _structured(headers.get("content-disposition"), self.hint)
        _, type_params = _structured(headers.get("content-type"), self.hint)
        filename = disp_params.get("filename") or type_params.get("name") or ""
        cte = headers.get("content-transfer-encoding")
        payload = _transfer_decode(_raw_payload(part), cte, ctx.where, self.defects)
        if ctype.startswith("multipart/"):
            self.defects.append(
                f"{ctx.where}: multipart body without a usable boundary; kept as text"
            )
            ctype = "text/plain"
        kind = ctype[5:] if ctype in ("text/plain", "text/html") else ""
        # A single-part message is its own body even if the sender gave it a filename.
        if kind and disposition != "attachment" and (not filename or not ctx.path):
            decision = self._body_decision(kind, ctx)
            if decision == "drop":
                return
            if decision == "take":
                self._add_body(kind, payload, type_params.get("charset"), ctx)
                return
        cid = _clean_id(headers.get("content-id"))
        # Only images are shown inside the body; an "inline" PDF must still count as attachment.
        inline = ctype.startswith("image/") and (
            disposition == "inline" or (bool(cid) and ctx.in_related)
        )
        self._add_attachment(filename, filename, ctype, cid, inline, payload)

    def _body_decision(self, kind: str, ctx: _Context) -> str:
        owners = [self.alt_owner.get((path, kind)) for path, _ in ctx.alts]
        if any(
            o is not None and o != branch for o, (_, branch) in zip(owners, ctx.alts, strict=True)
        ):
            return "drop"  # another rendering of a body this alternative already gave
        target = self.text if kind == "plain" else self.html
        new_group = bool(ctx.alts) and all(o is None for o in owners)
        if target and ctx.parent_subtype != "mixed" and not new_group:
            return "attach"
        for path, branch in ctx.alts:
            self.alt_owner.setdefault((path, kind), branch)
        return "take"

    def _add_body(self, kind: str, payload: bytes, charset: str | None, ctx: _Context) -> None:
        if kind == "html" and not charset and not payload.isascii():
            match = _META_CHARSET.search(payload, 0, 4096)
            charset = match.group(1).decode("ascii") if match else None
        text, defect = decode_charset(payload, charset)
        if defect:
            self.defects.append(f"{ctx.where}: {defect}")
        (self.text if kind == "plain" else self.html).append(_normalise_body(text))

    def _message_attachment(
        self, part: Message, ctype: str, headers: dict[str, str], ctx: _Context
    ) -> None:
        subs = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        data = CRLF.join(_serialise(sub) for sub in subs)
        subject = ""
        cte = decode_header_text(headers.get("content-transfer-encoding")).lower()
        if cte.startswith(("base64", "quoted-printable")):
            # Not allowed by RFC 2046 but seen: the parser read encoded text as a message.
            data = _transfer_decode(data.lstrip(b"\r\n"), cte, ctx.where, self.defects)
            subject = parse_headers(data).subject
        elif subs:
            subject = _decode_header(_header_map(subs[0]).get("subject"), self.hint)
        disposition_params = _structured(headers.get("content-disposition"), self.hint)[1]
        type_params = _structured(headers.get("content-type"), self.hint)[1]
        filename = disposition_params.get("filename") or type_params.get("name") or ""
        disk_name = filename
        if not filename and subject and ctype in ("message/rfc822", "message/global"):
            filename = f"{subject}.eml"
            disk_name = filename.replace("/", "_").replace("\\", "_")  # a subject is no path
        self._add_attachment(filename, disk_name, ctype, "", False, data)

    def _add_attachment(
        self, filename: str, disk_name: str, ctype: str, cid: str, inline: bool, payload: bytes
    ) -> None:
        index = len(self.result.attachments) + 1
        generated = f"attachment-{index}{_extension(ctype)}"
        attachment = Attachment(
            filename=filename,
            safe_name=safe_filename(disk_name, default=generated) if disk_name else generated,
            content_type=ctype,
            content_id=cid,
            inline=inline,
            payload=payload,
        )
        self.result.attachments.append(attachment)

    def _salvage(self, part: Message, ctx: _Context) -> list[tuple[Message, _Context]]:
        """Keep whatever a failed part holds: its children, or its raw bytes as an attachment."""
        payload = getattr(part, "_payload", None)
        if isinstance(payload, list):
            children = [c for c in payload if isinstance(c, Message)]
            return [(child, ctx.child(i, "mixed")) for i, child in enumerate(children, 1)]
        data = _raw_payload(part)
        if data:
            self._add_attachment("", "", "application/octet-stream", "", False, data)
        return []


# --------------------------------------------------------------------------- filenames

_PATH_SEPARATORS = re.compile(r"[\\/]")
_ASCII_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_WINDOWS_ILLEGAL = str.maketrans(dict.fromkeys('<>:"|?*', "_"))
_KEEP_FORMAT_CHARS = frozenset("\u200c\u200d")  # ZWNJ/ZWJ are needed by Persian and emoji
_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"]
)


def safe_filename(name: str, default: str = "attachment") -> str:
    """A name that is safe on POSIX and Windows disks and in HTTP headers; never empty."""
    cleaned = _clean_filename(name) if name else ""
    return cleaned or _clean_filename(default) or "attachment"


def _clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", str(name))
    if name.isascii():
        name = _ASCII_CONTROLS.sub("", name)
    else:
        # Controls, bidi overrides ("gpj.exe" spoofing), zero-width and surrogate characters.
        name = "".join(
            ch
            for ch in name
            if unicodedata.category(ch) not in ("Cc", "Cf", "Cs") or ch in _KEEP_FORMAT_CHARS
        )
    parts = [p for p in _PATH_SEPARATORS.split(name) if p.strip()]
    name = parts[-1] if parts else ""
    name = " ".join(name.translate(_WINDOWS_ILLEGAL).split())
    # No hidden files or "..", and Windows silently drops trailing dots and spaces.
    name = name.strip(". ")
    if name.split(".", 1)[0].rstrip().upper() in _RESERVED_NAMES:
        name = "_" + name
    if len(name) > MAX_FILENAME_CHARS or len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        name = _truncate_filename(name)
    return name


def _truncate_filename(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16 or " " in ext:
        stem, ext = name, ""
    else:
        ext = "." + ext
    stem = stem[: MAX_FILENAME_CHARS - len(ext)]
    room = MAX_FILENAME_BYTES - len(ext.encode("utf-8"))
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
    return stem.rstrip(". ") + ext


# ------------------------------------------------------------------------- html to text

_TAG_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9:-]*)")
_RAW_TEXT_END = {
    tag: re.compile(rf"</{tag}\b", re.I) for tag in ("script", "style", "title", "template")
}
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody tfoot thead tr ul".split()
)
_NON_SPACE = re.compile(r"\S+")


def html_to_text(markup: str, max_chars: int | None = None) -> str:
    """Visible text of an HTML document, entities unescaped; script/style/title dropped.

    A single linear scan (str.find only moves forward), so hostile markup cannot make it
    quadratic. With ``max_chars`` it stops reading early and returns at most that much.
    """
    out: list[str] = []
    budget = None if max_chars is None else max_chars * 10 + 64  # entities shrink text
    collected = 0
    find = markup.find
    pos, end = 0, len(markup)
    while pos < end:
        lt = find("<", pos)
        if lt < 0:
            lt = end
        if lt > pos:
            chunk = markup[pos:lt]
            out.append(chunk)
            if budget is not None:
                collected += len(chunk.strip())
                if collected >= budget:
                    break
        if lt >= end:
            break
        if markup.startswith("<!--", lt):
            close = find("-->", lt + 4)
            pos = end if close < 0 else close + 3
            continue
        if markup.startswith(("<!", "<?"), lt):
            close = find(">", lt)
            pos = end if close < 0 else close + 1
            continue
        match = _TAG_NAME.match(markup, lt + 1)
        if not match:
            out.append("<")  # a literal "<", as in "a < b"
            pos = lt + 1
            continue
        close = find(">", match.end())
        if close < 0:
            break
        pos = close + 1
        tag = match.group(1).lower()
        if tag in _BLOCK_TAGS:
            if out and out[-1] != "\n":
                out.append("\n")  # "</div><div>" is one line break, not two
        elif tag in ("td", "th"):
            out.append(" ")
        closing = markup[lt + 1] == "/"
        if not closing and tag in _RAW_TEXT_END and markup[close - 1] != "/":
            found = _RAW_TEXT_END[tag].search(markup, pos)
            if found is None:
                break
            close = find(">", found.end())
            pos = end if close < 0 else close + 1
    lines: list[str] = []
    for line in html.unescape("".join(out)).split("\n"):
        line = " ".join(line.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    text = "\n".join(lines).strip()
    return text if max_chars is None else text[:max_chars]


def _collapse_whitespace(text: str, length: int) -> str:
    words: list[str] = []
    total = 0
    for match in _NON_SPACE.finditer(text):
        words.append(match.group())
        total += len(words[-1]) + 1
        if total > length:
            break
    return " ".join(words)[:length].rstrip()
