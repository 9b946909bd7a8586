"""What rules look at in a message: :class:`MessageFacts`, built by :func:`message_facts`.

Header values are decoded the way the rest of the app shows them (RFC 2047 encoded
words, raw 8-bit bytes guessed with the message's charset, via :mod:`mailcore.mime`), so
a rule on "견적서" matches a subject sent as ``=?euc-kr?B?...?=``. Every occurrence of a
header is kept, in order, as Sieve's ``header`` test sees them all.

Build facts once per message at ingest (pass the :class:`ParsedMessage` the ingest
already has, to skip a second parse) and hand them to :func:`.evaluate.evaluate` and to
:func:`.forwarding.forward_refusal`. Tests and callers without raw bytes may construct
:class:`MessageFacts` directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mailcore.mime import ParsedMessage, html_to_text, parse_message
from mailcore.mime.charsets import hint_codec
from mailcore.mime.headers import decode_header, parse_addresses, structured
from mailcore.mime.structure import PARSER, as_bytes, header_end

__all__ = ["RECIPIENT_HEADERS", "SENDER_HEADERS", "MessageFacts", "message_facts"]

# "Any recipient": the visible ones and the envelope recipient that delivery agents
# record (Postfix's Delivered-To and X-Original-To). All are address headers to Sieve.
RECIPIENT_HEADERS = ("to", "cc", "bcc", "delivered-to", "x-original-to")
# Who sent it: the author, the agent that sent it, and the envelope sender.
SENDER_HEADERS = ("from", "sender", "return-path")
_ADDRESS_HEADERS = frozenset(
    {*RECIPIENT_HEADERS, *SENDER_HEADERS, "reply-to", "resent-from", "resent-to", "resent-cc"}
)


@dataclass
class MessageFacts:
    """One message as rules see it.

    ``headers`` maps lowercased header names to decoded values (every occurrence, in
    order); ``addresses`` maps lowercased address-header names to the addr-specs found in
    them; ``body`` is the plain text (the HTML's text when there is no plain part);
    ``size`` is the raw message's length in bytes; ``account`` the address of the mail
    account that received it.
    """

    headers: dict[str, list[str]] = field(default_factory=dict)
    addresses: dict[str, list[str]] = field(default_factory=dict)
    body: str = ""
    size: int = 0
    has_attachment: bool = False
    account: str = ""

    def header(self, name: str) -> list[str]:
        """Decoded values of every ``name`` header (case-insensitive), [] if none."""
        return self.headers.get(name.lower(), [])

    def header_values(self, names: Iterable[str]) -> list[str]:
        return [value for name in names for value in self.header(name)]

    def addrs(self, names: Iterable[str]) -> list[str]:
        """Addr-specs in the ``names`` headers, in header order."""
        return [addr for name in names for addr in self.addresses.get(name.lower(), [])]

    @classmethod
    def from_headers(
        cls,
        fields: Sequence[tuple[str, str]],
        *,
        charset_hint: str | None = None,
        body: str = "",
        size: int = 0,
        has_attachment: bool = False,
        account: str = "",
    ) -> MessageFacts:
        """Facts from raw ``(name, value)`` header fields (values as received, undecoded)."""
        headers: dict[str, list[str]] = {}
        addresses: dict[str, list[str]] = {}
        for name, value in fields:
            key = name.strip().lower()
            headers.setdefault(key, []).append(decode_header(value, charset_hint))
            if key in _ADDRESS_HEADERS:
                found = parse_addresses(value, charset_hint)
                addresses.setdefault(key, []).extend(a.address for a in found if a.address)
        return cls(
            headers=headers,
            addresses=addresses,
            body=body,
            size=size,
            has_attachment=has_attachment,
            account=account,
        )


def message_facts(
    raw: bytes, account: str = "", parsed: ParsedMessage | None = None
) -> MessageFacts:
    """Facts of the raw message ``raw`` received by ``account``; never raises."""
    raw = as_bytes(raw)
    if parsed is None:
        parsed = parse_message(raw)
    try:
        header_block = PARSER.parsebytes(raw[: header_end(raw)], headersonly=True)
        fields = [(name, str(value)) for name, value in header_block.raw_items()]
    except Exception:  # noqa: BLE001 - never crash on mail: a rule sees no headers instead
        fields = []
    content_type = next((value for name, value in fields if name.lower() == "content-type"), None)
    try:
        hint = hint_codec(structured(content_type, None)[1].get("charset"))
    except Exception:  # noqa: BLE001 - a broken Content-Type only loses the charset hint
        hint = None
    body = parsed.text_body
    if not body.strip() and parsed.html_body:
        body = html_to_text(parsed.html_body)
    return MessageFacts.from_headers(
        fields,
        charset_hint=hint,
        body=body,
        size=len(raw),
        has_attachment=parsed.has_attachments,
        account=account,
    )
