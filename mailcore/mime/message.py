"""The parse result (:class:`ParsedMessage`, :class:`Attachment`) and its header fields.

:func:`parse_headers` reads a header block only; :func:`fill_headers` sets the
fields every parse shares (subject, addresses, date, message ids) from a header map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import TypeVar

from .charsets import first_hint
from .dates import aware, parse_date
from .headers import (
    Address,
    decode_header,
    header_map,
    message_ids,
    parse_addresses,
    structured,
)
from .structure import as_bytes, collect_defects, header_end, parse_header_block
from .text import collapse_whitespace, html_to_text


@dataclass
class Attachment:
    filename: str  # decoded original name, for display only
    safe_name: str  # safe to use on disk and in Content-Disposition
    content_type: str  # lowercased maintype/subtype
    content_id: str  # without <>
    inline: bool
    payload: bytes = field(repr=False)
    # Not a part of the message but a file found inside one (a uuencoded block in a text
    # body, a file inside winmail.dat): its bytes are no slice of the raw message.
    derived: bool = False

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass
class AttachedMessage:
    """A message attached to this one (a ``message/rfc822`` part), at any depth: who
    sent it, its subject and its text, for search. Open it with ``parse_message``."""

    subject: str
    from_: Address | None
    text: str = field(repr=False)  # its body as plain text, shortened
    depth: int = 1  # 1: attached to this message; 2: attached to that one ...


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
    # One of PROTECTIONS or "": what the message says of a signature or encryption.
    protection: str = ""
    # An S/MIME signature's certificate holder (its e-mail address), checked or not.
    signer: str = ""
    # The messages attached to this one and to those, outermost first (parents before
    # their own attachments).
    attached: list[AttachedMessage] = field(default_factory=list, repr=False)

    @property
    def has_attachments(self) -> bool:
        return any(not attachment.inline for attachment in self.attachments)

    def snippet(self, length: int = 160) -> str:
        source = self.text_body
        if not source or source.isspace():
            # Ask for extra: the snippet collapses the line breaks html_to_text keeps.
            source = html_to_text(self.html_body, max_chars=length * 2 + 16)
        return collapse_whitespace(source, length)


# What a message says of its signature or encryption: "smime-verified" (the signature
# matches the signed part and the certificate it carries, whose trust is not checked),
# "smime-invalid" (it does not match), "smime-signed"/"pgp-signed" (not checked).
PROTECTIONS = (
    "smime-verified",
    "smime-invalid",
    "smime-signed",
    "pgp-signed",
    "smime-encrypted",
    "pgp-encrypted",
)

_T = TypeVar("_T")


def _safely(defects: list[str], what: str, func: Callable[[], _T], default: _T) -> _T:
    try:
        return func()
    except Exception as exc:  # noqa: BLE001 - the parser's contract is to never raise
        defects.append(f"{what}: could not be decoded ({type(exc).__name__})")
        return default


def blank_message(received_at: datetime | None) -> ParsedMessage:
    return ParsedMessage(
        subject="",
        from_=None,
        to=[],
        cc=[],
        reply_to=[],
        date=aware(received_at),
        date_is_fallback=True,
        message_id="",
        in_reply_to="",
        references=[],
        text_body="",
        html_body="",
        attachments=[],
        defects=[],
    )


def parse_headers(raw: bytes, received_at: datetime | None = None) -> ParsedMessage:
    """Parse only the header block; bodies and attachments stay empty."""
    raw = as_bytes(raw)
    result = blank_message(received_at)
    try:
        msg = parse_header_block(raw[: header_end(raw)])
    except Exception as exc:  # noqa: BLE001 - never raise; report instead
        result.defects.append(f"message: headers could not be parsed ({type(exc).__name__})")
        return result
    collect_defects(msg, "message", result.defects)
    fill_headers(result, header_map(msg))
    return result


def fill_headers(
    result: ParsedMessage, headers: dict[str, str], text_charsets: Iterable[str] = ()
) -> str | None:
    """Set the header fields; returns the charset hint used for raw 8-bit header bytes.

    The hint is the first declared charset that is worth trying: the top-level
    Content-Type's, then ``text_charsets`` (those of the message's text parts, in order).
    """
    defects = result.defects
    top = _safely(
        defects,
        "Content-Type charset",
        lambda: structured(headers.get("content-type"), None)[1].get("charset"),
        None,
    )
    hint = _safely(
        defects, "Content-Type charset", lambda: first_hint(chain((top,), text_charsets)), None
    )
    result.subject = _safely(
        defects, "Subject", lambda: decode_header(headers.get("subject"), hint, defects), ""
    )

    def addresses(name: str) -> list[Address]:
        found = _safely(defects, name, lambda: parse_addresses(headers.get(name), hint), [])
        for address in found:
            if address.address and "@" not in address.address:
                defects.append(f"{name.title()}: address without a domain ({address.address})")
        return found

    senders = addresses("from") or addresses("sender")
    result.from_ = senders[0] if senders else None
    result.to = addresses("to")
    result.cc = addresses("cc")
    result.reply_to = addresses("reply-to")
    date = _safely(defects, "Date", lambda: parse_date(headers.get("date")), None)
    if date is not None:
        result.date, result.date_is_fallback = date, False
    elif headers.get("date"):
        defects.append("Date: unparseable; using the time the message was received")
    ids = _safely(defects, "Message-ID", lambda: message_ids(headers.get("message-id")), [])
    result.message_id = ids[0] if ids else ""
    ids = _safely(defects, "In-Reply-To", lambda: message_ids(headers.get("in-reply-to")), [])
    result.in_reply_to = ids[0] if ids else ""
    result.references = _safely(
        defects, "References", lambda: message_ids(headers.get("references")), []
    )
    return hint
