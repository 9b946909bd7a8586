"""Charset labels and decoding: what a message says its bytes are, and what they really are.

Labels are read the way browsers read them (WHATWG Encoding): a label whose real-world
traffic needs a superset codec gets it, a codec that is no text encoding or is dangerous
is refused, and undeclared or mislabelled 8-bit data is guessed (UTF-8, then the
message's own charset, then the most plausible of Korean, Japanese, Western and
Cyrillic, Korean winning ties). Nothing here raises on bad data.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

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
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if name in _DOUBLE_BYTE and _is_utf8_beyond_latin(data):
            # UTF-8 Hangul often decodes as (wrong) CP949 hanja; it is UTF-8.
            return data.decode("utf-8"), f"data labelled {label!r} is UTF-8; decoded as utf-8"
        return _no_lone_surrogates(text, name), None
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
    # Neither decodes cleanly: the candidate that needs fewer replacements is closer.
    name = spec.codecs[0]
    text = _no_lone_surrogates(data.decode(name, "replace"), name)
    if "utf-8" not in spec.codecs and not data.isascii():
        as_utf8 = data.decode("utf-8", "replace")
        if as_utf8.count("\ufffd") < text.count("\ufffd"):
            return as_utf8, f"invalid {label} data, mostly UTF-8; undecodable bytes replaced"
    return text, f"invalid {label} data; undecodable bytes replaced"


# Double-byte codecs under which valid UTF-8 text often decodes without an error.
_UTF8_LONG_LEAD = re.compile(rb"[\xe0-\xf4]")
_DOUBLE_BYTE = frozenset({"cp949", "gb18030", "cp932", "cp950", "big5hkscs", "euc_jp", "euc_kr"})


def _is_utf8_beyond_latin(data: bytes) -> bool:
    """Valid UTF-8 holding a character of three bytes or more (Hangul, CJK, ...).

    Text really in a double-byte charset is next to never valid UTF-8 with such
    sequences, so when both decode, UTF-8 is the better reading.
    """
    if data.isascii() or _UTF8_LONG_LEAD.search(data) is None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_unlabelled(data: bytes) -> tuple[str, str | None]:
    if data.isascii():
        return data.decode("ascii"), None
    text, name = guess_8bit(data, None)
    return text, None if name == "utf-8" else f"8-bit text without a charset; guessed {name}"


def guess_8bit(data: bytes, hint: str | None) -> tuple[str, str]:
    """Undeclared 8-bit bytes: UTF-8, then the message's charset, then the best-scoring
    reading among Korean, Japanese, Western and Cyrillic (see :func:`_plausibility`),
    Korean winning ties; Latin-1 if none decodes."""
    for name in ("utf-8",) if hint is None else ("utf-8", hint):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            pass
    best: tuple[float, str, str] | None = None
    for name in _GUESSES:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text[:_SCORED_CHARS], name)
        if best is None or score > best[0]:
            best = (score, text, name)
    if best is not None:
        return best[1], best[2]
    return data.decode("latin-1"), "latin-1"


# Candidates for undeclared 8-bit text, in the order that wins a tie (Korean first: it is
# this webmail's first language). charset-normalizer was measured on header-length text
# and guessed wrong too often to be trusted here (Russian "Узнай" as cp932 "ﾓ鈿琺",
# "Réunion" as cp1006): its statistics need more text than a Subject holds.
_GUESSES = ("cp949", "cp932", "cp1252", "cp1251")
_SCORED_CHARS = 2000
_WORD = re.compile(r"[^\s\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]+")
_TYPOGRAPHIC = frozenset("\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026\u00a0")


@functools.lru_cache(maxsize=4096)
def _common_hangul(ch: str) -> bool:
    """One of the 2,350 syllables of KS X 1001 (EUC-KR), which nearly all Korean uses;
    Shift_JIS read as CP949 gives the rare extension syllables instead."""
    try:
        # Python's euc_kr spells the other syllables as 8-byte jamo sequences.
        return len(ch.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


def _cased_cyrillic(word: str) -> bool:
    return all(0x0400 <= ord(c) <= 0x04FF for c in word) and (
        word.islower() or word.isupper() or word.istitle()
    )


def _plausibility(text: str, codec: str) -> float:
    """How much ``text`` looks like real writing: letters of one script per word score,
    symbols, control and private-use characters and script mixtures cost."""
    score = 0.0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        has_ascii_letter = any("a" <= c.lower() <= "z" for c in word)
        if not has_ascii_letter and len(word) > 1 and _cased_cyrillic(word):
            score += 1  # "Да", "ПРИВЕТ", "привет": a word, not case-mixed byte noise
        for ch in word:
            code = ord(ch)
            if code < 0x80:
                continue
            if 0xAC00 <= code <= 0xD7A3:
                score += 3 if _common_hangul(ch) else -1
            elif 0x3131 <= code <= 0x318E:
                score += 1
            elif 0x3041 <= code <= 0x30FF:
                score += 3
            elif 0xFF61 <= code <= 0xFF9F:
                score -= 1  # half-width katakana: what stray 8-bit bytes become in cp932
            elif 0x4E00 <= code <= 0x9FFF:
                score += 0.5 if codec == "cp949" else 1
            elif 0x0400 <= code <= 0x04FF:
                score += -2 if has_ascii_letter else 1.25
            elif ch.isalpha():
                # Accented Latin letters sit among ASCII ones (café, Müller, Réunion).
                score += 1 if has_ascii_letter and code <= 0x024F else 0
            elif ch in _TYPOGRAPHIC or ch.isdigit():
                continue
            else:
                score -= 3
    return score


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


def first_hint(charsets: Iterable[str | None]) -> str | None:
    """The codec of the first declared charset that says something about 8-bit bytes
    (us-ascii, UTF-8 and unknown labels are passed over: UTF-8 is tried anyway)."""
    for charset in charsets:
        spec = _charset_spec(_normalise_label(charset)) if charset else None
        if spec is None or spec.declared_ascii or not spec.ascii_safe:
            continue
        if spec.codecs[0] != "utf-8":
            return spec.codecs[0]
    return None


def hint_codec(charset: str | None) -> str | None:
    """The message's own charset, tried on raw 8-bit headers before the generic guesses."""
    spec = _charset_spec(_normalise_label(charset)) if charset else None
    if spec is None or spec.declared_ascii or not spec.ascii_safe:
        return None
    name = spec.codecs[0]
    return None if name in _HEADER_GUESSES or name == "utf-8" else name
