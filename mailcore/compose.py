"""Outgoing mail: building messages, and the replies/forwards that start from received ones.

Django-free like :mod:`mailcore.mime`, whose parser it reuses for everything incoming.
Addresses are parsed and normalised by :mod:`mailcore.addresses`; read receipts and
delivery reports are built and parsed by :mod:`mailcore.reports`.

Header injection is guarded in three places: form input is checked with
:func:`has_control_chars`, every value taken from a received message is cleaned
(:func:`clean_header_text`), and :func:`build_message` refuses control characters,
encoded words that decode to them, and any generated header it did not set itself.
The last two matter on Python 3.11 < 3.11.10, whose generator writes a decoded CR/LF
straight into the output (CVE-2024-6923).

Output is 7-bit clean (``cte_type="7bit"``: non-ASCII bodies go out as base64 or
quoted-printable), except for forwarded originals that themselves hold 8-bit data:
those are embedded byte for byte as ``message/rfc822`` with ``8bit`` encoding.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email import policy
from email.generator import BytesGenerator
from email.headerregistry import Address as EmailAddress
from email.headerregistry import AddressHeader, HeaderRegistry
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from html import escape as html_escape
from io import BytesIO

import pybase64

from .addresses import Address, AddressError, checked_address, normalise_addr_spec
from .mime import ParsedMessage, html_to_text, safe_filename
from .mime.dates import aware
from .mime.headers import MIME_TYPE, check_header_text, clean_header_text, has_control_chars
from .richtext import sanitize_compose_html, text_to_html
from .sanitize import sanitize_email_html
from .subjects import forward_subject, reply_subject

__all__ = [
    "BuiltMessage",
    "OutgoingAttachment",
    "OutgoingMessage",
    "QuoteLabels",
    "build_message",
    "clean_header_text",
    "forward_inline_html",
    "forward_inline_text",
    "forward_subject",
    "has_control_chars",
    "quote_for_reply",
    "quote_html_for_reply",
    "reply_recipients",
    "reply_subject",
    "threading_headers",
]


# ------------------------------------------------------------------------- building


@dataclass
class OutgoingAttachment:
    filename: str
    content_type: str | None  # None: guessed from the filename
    data: bytes = field(repr=False)
    # An image of the HTML body (multipart/related), referenced there as cid:content_id.
    content_id: str = ""
    inline: bool = False


@dataclass
class OutgoingMessage:
    sender: Address
    to: list[Address]
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)  # envelope only, never a header
    subject: str = ""
    body: str = ""
    # Sanitized HTML (mailcore.richtext): with it the message is multipart/alternative,
    # `body` being its text part; inline attachments then go in multipart/related.
    html: str = ""
    in_reply_to: str = ""  # without <>
    references: list[str] = field(default_factory=list)  # without <>
    # A message/rfc822 attachment (a forwarded original) is embedded unchanged, bar
    # line endings; everything else is base64.
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    request_read_receipt: bool = False
    message_id: str | None = None  # without <>; generated on the sender's domain if None
    date: datetime | None = None  # now if None
    # MAIL FROM when it is not the From address (a send-as alias goes out under the
    # account's own address); "" means the sender's address.
    envelope_from: str = ""
    # RFC 3834 Auto-Submitted value ("auto-replied" for a vacation reply); "" for none.
    auto_submitted: str = ""


@dataclass(frozen=True)
class BuiltMessage:
    data: bytes  # CRLF line endings, ready for SMTP DATA
    message_id: str  # without <>
    envelope_from: str
    recipients: list[str]  # to + cc + bcc, de-duplicated (case-insensitively), order kept


def _make_policy() -> policy.EmailPolicy:
    registry = HeaderRegistry()
    # So that a display name in it is RFC 2047-encoded like in From/To.
    registry.map_to_type("disposition-notification-to", AddressHeader)
    return policy.SMTP.clone(cte_type="7bit", header_factory=registry)


POLICY = _make_policy()
MAX_LINE_OCTETS = 998
MSG_ID = re.compile(r"[!-;=?-~]+")  # printable ASCII without <, > and spaces
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


class _Generator(BytesGenerator):
    # The stock BytesGenerator refuses 8-bit bytes in a string payload; forwarded
    # originals are stored that way (surrogate-escaped) so they are written verbatim.
    def _encode(self, s: str) -> bytes:  # type: ignore[override]
        return s.encode("ascii", "surrogateescape")

    # The stock method writes a payload line by line (two calls per line: a 100 KB
    # attachment made 3,000); one write of the same bytes: every CRLF, CR or LF (where
    # the generator splits lines) as _NL, by str.replace (8x faster than a re.sub).
    def _write_lines(self, lines: str) -> None:
        if lines:
            if "\r" in lines:
                lines = lines.replace("\r\n", "\n").replace("\r", "\n")
            self.write(lines.replace("\n", self._NL))

    # 128 random bits, which no body holds by chance (nor can a sender guess them in
    # advance), after "=_", which neither base64 nor quoted-printable ever writes. The
    # stock method draws 63 bits and then scans the whole message for them with a
    # regular expression: 3 ms of every 140 KB message sent.
    @classmethod
    def _make_boundary(cls, text: str | None = None) -> str:
        return "=_" + secrets.token_hex(16)


def header_address(address: Address) -> EmailAddress:
    return EmailAddress(display_name=address.name, addr_spec=address.address)


def _checked_id(value: str, what: str) -> str:
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if not MSG_ID.fullmatch(value):
        raise ValueError(f"{what} is not a valid message id: {value!r}")
    return value


def to_crlf(data: bytes) -> bytes:
    return _LINE_BREAK.sub(b"\r\n", data)


# Common here but missing from Python's table when the system has no mime.types.
_EXTRA_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".hwp": "application/x-hwp",
    ".hwpx": "application/hwp+zip",
}


def _guess_type(filename: str, given: str | None) -> str:
    ctype = (given or "").split(";", 1)[0].strip().lower()
    if MIME_TYPE.fullmatch(ctype):
        return ctype
    extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    guessed = mimetypes.guess_type(filename, strict=False)[0]
    return guessed or _EXTRA_TYPES.get(extension) or "application/octet-stream"


def _body_part(target: Message, body: str, subtype: str = "plain") -> None:
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    cte = None
    # EmailMessage already avoids 7bit for lines over 78; this makes the SMTP limit explicit.
    if any(len(line) > MAX_LINE_OCTETS for line in body.encode("utf-8").split(b"\n")):
        cte = "quoted-printable" if body.isascii() else "base64"
    target.set_content(body, subtype=subtype, charset="utf-8", cte=cte)


HTML_DOCUMENT = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n<body>\n%s\n</body></html>\n'
)


def _html_body(msg: EmailMessage, message: OutgoingMessage) -> list[OutgoingAttachment]:
    """text/plain + text/html as multipart/alternative, wrapped with the images the HTML
    references in multipart/related; returns the attachments left for multipart/mixed.

    An inline attachment the HTML does not reference is not sent (the user took the
    image out of the text); one without a usable Content-ID goes as an attachment.
    """
    _body_part(msg, message.body)
    html = MIMEPart(policy=POLICY)
    _body_part(html, HTML_DOCUMENT % message.html, subtype="html")
    msg.make_alternative()
    msg.attach(html)
    related = []
    rest = []
    for attachment in message.attachments:
        if not attachment.inline:
            rest.append(attachment)
        elif MSG_ID.fullmatch(attachment.content_id or ""):
            if f"cid:{attachment.content_id}" in message.html:
                related.append(attachment)
        else:
            rest.append(attachment)
    if related:
        # multipart/related { multipart/alternative, images } (RFC 2387); the stdlib's
        # make_related() only nests related inside alternative, so it is done by hand.
        alternative = MIMEPart(policy=POLICY)
        alternative["Content-Type"] = msg["Content-Type"]
        alternative.set_payload(msg.get_payload())
        del msg["Content-Type"]
        msg["Content-Type"] = 'multipart/related; type="multipart/alternative"'
        msg.set_payload([alternative, *(_inline_part(a) for a in related)])
    return rest


def _inline_part(attachment: OutgoingAttachment) -> MIMEPart:
    part = _attachment_part(attachment)
    del part["Content-Disposition"]
    part["Content-ID"] = f"<{attachment.content_id}>"
    part.add_header("Content-Disposition", "inline", filename=safe_filename(attachment.filename))
    return part


def _rfc822_part(filename: str, raw: bytes) -> MIMEPart:
    data = to_crlf(raw)
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = "message/rfc822"
    # RFC 2046 allows only 7bit/8bit/binary here: the original cannot be re-encoded.
    part["Content-Transfer-Encoding"] = "7bit" if data.isascii() else "8bit"
    part.add_header(
        "Content-Disposition",
        "attachment",
        filename=safe_filename(filename, default="forwarded.eml"),
    )
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    part.set_payload(data.decode("ascii", "surrogateescape"))
    return part


def _attachment_part(attachment: OutgoingAttachment) -> MIMEPart:
    name = safe_filename(attachment.filename)
    ctype = _guess_type(name, attachment.content_type)
    if ctype == "message/rfc822":
        return _rfc822_part(name, attachment.data)
    maintype, _, subtype = ctype.partition("/")
    if maintype in ("multipart", "message"):
        maintype, subtype = "application", "octet-stream"  # they cannot be base64-encoded
    part = MIMEPart(policy=POLICY)
    # No name= on Content-Type: with a non-ASCII value, 3.11's folder mangles the MIME type
    # itself into an encoded word. Content-Disposition's filename is what clients read.
    # The headers set_content would write, with the body encoded by pybase64 in one call
    # (the stdlib encodes 57 bytes per Python iteration; the lines are the same).
    part["Content-Type"] = f"{maintype}/{subtype}"
    part["Content-Transfer-Encoding"] = "base64"
    part.add_header("Content-Disposition", "attachment", filename=name)
    part.set_payload(pybase64.encodebytes(bytes(attachment.data)).decode("ascii"))
    return part


def _threading(in_reply_to: str, references: list[str]) -> tuple[str, list[str]]:
    parent = _checked_id(in_reply_to, "In-Reply-To") if in_reply_to.strip() else ""
    chain = [_checked_id(ref, "References") for ref in references if ref.strip()]
    if parent:
        chain.append(parent)
    return parent, list(dict.fromkeys(chain))


def finish_message(msg: EmailMessage) -> bytes:
    """Serialise ``msg`` and check that the header block holds exactly the headers we set."""
    out = BytesIO()
    _Generator(out, policy=POLICY).flatten(msg)
    data = out.getvalue()
    end = data.find(b"\r\n\r\n")
    head = data[: end + 2] if end >= 0 else data
    if any(len(line) > MAX_LINE_OCTETS for line in head.split(b"\r\n")):
        raise ValueError("a generated header line is too long")
    parsed = BytesParser(policy=policy.compat32).parsebytes(head, headersonly=True)
    if [k.lower() for k in parsed.keys()] != [k.lower() for k in msg.keys()]:
        raise ValueError("header injection: the generated headers differ from those set")
    return data


def build_message(message: OutgoingMessage) -> BuiltMessage:
    """The message as SMTP DATA bytes plus its envelope.

    Raises ValueError (AddressError for addresses) if a header value carries a control
    character or an address is invalid; callers are expected to have validated first.
    """
    sender = checked_address(message.sender, "From")
    to = [checked_address(m, "To") for m in message.to]
    cc = [checked_address(m, "Cc") for m in message.cc]
    bcc = [checked_address(m, "Bcc") for m in message.bcc]
    subject = check_header_text(message.subject, "Subject")
    in_reply_to, references = _threading(message.in_reply_to, message.references)
    domain = sender.address.rpartition("@")[2]
    if message.message_id:
        message_id = _checked_id(message.message_id, "Message-ID")
    else:
        message_id = make_msgid(domain=domain)[1:-1]

    msg = EmailMessage(policy=POLICY)
    msg["Date"] = format_datetime(aware(message.date, local_now=True))
    msg["From"] = header_address(sender)
    if to:
        msg["To"] = [header_address(m) for m in to]
    if cc:
        msg["Cc"] = [header_address(m) for m in cc]
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{ref}>" for ref in references)
    if message.auto_submitted:
        msg["Auto-Submitted"] = check_header_text(message.auto_submitted, "Auto-Submitted")
    if message.request_read_receipt:
        msg["Disposition-Notification-To"] = header_address(sender)
    if message.html:
        attachments = _html_body(msg, message)
    else:
        _body_part(msg, message.body)
        attachments = [a for a in message.attachments if not a.inline]
    if attachments:
        msg.make_mixed()
        for attachment in attachments:
            msg.attach(_attachment_part(attachment))

    recipients: list[str] = []
    seen: set[str] = set()
    for address in [*to, *cc, *bcc]:
        if address.address.lower() not in seen:
            seen.add(address.address.lower())
            recipients.append(address.address)
    data = finish_message(msg)
    return BuiltMessage(
        data=data,
        message_id=message_id,
        envelope_from=_envelope_from(message.envelope_from) or sender.address,
        recipients=recipients,
    )


def _envelope_from(address: str) -> str:
    if not address.strip():
        return ""
    return checked_address(Address("", address.strip()), "MAIL FROM").address


# ------------------------------------------------------------------ replies and forwards


def _reply_address(address: Address) -> Address | None:
    """A parsed address made safe to prefill a reply; None if it has no address at all."""
    raw = "".join(clean_header_text(address.address).split())
    if not raw:
        return None
    try:
        normalised = normalise_addr_spec(raw)
    except AddressError:
        normalised = raw  # kept: the compose form will name it as invalid
    return Address(clean_header_text(address.name), normalised)


def _reply_addresses(addresses: list[Address], exclude: set[str]) -> list[Address]:
    """Converted, without excluded or repeated addresses; adds what it keeps to ``exclude``."""
    result: list[Address] = []
    for address in addresses:
        usable = _reply_address(address)
        if usable is None or usable.address.lower() in exclude:
            continue
        exclude.add(usable.address.lower())
        result.append(usable)
    return result


def reply_recipients(
    original: ParsedMessage, own_addresses: set[str], reply_all: bool
) -> tuple[list[Address], list[Address]]:
    """(To, Cc) for a reply to ``original``.

    To is Reply-To if present, else From; if the user sent the original (From is one of
    ``own_addresses``), the reply goes to its To instead. Reply-all puts the original's
    To and Cc into Cc. The user's own addresses and duplicates are left out everywhere
    (except that a message the user sent only to themselves is replied to themselves).
    """
    own = {a.strip().lower() for a in own_addresses}
    sender = _reply_address(original.from_) if original.from_ else None
    sent_by_user = sender is not None and sender.address.lower() in own
    seen = set(own)
    if sent_by_user:
        to = _reply_addresses(original.to, seen) or _reply_addresses(original.to, set())
        cc_sources = original.cc
    else:
        to = _reply_addresses(
            original.reply_to or ([original.from_] if original.from_ else []), seen
        )
        cc_sources = [*original.to, *original.cc]
    cc = _reply_addresses(cc_sources, seen) if reply_all else []
    return to, cc


def threading_headers(original: ParsedMessage) -> tuple[str, list[str]]:
    """(In-Reply-To, References) for a reply to ``original``, ids without <>.

    References is the original's References (or, lacking that, its In-Reply-To, as
    RFC 5322 §3.6.4 says) followed by its Message-ID. Unusable ids are dropped.
    """
    parent = original.message_id if MSG_ID.fullmatch(original.message_id or "") else ""
    chain = list(original.references)
    if not chain and original.in_reply_to:
        chain = [original.in_reply_to]
    chain = [ref for ref in chain if MSG_ID.fullmatch(ref)]
    if parent:
        chain.append(parent)
    return parent, list(dict.fromkeys(chain))


def format_when(moment: datetime, tz: tzinfo | None = None) -> str:
    return (moment.astimezone(tz) if tz else moment).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class QuoteLabels:
    """The words of a reply's attribution line and of a forward's header block.

    mailcore has no translations: the caller passes them in the user's language (the
    defaults are English). ``wrote`` takes ``%(date)s`` and ``%(who)s``;
    ``format_date`` writes a date already moved into the zone to show.
    """

    wrote: str = "On %(date)s, %(who)s wrote:"
    unknown_sender: str = "unknown sender"
    forwarded: str = "Forwarded message"
    from_: str = "From"
    date: str = "Date"
    subject: str = "Subject"
    to: str = "To"
    cc: str = "Cc"
    format_date: Callable[[datetime], str] = format_when


ENGLISH = QuoteLabels()


def _when(moment: datetime, tz: tzinfo | None, labels: QuoteLabels) -> str:
    return labels.format_date(moment.astimezone(tz) if tz else moment)


def _display(address: Address | None) -> str:
    usable = _reply_address(address) if address else None
    if usable is not None:
        return str(usable)
    return clean_header_text(address.name) if address else ""


def _body_text(original: ParsedMessage) -> str:
    text = original.text_body
    if not text.strip() and original.html_body:
        text = html_to_text(original.html_body)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def quote_for_reply(
    original: ParsedMessage, tz: tzinfo | None = None, labels: QuoteLabels = ENGLISH
) -> str:
    """Attribution line plus the original body quoted with "> ".

    Dates are shown in the original's own zone unless ``tz`` is given. Already quoted
    lines get ">" without a space (">> "), as mail clients do; trailing blank lines go.
    Names are the decoded display names (김지현), never encoded words.
    """
    who = _display(original.from_) or labels.unknown_sender
    lines = _body_text(original).rstrip().split("\n")
    quoted = "".join((">" if line.startswith(">") else "> ") + line + "\n" for line in lines)
    when = _when(original.date, tz, labels)
    return labels.wrote % {"date": when, "who": who} + "\n" + quoted


def forward_inline_text(
    original: ParsedMessage, tz: tzinfo | None = None, labels: QuoteLabels = ENGLISH
) -> str:
    """The "Forwarded message" header block and the original body, for an inline forward.

    Names are the decoded display names (김지현 <kim@example.kr>), never encoded words.
    """
    lines = [
        f"---------- {labels.forwarded} ----------",
        f"{labels.from_}: {_display(original.from_)}",
        f"{labels.date}: {_when(original.date, tz, labels)}",
        f"{labels.subject}: {clean_header_text(original.subject)}",
        f"{labels.to}: {', '.join(_display(a) for a in original.to)}",
    ]
    if original.cc:
        lines.append(f"{labels.cc}: {', '.join(_display(a) for a in original.cc)}")
    body = _body_text(original).rstrip("\n")
    return "\n".join(lines) + "\n\n" + body + "\n"


# ------------------------------------------------------------- replies inside HTML


def original_html(original: ParsedMessage, cid_url: Callable[[str], str | None] | None) -> str:
    """The original's body as compose HTML, for quoting or forwarding: its HTML sanitized
    for display (remote images removed, ``cid:`` images kept only where ``cid_url``
    answers a ``cid:`` URL), then narrowed to the compose allow-list; a plain-text
    original as paragraphs."""
    if original.html_body.strip():
        shown = sanitize_email_html(original.html_body, allow_remote=False, cid_url=cid_url).html
        return sanitize_compose_html(
            shown, image_src=lambda url: url if url.lower().startswith("cid:") else None
        )
    return text_to_html(_body_text(original).rstrip("\n"))


def quote_html_for_reply(
    original: ParsedMessage,
    tz: tzinfo | None = None,
    labels: QuoteLabels = ENGLISH,
    cid_url: Callable[[str], str | None] | None = None,
) -> str:
    """The attribution line, then the original in ``<blockquote type="cite">``."""
    who = _display(original.from_) or labels.unknown_sender
    attribution = labels.wrote % {"date": _when(original.date, tz, labels), "who": who}
    return (
        f"<p>{html_escape(attribution)}</p>"
        f'<blockquote type="cite">{original_html(original, cid_url)}</blockquote>'
    )


def forward_inline_html(
    original: ParsedMessage,
    tz: tzinfo | None = None,
    labels: QuoteLabels = ENGLISH,
    cid_url: Callable[[str], str | None] | None = None,
) -> str:
    """The "Forwarded message" header block and the original's body, as compose HTML."""
    header, _, _ = forward_inline_text(original, tz, labels).partition("\n\n")
    lines = "<br>".join(html_escape(line) for line in header.split("\n"))
    return f"<p>{lines}</p>{original_html(original, cid_url)}"
