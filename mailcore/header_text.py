"""Is a value safe to put into a header we send? No controls, also not hidden in words.

A value is refused if it holds CR, LF or another C0/C1 control (TAB is allowed; also
U+2028/U+2029, which split lines), or if decoding its RFC 2047 encoded words yields
one — repeated until decoding changes nothing, so a word inside a word inside a word is
looked into as well. Adjacent words of one charset are joined before decoding, as mail
programs and the email package do, so a control split across two words is found too.
"""

from __future__ import annotations

import base64
import binascii
import re

from .mime.headers import has_control_chars

# "=?charset*lang?B|Q?payload?=", the payload possibly spanning lines (the email package
# decodes such words as well).
_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?]*)\?=")
_C0_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
MAX_ROUNDS = 10


def _payload_bytes(encoding: str, payload: str) -> bytes | None:
    raw = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in "Bb":
            raw = re.sub(rb"\s+", b"", raw)
            return base64.b64decode(raw + b"=" * (-len(raw) % 4))
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return None


def _text(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError):
        return data.decode("latin-1")  # every byte a character: C1 controls stay visible


def decode_words_once(value: str) -> tuple[str, bool]:
    """(value with its encoded words decoded, whether a decoded word held a C0 byte)."""
    out: list[str] = []
    run: list[bytes] = []
    run_charset = ""
    found_control = False
    pos = 0

    def flush() -> None:
        if run:
            out.append(_text(b"".join(run), run_charset))
            run.clear()

    for match in _WORD.finditer(value):
        gap = value[pos : match.start()]
        charset, encoding, payload = match.groups()
        data = _payload_bytes(encoding, payload)
        if data is None:  # not decodable: kept as it is
            flush()
            out.append(gap + match.group(0))
            pos = match.end()
            continue
        if _C0_BYTES.search(data):
            found_control = True
        if not (run and not gap.strip() and charset.lower() == run_charset):
            flush()
            out.append(gap)
        run_charset = charset.lower()
        run.append(data)
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out), found_control


def hides_or_holds_controls(value: str) -> bool:
    """True if ``value`` holds a control, or its encoded words (at any depth) decode to one."""
    for _ in range(MAX_ROUNDS):
        if has_control_chars(value):
            return True
        decoded, found_control = decode_words_once(value)
        if found_control:
            return True
        if decoded == value:
            return False
        value = decoded
    return True  # still changing: deeper than any honest value
