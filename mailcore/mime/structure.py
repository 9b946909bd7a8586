"""From bytes to a tree of :class:`email.message.Message` parts, and back to bytes.

Two ways in: the standard library's parser (with ``compat32`` and a lenient boundary
reader), and a fast splitter that finds the boundaries with ``bytes.find`` and hands
only header blocks to the standard library. Payloads are stored as the raw bytes
between the boundaries (the line break before a boundary belongs to the boundary),
which :func:`raw_payload` reads; ``message/*`` parts stay opaque leaves, so their
bytes too are a slice of the message, never a re-serialisation.
"""

from __future__ import annotations

import re
from email import errors, policy
from email.message import Message
from email.parser import BytesParser

from .headers import FOLD, PARAM_CHUNK, to_bytes

_OPAQUE = "x-opaque-"


class _Part(Message):
    """A parsed part whose boundary is read as leniently as ``policy.default`` reads it.

    The parser runs with ``compat32``: ``policy.default`` builds a header object on
    every lookup, which was a third of the parse time, and we only ever read raw
    header values. compat32 keeps junk after a quoted boundary (``"b"junk``) as
    part of it; ``policy.default`` stops at the closing quote, and so do we.

    ``message/*`` parts are leaves to the parser: ``get_content_type`` hides their
    type from it (the stdlib would parse them into sub-messages, which can only be
    written back re-serialised), so their payload is the exact octets between their
    boundaries. Read a part's real type with :func:`content_type`.
    """

    def get_content_type(self) -> str:
        ctype = super().get_content_type()
        return _OPAQUE + ctype if ctype.startswith("message/") else ctype

    def get_boundary(self, failobj: str | None = None) -> str | None:  # type: ignore[override]
        value = self.get("content-type")
        for chunk in PARAM_CHUNK.findall(FOLD.sub("", str(value or "")))[1:]:
            name, _, quoted = chunk.partition("=")
            quoted = quoted.strip()
            if name.strip().lower() == "boundary" and quoted.startswith('"'):
                close = quoted.find('"', 1)
                return (quoted[1:close] if close > 0 else quoted[1:]).rstrip() or failobj
        return super().get_boundary(failobj) or failobj  # an empty one is none at all


PARSER = BytesParser(_class=_Part, policy=policy.compat32)
CRLF = b"\r\n"


def content_type(part: Message) -> str:
    """The real lowercased ``maintype/subtype`` of a part (``message/*`` included)."""
    return Message.get_content_type(part)


def as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return to_bytes(raw)
    return b""


_HEADER_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
_LINES = re.compile(rb"[^\n]*\n|[^\n]+")


def skip_colonless_lines(block: bytes) -> tuple[bytes, int]:
    """``block`` without the lines that have no colon but are followed by header fields.

    Such a line does not end the header block (Thunderbird and Gmail read on, so the
    Message-ID, Subject and Date after it are kept); a line without a colon that is not
    followed by a field starts the body, as RFC 5322 parsers read it. Returns the
    block and how many lines were skipped.
    """
    if b"\n" not in block:
        return block, 0
    lines = _LINES.findall(block)
    kept: list[bytes] = []
    skipped = 0
    for index, line in enumerate(lines):
        if (
            index
            and line[:1] not in b" \t"
            and line.strip()
            and not _HEADER_FIELD.match(line)
            and index + 1 < len(lines)
            and _HEADER_FIELD.match(lines[index + 1])
        ):
            skipped += 1
            continue
        if not line.strip():
            kept.extend(lines[index:])
            break
        kept.append(line)
    return (b"".join(kept), skipped) if skipped else (block, 0)


def parse_header_block(block: bytes) -> Message:
    """The stdlib's reading of a header block, lines without a colon skipped first
    (:func:`skip_colonless_lines`); ``skipped_lines`` on the result counts them."""
    block, skipped = skip_colonless_lines(block)
    msg = PARSER.parsebytes(block, headersonly=True)
    msg.skipped_lines = skipped  # type: ignore[attr-defined]
    return msg


def reread_colonless_parts(root: Message) -> None:
    """Undo the stdlib's reading of a colon-less header line inside a part.

    The stdlib ends a part's headers at such a line and keeps the rest as its body;
    a leaf part whose "body" starts with that line followed by header fields and a
    blank line is re-read with :func:`skip_colonless_lines`, as the fast splitter
    reads it. The part's body is still the same slice of the message.
    """
    stack = [root]
    while stack:
        part = stack.pop()
        children = part._payload
        if not isinstance(children, list):
            continue
        for index, child in enumerate(children):
            if not isinstance(child, Message):
                continue
            if isinstance(child._payload, str) and any(
                isinstance(d, errors.MissingHeaderBodySeparatorDefect) for d in child.defects
            ):
                children[index] = child = _reread(child)
            stack.append(child)


def _reread(part: Message) -> Message:
    payload = to_bytes(part._payload)
    end = _blank_line_end(payload, 0, len(payload))
    if end < 0:
        return part
    fields = b"".join(to_bytes(f"{name}: {value}") + CRLF for name, value in part.raw_items())
    block, skipped = skip_colonless_lines(fields + payload[:end])
    if not skipped:
        return part
    reread = PARSER.parsebytes(block + payload[end:])
    reread.skipped_lines = skipped  # type: ignore[attr-defined]
    return reread


def header_end(raw: bytes) -> int:
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


def fast_split(raw: bytes) -> Message | None:
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
    msg = parse_header_block(raw[start:body_start])
    if msg.defects:
        raise _Unusual("header defects")
    ctype = content_type(msg)
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


_DEFECT_WORDS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def collect_defects(part: Message, where: str, defects: list[str]) -> None:
    skipped = getattr(part, "skipped_lines", 0)
    if skipped:
        defects.append(f"{where}: header line without a colon skipped ({skipped})")
    for defect in getattr(part, "defects", ()):
        words = _DEFECT_WORDS.sub(" ", type(defect).__name__.removesuffix("Defect")).lower()
        detail = str(defect)
        defects.append(f"{where}: {words}" + (f" ({detail})" if detail else ""))


def raw_payload(part: Message) -> bytes:
    # get_payload(decode=False) re-decodes 8-bit text lossily, so read what the parser stored.
    payload = part._payload
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return to_bytes(payload)
    return b""
