"""Addresses: parsing what users type, and normalising addresses for sending.

:func:`parse_address_list` is strict, for the To/Cc/Bcc a user typed: the first bad
item raises :class:`AddressError` naming it. Addresses come back normalised (domain
lowercased and IDNA-encoded). The :class:`Address` type itself is defined with the
lenient parser of received headers in :mod:`mailcore.mime.headers` (which must not
import this module) and is imported from here by everyone else.
"""

from __future__ import annotations

import re

from .mime.headers import (
    ATEXT,
    Address,
    check_header_text,
    clean_header_text,
    decode_header_text,
    has_control_chars,
)

__all__ = [
    "Address",
    "AddressError",
    "checked_address",
    "normalise_addr_spec",
    "parse_address_list",
]


class AddressError(ValueError):
    """An address list item that is not a usable address; ``item`` names it for the user."""

    def __init__(self, item: str, reason: str = "invalid address") -> None:
        super().__init__(f"{item!r}: {reason}")
        self.item = item
        self.reason = reason


_DOT_ATOM = re.compile(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*")
_QUOTED_LOCAL = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"')
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalise_addr_spec(addr: str) -> str:
    """``local@domain`` checked and normalised (domain lowercased, IDNA-encoded).

    Raises AddressError with a reason; the caller replaces ``item`` with the user's text.
    """
    if not addr:
        raise AddressError(addr, "empty address")
    if has_control_chars(addr):
        raise AddressError(addr, "contains a line break or control character")
    local, at, domain = addr.rpartition("@")
    if not at:
        raise AddressError(addr, "missing @")
    if not local or not domain:
        raise AddressError(addr, "missing the part before or after @")
    if local.startswith('"'):
        if not _QUOTED_LOCAL.fullmatch(local):
            raise AddressError(addr, "badly quoted local part")
    elif not local.isascii():
        raise AddressError(addr, "non-ASCII local parts are not supported")
    elif any(ch.isspace() for ch in local):
        raise AddressError(addr, "contains spaces")
    elif not _DOT_ATOM.fullmatch(local):
        raise AddressError(addr, "invalid characters before @")
    if len(local.encode("utf-8")) > 64:
        raise AddressError(addr, "the part before @ is too long")
    ascii_domain = _normalise_domain(addr, domain)
    result = f"{local}@{ascii_domain}"
    if len(result) > 254:
        raise AddressError(addr, "address too long")
    return result


def _normalise_domain(addr: str, domain: str) -> str:
    if any(ch.isspace() for ch in domain):
        raise AddressError(addr, "contains spaces")
    if domain.startswith("["):
        raise AddressError(addr, "address literals are not supported")
    if not domain.isascii():
        try:
            # Python's codec is IDNA 2003 (nameprep, so full-width dots and case fold too).
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise AddressError(addr, "invalid international domain") from None
    domain = domain.lower()
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise AddressError(addr, "invalid domain")
    if labels[-1].isdigit():
        raise AddressError(addr, "invalid domain")  # an IP address, not a domain
    return domain


def _split_items(text: str) -> list[str]:
    """Split on commas/semicolons outside quoted strings and comments."""
    items: list[str] = []
    start = 0
    in_quote = False
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise AddressError(_item_text(text[start:]), "unbalanced parentheses")
        elif ch in ",;" and depth == 0:
            items.append(text[start:i])
            start = i + 1
        i += 1
    rest = text[start:]
    if in_quote:
        raise AddressError(_item_text(rest), "unbalanced quotes")
    if depth:
        raise AddressError(_item_text(rest), "unbalanced parentheses")
    items.append(rest)
    return items


def _item_text(raw: str) -> str:
    return clean_header_text(raw) or raw


def _strip_comments(item: str) -> tuple[str, str]:
    """(item without top-level comments, text of the last comment)."""
    out: list[str] = []
    comment: list[str] = []
    last = ""
    in_quote = False
    depth = 0
    i = 0
    while i < len(item):
        ch = item[i]
        if depth:
            if ch == "\\" and i + 1 < len(item):
                comment.append(item[i + 1])
                i += 2
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if not depth:
                    last = "".join(comment).strip()
                    comment = []
                    out.append(" ")
                    i += 1
                    continue
            comment.append(ch)
        elif in_quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(item):
                out.append(item[i + 1])
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
            out.append(ch)
        elif ch == "(":
            depth = 1
        else:
            out.append(ch)
        i += 1
    return "".join(out), last


def _unquote_phrase(phrase: str) -> str:
    out: list[str] = []
    in_quote = False
    i = 0
    while i < len(phrase):
        ch = phrase[i]
        if in_quote and ch == "\\" and i + 1 < len(phrase):
            out.append(phrase[i + 1])
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        else:
            out.append(ch)
        i += 1
    name = " ".join("".join(out).split())
    if "=?" in name:
        name = decode_header_text(name)  # pasted from a raw header
    return name


def _find_unquoted(text: str, chars: str) -> list[int]:
    found: list[int] = []
    in_quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quote and ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch in chars:
            found.append(i)
        i += 1
    return found


def _parse_item(raw: str) -> Address | None:
    item = raw.strip()
    if not item:
        if has_control_chars(raw):
            raise AddressError(_item_text(raw), "contains a line break or control character")
        return None
    shown = _item_text(item)
    if has_control_chars(raw):
        raise AddressError(shown, "contains a line break or control character")
    text, comment = _strip_comments(item)
    brackets = _find_unquoted(text, "<>")
    if brackets:
        opens = [i for i in brackets if text[i] == "<"]
        closes = [i for i in brackets if text[i] == ">"]
        if len(opens) != 1 or len(closes) != 1 or closes[0] < opens[0]:
            raise AddressError(shown, "unbalanced angle brackets")
        if text[closes[0] + 1 :].strip():
            raise AddressError(shown, "text after the address")
        phrase = text[: opens[0]]
        if _find_unquoted(phrase, "@"):
            # "a@x.test <b@y.test>" is almost always a missing comma, not a name.
            raise AddressError(shown, "a name cannot contain @ unless quoted (missing comma?)")
        name = _unquote_phrase(phrase)
        addr = text[opens[0] + 1 : closes[0]].strip()
    else:
        name = ""
        addr = text.strip()
        if _find_unquoted(addr, " \t"):
            raise AddressError(shown, "contains spaces (put the address in <...>)")
    try:
        address = normalise_addr_spec(addr)
    except AddressError as exc:
        raise AddressError(shown, exc.reason) from None
    return Address(name=clean_header_text(name or comment), address=address)


def parse_address_list(text: str) -> list[Address]:
    """Parse what a user typed into To/Cc/Bcc; "" gives []. Commas or semicolons separate.

    Raises AddressError for the first bad item. Addresses come back normalised:
    domains lowercased and IDNA-encoded (``user@xn--3e0b707e.kr``), local parts as typed.
    """
    if not text or not text.strip():
        if text and has_control_chars(text):
            raise AddressError(_item_text(text), "contains a line break or control character")
        return []
    addresses = [_parse_item(raw) for raw in _split_items(text)]
    return [a for a in addresses if a is not None]


def checked_address(address: Address, what: str) -> Address:
    """``address`` ready for a header we send: name without controls, addr-spec normalised.

    Raises ValueError for a control character in the name, AddressError (naming the
    address) for an unusable address; ``what`` names the field ("From", "To"...).
    """
    check_header_text(address.name, f"{what} name")
    try:
        normalised = normalise_addr_spec(address.address)
    except AddressError as exc:
        raise AddressError(address.address, exc.reason) from None
    return Address(address.name.strip(), normalised)
