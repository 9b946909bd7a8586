"""Outlook's winmail.dat (``application/ms-tnef``): the files and the body inside it.

Read with tnefparse (pure Python); compressed RTF bodies are decompressed by
compressed_rtf (tnefparse's own optional helper) and shown as text via striprtf.
Nothing here raises on bad data: :func:`read` returns None for what it cannot read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from striprtf.striprtf import rtf_to_text
from tnefparse import TNEF

from .charsets import guess_8bit

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef", "application/x-tnef"})
SIGNATURE = b"\x78\x9f\x3e\x22"
_LONG_FILENAME = 0x3707  # PR_ATTACH_LONG_FILENAME
_MAX_RTF_CHARS = 2_000_000

# tnefparse logs every unknown property and checksum at WARNING: noise for a mail server.
logging.getLogger("tnefparse").setLevel(logging.ERROR)


@dataclass
class TnefFile:
    name: str
    data: bytes = field(repr=False)


@dataclass
class TnefContent:
    files: list[TnefFile]
    html: str = ""
    text: str = ""
    defects: list[str] = field(default_factory=list)


def is_tnef(content_type: str, filename: str, payload: bytes) -> bool:
    """A TNEF part by its type, or a ``winmail.dat`` sent as a generic type."""
    if content_type in TNEF_TYPES:
        return True
    return filename.strip().lower() == "winmail.dat" and payload.startswith(SIGNATURE)


def read(payload: bytes) -> TnefContent | None:
    """The files and body inside a TNEF stream, or None if it is no readable TNEF."""
    try:
        # Checksums are checked (a sum over the bytes, a few ms per MB) to report a
        # damaged stream; what it holds is still read.
        tnef = TNEF(payload, do_checksum=True)
    except Exception:  # noqa: BLE001 - a broken winmail.dat stays an opaque attachment
        return None
    codepage = tnef.codepage or "cp1252"
    content = TnefContent(files=[])
    damaged = sum(1 for obj in tnef.objects if not obj.good_checksum)
    if damaged:
        content.defects.append(
            f"winmail.dat: {damaged} attribute(s) with a wrong checksum; read as they are"
        )
    for index, attachment in enumerate(tnef.attachments, 1):
        data = attachment.data
        if not isinstance(data, bytes) or not data:
            continue
        name = _name(attachment, codepage) or f"attachment-{index}"
        content.files.append(TnefFile(name, data))
    content.html = _text(tnef.htmlbody, codepage)
    content.text = _text(tnef.body, codepage)
    if not content.html and not content.text and getattr(tnef, "_rtfbody", None):
        content.text = _rtf_text(tnef, content.defects)
    return content


def _name(attachment: object, codepage: str) -> str:
    """The Unicode long file name if there is one, else the short (8.3) title."""
    for attr in getattr(attachment, "mapi_attrs", ()):
        if attr.name == _LONG_FILENAME:
            try:
                text = _text(attr.data, codepage).strip("\x00 ")
            except Exception:  # noqa: BLE001 - an unreadable long name: the title instead
                text = ""
            if text:
                return text
    return _text(getattr(attachment, "_name", b""), codepage).strip("\x00 ")


def _text(value: object, codepage: str) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, bytes):
        # UTF-8 when it is valid (HTML bodies usually are), else the stream's code page.
        return guess_8bit(value.rstrip(b"\x00"), codepage)[0].replace("\x00", "")
    return ""


def _rtf_text(tnef: object, defects: list[str]) -> str:
    try:
        rtf = tnef.rtfbody  # type: ignore[attr-defined]  # decompressed by compressed_rtf
        if isinstance(rtf, bytes):
            rtf = rtf.decode("latin-1")
        if not rtf.startswith("{\\rtf"):
            raise ValueError("not RTF")
        text = rtf_to_text(rtf[:_MAX_RTF_CHARS], errors="replace")
    except Exception as exc:  # noqa: BLE001 - the files inside still count
        defects.append(f"winmail.dat: the RTF body could not be read ({type(exc).__name__})")
        return ""
    return text.replace("\r\n", "\n").replace("\x00", "")
