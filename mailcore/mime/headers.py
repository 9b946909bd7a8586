"""Header text: decoding what a message carries, and keeping what we send on one line.

Incoming values are decoded leniently (RFC 2047 encoded words, RFC 2231 parameters,
raw 8-bit bytes) and never raise; addresses and message ids are salvaged from broken
headers. For outgoing text, :func:`has_control_chars`, :func:`clean_header_text` and
:func:`check_header_text` keep CR, LF and other controls (also hidden inside encoded
words) out of header values.

:class:`Address` lives here, with the lenient parser of address headers, so that the
parser needs nothing from :mod:`mailcore.addresses` (which parses what users type).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from urllib.parse import unquote_to_bytes

from .b64 import b64decode
from .charsets import decode_charset, guess_8bit

FOLD = re.compile(r"\r?\n(?=[ \t])")
# C0 except TAB, DEL, C1 and U+2028/9: everything str.splitlines() breaks on, since the
# email package folds headers with it and could turn any of them into a real line break.
_CONTROLS = r"\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL = re.compile(f"[{_CONTROLS}]")
# Runs of controls become one space. Decoded incoming text loses its TABs as well (it is
# shown as one line); text cleaned for sending keeps them, as a header value may hold TAB.
CONTROL_RUN = re.compile(rf"[\t{_CONTROLS}]+")
_CONTROL_RUN_BUT_TAB = re.compile(f"[{_CONTROLS}]+")
# Also NEL, U+2028 and U+2029 as UTF-8, which str.splitlines() would break on.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]|\xc2\x85|\xe2\x80[\xa8\xa9]")

# An RFC 2047 encoded word, "=?charset*language?B|Q?payload?=": (charset, encoding, payload).
_WORD_START = r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?"
# Read from received headers, a word ends at the end of its line.
ENCODED_WORD = re.compile(_WORD_START + r"([^?\r\n]*)\?=")
# When sending, the email package decodes a word whose payload spans lines too, so that is
# what clean_header_text and check_header_text must look inside.
_ENCODED_WORD_ANY_LINE = re.compile(_WORD_START + r"([^?]*)\?=")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
# A Content-Type value that may go into an HTTP header or a generated part as it is.
MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


# --------------------------------------------------------------------- decoding headers


def decode_header_text(value: str | bytes | None) -> str:
    """Decode an unstructured header value (RFC 2047, raw 8-bit) into single-line text."""
    return decode_header(value)


def decode_header(
    value: str | bytes | None, hint: str | None = None, defects: list[str] | None = None
) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        text = bytes(value).decode("ascii", "surrogateescape")
    else:
        text = str(value)
    if "\n" in text:
        text = FOLD.sub("", text)
    if "=?" in text:
        text = _decode_encoded_words(text, hint, defects)
    elif not text.isascii():
        text = decode_raw(text, hint)
    # Strip controls only after decoding so encoded CR/LF cannot survive (CVE-2024-6923 class).
    return CONTROL_RUN.sub(" ", text).strip()


def _decode_encoded_words(text: str, hint: str | None, defects: list[str] | None) -> str:
    # Runs of encoded words sharing a charset are joined before decoding: mailers split
    # multibyte characters across words.
    out: list[str] = []
    run_charset = ""
    run: list[bytes] = []
    pos = 0
    for match in ENCODED_WORD.finditer(text):
        gap = text[pos : match.start()]
        if gap and not (run and gap.isspace()):
            _flush_words(run, run_charset, out, defects)
            out.append(decode_raw(gap, hint))
        charset = match.group(1).lower()
        if run and charset != run_charset:
            _flush_words(run, run_charset, out, defects)
        run_charset = charset
        payload = to_bytes(match.group(3))
        if match.group(2) in "Qq":
            run.append(binascii.a2b_qp(payload, header=True))
        else:
            run.append(b64decode(payload)[0])
        pos = match.end()
    _flush_words(run, run_charset, out, defects)
    out.append(decode_raw(text[pos:], hint))
    return "".join(out)


def _flush_words(run: list[bytes], charset: str, out: list[str], defects: list[str] | None) -> None:
    if not run:
        return
    text, defect = decode_charset(b"".join(run), charset)
    if defect and defects is not None:
        defects.append(f"header: {defect}")
    out.append(text)
    run.clear()


def decode_raw(text: str, hint: str | None) -> str:
    """Recover raw 8-bit header bytes (kept as surrogate escapes by the parser)."""
    if text.isascii() or not _ESCAPED_BYTE.search(text):
        return text
    return guess_8bit(to_bytes(text), hint)[0]


def to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


# ----------------------------------------------------------- control characters out


def has_control_chars(value: str) -> bool:
    """True if ``value`` holds CR, LF or another control character (TAB is allowed)."""
    return bool(_CONTROL.search(value))


def clean_header_text(value: str) -> str:
    """``value`` made safe for a prefilled header field: one line, ends stripped.

    Control runs become one space. Literal encoded words that would decode to controls
    (an original whose subject was encoded twice) are decoded here, controls removed,
    since the email package would decode them when sending.
    """
    for _ in range(3):
        if not _hides_controls(value):
            break
        value = decode_header_text(value)
    if _hides_controls(value):
        value = value.replace("=?", "= ?")
    return _CONTROL_RUN_BUT_TAB.sub(" ", value).strip()


def check_header_text(value: str, what: str) -> str:
    """``value`` unchanged; ValueError if it holds or hides a line break or control."""
    if has_control_chars(value) or _hides_controls(value):
        raise ValueError(f"{what} contains a line break or control character")
    return value


def _hides_controls(value: str) -> bool:
    """True if an encoded word in ``value`` decodes to a control: the email package decodes
    literal ``=?...?=`` text it is given, then writes the result out unescaped."""
    for match in _ENCODED_WORD_ANY_LINE.finditer(value):
        payload = match.group(3).encode("ascii", "replace")
        try:
            if match.group(2) in "Bb":
                data = base64.b64decode(payload + b"=" * (-len(payload) % 4))
            else:
                data = binascii.a2b_qp(payload, header=True)
        except (binascii.Error, ValueError):
            continue
        if _CONTROL_BYTES.search(data):
            return True
    return False


# ------------------------------------------------------------ structured header values

PARAM_CHUNK = re.compile(r'(?:[^;"]|"(?:[^"\\]|\\.)*(?:"|$))+', re.S)
_RFC2231_NAME = re.compile(r"([^*]+)\*(?:(\d{1,3})(\*)?)?")
_QUOTED_PAIR = re.compile(r'\\([\\"])')


def structured(value: str | None, hint: str | None) -> tuple[str, dict[str, str]]:
    """Split ``type/sub; a=b; c*0*=...`` into a lowercased main value and decoded params."""
    if not value:
        return "", {}
    text = FOLD.sub("", str(value))
    chunks = PARAM_CHUNK.findall(text)
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
    params = {name: decode_header(raw, hint) for name, raw in plain.items()}
    for base, sections in extended.items():
        params[base] = _join_rfc2231(sections, hint)
    return main, params


def _join_rfc2231(sections: dict[int, tuple[str, bool]], hint: str | None) -> str:
    ordered = [sections[k] for k in sorted(sections)]
    if not any(encoded for _, encoded in ordered):
        return decode_header("".join(value for value, _ in ordered), hint)
    charset: str | None = None
    first, first_encoded = ordered[0]
    if first_encoded and first.count("'") >= 2:
        charset, _lang, first = first.split("'", 2)
        ordered[0] = (first, True)
    data = b"".join(
        unquote_to_bytes(to_bytes(value)) if encoded else to_bytes(value)
        for value, encoded in ordered
    )
    if charset:
        text = decode_charset(data, charset)[0]
    else:
        text = guess_8bit(data, hint)[0]
    return CONTROL_RUN.sub(" ", text).strip()


# ------------------------------------------------- header maps, addresses and message ids

ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
# A display name that needs no quotes: atoms (non-ASCII allowed, RFC 6532) and spaces.
_PLAIN_PHRASE = re.compile(rf"[\u0080-\U0010ffff{ATEXT}]+(?: [\u0080-\U0010ffff{ATEXT}]+)*")


@dataclass(frozen=True)
class Address:
    """One address with an optional display name; ``str()`` gives its RFC 5322 form.

    Parsed from a received header, ``address`` is "" when none could be found. Parsed
    from what a user typed or checked for sending (:mod:`mailcore.addresses`), it is
    normalised: ASCII, domain lowercased (IDNA A-labels).
    """

    name: str  # decoded display name, "" if none
    address: str  # addr-spec, "" if unparseable

    def __str__(self) -> str:
        if not self.name:
            return self.address
        name = self.name
        if not _PLAIN_PHRASE.fullmatch(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{self.address}>"


_ADDRESS_HEADERS = frozenset({"from", "sender", "to", "cc", "reply-to"})
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_ADDR_SPEC = re.compile(r"[^\s<>\"(),;:@]+@[^\s<>\"(),;:@]+")
_LOCAL_PART = re.compile(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*")


def header_map(part: Message) -> dict[str, str]:
    """First occurrence of each header, raw (the parser keeps values undecoded)."""
    headers: dict[str, str] = {}
    for name, value in part.raw_items():
        key = name.strip().lower()
        if key not in headers:
            headers[key] = str(value)
        elif key in _ADDRESS_HEADERS and key not in ("from", "sender"):
            headers[key] += ", " + str(value)  # a repeated To/Cc: keep every recipient
    return headers


def parse_addresses(value: str | None, hint: str | None) -> list[Address]:
    if not value:
        return []
    text = FOLD.sub("", value)
    # Park encoded words behind placeholders: a Q-encoded name may contain commas or quotes.
    words: list[str] = []

    def park(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return f"\ue000{len(words) - 1}\ue001"

    if "=?" in text:
        text = ENCODED_WORD.sub(park, text)
    result: list[Address] = []
    for name, addr in getaddresses([text]):
        if words:
            name = _PLACEHOLDER.sub(lambda m: words[int(m.group(1))], name)
            addr = _PLACEHOLDER.sub(lambda m: words[int(m.group(1))], addr)
        address = _make_address(decode_header(name, hint), decode_header(addr, hint))
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
    if not name and _LOCAL_PART.fullmatch(candidate):
        # A local part only ("From: foo", as old mailers wrote it) is still an address;
        # fill_headers records a defect for it.
        return Address(name="", address=candidate)
    text = name or addr.strip(" <>\"'")
    return Address(name=text, address="") if text else None


_MSG_ID = re.compile(r"<([^<>]*)>")


def message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    text = CONTROL_RUN.sub(" ", decode_raw(str(value), None))
    found = ["".join(m.split()) for m in _MSG_ID.findall(text)]
    if not found:
        found = [token.strip("<>") for token in re.split(r"[\s,]+", text)]
    return list(dict.fromkeys(i for i in found if i))
