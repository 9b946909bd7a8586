"""uuencode: ``x-uuencode`` transfer encodings and ``begin 644 name`` blocks in text.

Decoded with :mod:`binascii` (the ``uu`` module is gone from Python 3.13), line by
line, forgiving encoders that pad lines differently (spaces for backquotes, missing
or extra characters at a line's end), as the old ``uu`` module did.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

TRANSFER_ENCODINGS = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})

# "begin 644 name" ... "end" (an optional "`" or " " line before "end").
_BEGIN = re.compile(r"^begin +([0-7]{3,4}) +(\S[^\r\n]*?)[ \t]*\r?$", re.M)
_END = re.compile(r"^end[ \t]*\r?$", re.M)
# A uuencoded line: its length character then 4-character groups of the uu alphabet.
_UU_LINE = re.compile(r"^[\x20-\x60]{1,90}\r?$")


@dataclass(frozen=True)
class UUFile:
    name: str
    data: bytes
    start: int  # the block's span in the text it was found in
    end: int


def decode_lines(lines: list[bytes]) -> bytes:
    """The bytes of uuencoded lines (without their begin/end lines)."""
    out = bytearray()
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Broken encoders: trust the length character, drop what is beyond it.
            count = ((line[0] - 32) & 63) * 4 + 5
            try:
                out += binascii.a2b_uu(line[: count // 3])
            except binascii.Error:
                continue
    return bytes(out)


def decode_part(data: bytes) -> tuple[str, bytes]:
    """A part whose transfer encoding is uuencode: (name from its begin line, bytes).

    A part without a begin line is decoded whole (some mailers leave it out)."""
    lines = data.splitlines()
    name = ""
    for index, line in enumerate(lines):
        match = _BEGIN.match(line.decode("latin-1"))
        if match:
            name = match.group(2)
            lines = lines[index + 1 :]
            break
    body: list[bytes] = []
    for line in lines:
        if line.strip() == b"end":
            break
        body.append(line)
    return name, decode_lines(body)


def find_blocks(text: str) -> list[UUFile]:
    """Complete ``begin NNN name`` … ``end`` blocks inside a text body, in order.

    A block counts only if every line between begin and end is a uuencoded line, so
    prose that happens to start with "begin 644" stays prose."""
    found: list[UUFile] = []
    pos = 0
    while (begin := _BEGIN.search(text, pos)) is not None:
        end = _END.search(text, begin.end())
        if end is None:
            break
        inner = text[begin.end() : end.start()].strip("\r\n")
        lines = inner.splitlines()
        if not lines or not all(_UU_LINE.match(line) for line in lines if line):
            pos = begin.end()
            continue
        data = decode_lines([line.encode("latin-1") for line in lines])
        found.append(UUFile(begin.group(2), data, begin.start(), end.end()))
        pos = end.end()
    return found


def without_blocks(text: str, blocks: list[UUFile]) -> str:
    """``text`` with the blocks cut out (the text around them kept)."""
    out: list[str] = []
    pos = 0
    for block in blocks:
        out.append(text[pos : block.start])
        pos = block.end + 1 if text.startswith("\n", block.end) else block.end
    out.append(text[pos:])
    return "".join(out)
