"""Build winmail.dat (TNEF) streams the way Outlook writes them, for tests.

Only what the parser reads: the version and code page, the message's MAPI properties
(plain, HTML or compressed-RTF body) and attachments with their 8.3 title, their data
and, optionally, their Unicode long file name (PR_ATTACH_LONG_FILENAME).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from compressed_rtf import compress

SIGNATURE = 0x223E9F78
LVL_MESSAGE, LVL_ATTACHMENT = 1, 2
PT_UNICODE, PT_BINARY, PT_STRING8 = 0x001F, 0x0102, 0x001E
PR_BODY_HTML, PR_RTF_COMPRESSED, PR_BODY = 0x1013, 0x1009, 0x1000
PR_ATTACH_LONG_FILENAME = 0x3707


def _object(level: int, name: int, kind: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def _mapi(props: Sequence[tuple[int, int, bytes]]) -> bytes:
    """MAPI properties: (type, id, value bytes), each a single string or binary value."""
    out = struct.pack("<I", len(props))
    for kind, prop_id, value in props:
        padding = b"\x00" * (-len(value) % 4)
        out += struct.pack("<HHII", kind, prop_id, 1, len(value)) + value + padding
    return out


def build(
    files: Sequence[tuple[str, bytes]] = (),
    *,
    long_names: bool = True,
    html: str | None = None,
    rtf: str | None = None,
    text: str | None = None,
) -> bytes:
    """A TNEF stream holding ``files`` (name, bytes) and at most one kind of body."""
    out = struct.pack("<IH", SIGNATURE, 0x1234)
    out += _object(LVL_MESSAGE, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    out += _object(LVL_MESSAGE, 0x9007, 0x0006, struct.pack("<II", 1252, 0))
    out += _object(LVL_MESSAGE, 0x8008, 0x0007, b"IPM.Microsoft Mail.Note\x00")
    props: list[tuple[int, int, bytes]] = []
    if html is not None:
        props.append((PT_BINARY, PR_BODY_HTML, html.encode("utf-8")))
    if rtf is not None:
        props.append((PT_BINARY, PR_RTF_COMPRESSED, compress(rtf.encode("latin-1"))))
    if text is not None:
        props.append((PT_STRING8, PR_BODY, text.encode("cp1252") + b"\x00"))
    if props:
        out += _object(LVL_MESSAGE, 0x9003, 0x0006, _mapi(props))
    for index, (name, data) in enumerate(files, 1):
        short = f"FILE{index}~1.{name.rpartition('.')[2][:3].upper() or 'BIN'}"
        title = name if name.isascii() and not long_names else short
        out += _object(LVL_ATTACHMENT, 0x9002, 0x0006, struct.pack("<HIIIH", 1, 0, 0, 0, 0))
        out += _object(LVL_ATTACHMENT, 0x8010, 0x0001, title.encode("cp1252") + b"\x00")
        out += _object(LVL_ATTACHMENT, 0x800F, 0x0006, data)
        if long_names:
            value = name.encode("utf-16-le") + b"\x00\x00"
            out += _object(
                LVL_ATTACHMENT,
                0x9005,
                0x0006,
                _mapi([(PT_UNICODE, PR_ATTACH_LONG_FILENAME, value)]),
            )
    return out
