"""Outgoing mail: address lists, building messages, replies/forwards, MDNs and reports.

Django-free like :mod:`mailcore.mime`, whose parser it reuses for everything incoming.

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

import base64
import binascii
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email import policy
from email.generator import BytesGenerator
from email.headerregistry import Address as EmailAddress
from email.headerregistry import AddressHeader, HeaderRegistry
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.utils import (
    collapse_rfc2231_value,
    format_datetime,
    getaddresses,
    make_msgid,
    parsedate_to_datetime,
)
from io import BytesIO

import pybase64

from .mime import (
    Address,
    ParsedMessage,
    decode_charset,
    decode_header_text,
    html_to_text,
    parse_headers,
    safe_filename,
)

__all__ = [
    "AddressError",
    "BuiltMessage",
    "Mailbox",
    "OutgoingAttachment",
    "OutgoingMessage",
    "Report",
    "ReportRecipient",
    "build_message",
    "build_read_receipt",
    "clean_header_text",
    "forward_inline_text",
    "forward_subject",
    "has_control_chars",
    "parse_address_list",
    "parse_report",
    "quote_for_reply",
    "read_receipt_address",
    "reply_recipients",
    "reply_subject",
    "threading_headers",
]


# ------------------------------------------------------------------- control characters

# C0 (except TAB), DEL, C1 and U+2028/9: everything str.splitlines() breaks on, since the
# email package folds headers with it and could turn any of them into a real line break.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_RUN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?]*)\?=")
# Also NEL, U+2028 and U+2029 as UTF-8, which str.splitlines() would break on.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]|\xc2\x85|\xe2\x80[\xa8\xa9]")


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
    return _CONTROL_RUN.sub(" ", value).strip()


def _hides_controls(value: str) -> bool:
    """True if an encoded word in ``value`` decodes to a control: the email package decodes
    literal ``=?...?=`` text it is given, then writes the result out unescaped."""
    for match in _ENCODED_WORD.finditer(value):
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


def _check_header_text(value: str, what: str) -> str:
    if has_control_chars(value) or _hides_controls(value):
        raise ValueError(f"{what} contains a line break or control character")
    return value


# ------------------------------------------------------------------------- addresses


class AddressError(ValueError):
    """An address list item that is not a usable address; ``item`` names it for the user."""

    def __init__(self, item: str, reason: str = "invalid address") -> None:
        super().__init__(f"{item!r}: {reason}")
        self.item = item
        self.reason = reason


_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
_QUOTED_LOCAL = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"')
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A display name that needs no quotes: atoms (non-ASCII allowed, RFC 6532) and spaces.
_PLAIN_PHRASE = re.compile(rf"[\u0080-\U0010ffff{_ATEXT}]+(?: [\u0080-\U0010ffff{_ATEXT}]+)*")


@dataclass(frozen=True)
class Mailbox:
    """One address with an optional display name; ``address`` is ASCII (IDNA A-labels)."""

    name: str
    address: str

    def __str__(self) -> str:
        if not self.name:
            return self.address
        name = self.name
        if not _PLAIN_PHRASE.fullmatch(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{self.address}>"


def _normalise_addr_spec(addr: str) -> str:
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


def _parse_item(raw: str) -> Mailbox | None:
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
        address = _normalise_addr_spec(addr)
    except AddressError as exc:
        raise AddressError(shown, exc.reason) from None
    return Mailbox(name=clean_header_text(name or comment), address=address)


def parse_address_list(text: str) -> list[Mailbox]:
    """Parse what a user typed into To/Cc/Bcc; "" gives []. Commas or semicolons separate.

    Raises AddressError for the first bad item. Addresses come back normalised:
    domains lowercased and IDNA-encoded (``user@xn--3e0b707e.kr``), local parts as typed.
    """
    if not text or not text.strip():
        if text and has_control_chars(text):
            raise AddressError(_item_text(text), "contains a line break or control character")
        return []
    mailboxes = [_parse_item(raw) for raw in _split_items(text)]
    return [m for m in mailboxes if m is not None]


# ------------------------------------------------------------------------- building


@dataclass
class OutgoingAttachment:
    filename: str
    content_type: str | None  # None: guessed from the filename
    data: bytes = field(repr=False)


@dataclass
class OutgoingMessage:
    sender: Mailbox
    to: list[Mailbox]
    cc: list[Mailbox] = field(default_factory=list)
    bcc: list[Mailbox] = field(default_factory=list)  # envelope only, never a header
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""  # without <>
    references: list[str] = field(default_factory=list)  # without <>
    # A message/rfc822 attachment (a forwarded original) is embedded unchanged, bar
    # line endings; everything else is base64.
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    request_read_receipt: bool = False
    message_id: str | None = None  # without <>; generated on the sender's domain if None
    date: datetime | None = None  # now if None


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


_POLICY = _make_policy()
MAX_LINE_OCTETS = 998
_MSG_ID = re.compile(r"[!-;=?-~]+")  # printable ASCII without <, > and spaces
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


_TEXT_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what the generator splits lines on


class _Generator(BytesGenerator):
    # The stock BytesGenerator refuses 8-bit bytes in a string payload; forwarded
    # originals are stored that way (surrogate-escaped) so they are written verbatim.
    def _encode(self, s: str) -> bytes:  # type: ignore[override]
        return s.encode("ascii", "surrogateescape")

    # The stock method writes a payload line by line (two calls per line: a 100 KB
    # attachment made 3,000); one substitution writes the same bytes.
    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_TEXT_LINE_BREAK.sub(self._NL, lines))


def _checked_mailbox(mailbox: Mailbox, what: str) -> Mailbox:
    _check_header_text(mailbox.name, f"{what} name")
    try:
        address = _normalise_addr_spec(mailbox.address)
    except AddressError as exc:
        raise AddressError(mailbox.address, exc.reason) from None
    return Mailbox(mailbox.name.strip(), address)


def _header_address(mailbox: Mailbox) -> EmailAddress:
    return EmailAddress(display_name=mailbox.name, addr_spec=mailbox.address)


def _checked_id(value: str, what: str) -> str:
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if not _MSG_ID.fullmatch(value):
        raise ValueError(f"{what} is not a valid message id: {value!r}")
    return value


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC).astimezone()
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _crlf(data: bytes) -> bytes:
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
    if _CONTENT_TYPE.fullmatch(ctype):
        return ctype
    extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    guessed = mimetypes.guess_type(filename, strict=False)[0]
    return guessed or _EXTRA_TYPES.get(extension) or "application/octet-stream"


def _body_part(target: Message, body: str) -> None:
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    cte = None
    # EmailMessage already avoids 7bit for lines over 78; this makes the SMTP limit explicit.
    if any(len(line) > MAX_LINE_OCTETS for line in body.encode("utf-8").split(b"\n")):
        cte = "quoted-printable" if body.isascii() else "base64"
    target.set_content(body, subtype="plain", charset="utf-8", cte=cte)


def _rfc822_part(filename: str, raw: bytes) -> MIMEPart:
    data = _crlf(raw)
    part = MIMEPart(policy=_POLICY)
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
    part = MIMEPart(policy=_POLICY)
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


def _finish(msg: EmailMessage) -> bytes:
    """Serialise ``msg`` and check that the header block holds exactly the headers we set."""
    out = BytesIO()
    _Generator(out, policy=_POLICY).flatten(msg)
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
    sender = _checked_mailbox(message.sender, "From")
    to = [_checked_mailbox(m, "To") for m in message.to]
    cc = [_checked_mailbox(m, "Cc") for m in message.cc]
    bcc = [_checked_mailbox(m, "Bcc") for m in message.bcc]
    subject = _check_header_text(message.subject, "Subject")
    in_reply_to, references = _threading(message.in_reply_to, message.references)
    domain = sender.address.rpartition("@")[2]
    if message.message_id:
        message_id = _checked_id(message.message_id, "Message-ID")
    else:
        message_id = make_msgid(domain=domain)[1:-1]

    msg = EmailMessage(policy=_POLICY)
    msg["Date"] = format_datetime(_aware(message.date))
    msg["From"] = _header_address(sender)
    if to:
        msg["To"] = [_header_address(m) for m in to]
    if cc:
        msg["Cc"] = [_header_address(m) for m in cc]
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{ref}>" for ref in references)
    if message.request_read_receipt:
        msg["Disposition-Notification-To"] = _header_address(sender)
    _body_part(msg, message.body)
    if message.attachments:
        msg.make_mixed()
        for attachment in message.attachments:
            msg.attach(_attachment_part(attachment))

    recipients: list[str] = []
    seen: set[str] = set()
    for mailbox in [*to, *cc, *bcc]:
        if mailbox.address.lower() not in seen:
            seen.add(mailbox.address.lower())
            recipients.append(mailbox.address)
    data = _finish(msg)
    return BuiltMessage(
        data=data, message_id=message_id, envelope_from=sender.address, recipients=recipients
    )


# ------------------------------------------------------------------ replies and forwards

_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|antw|回复|回覆|答复|답장|회신)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*", re.I
)
_FORWARD_PREFIX = re.compile(
    r"^\s*(?:fwd|fw|전달|转发|轉寄)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*", re.I
)


def _strip_prefixes(subject: str, prefix: re.Pattern[str]) -> str:
    subject = clean_header_text(subject)
    while match := prefix.match(subject):
        subject = subject[match.end() :]
    return subject


def reply_subject(subject: str) -> str:
    """``Re: <subject>`` without stacking reply prefixes; always a single clean line."""
    rest = _strip_prefixes(subject, _REPLY_PREFIX)
    return f"Re: {rest}" if rest else "Re:"


def forward_subject(subject: str) -> str:
    """``Fwd: <subject>`` without stacking forward prefixes; always a single clean line."""
    rest = _strip_prefixes(subject, _FORWARD_PREFIX)
    return f"Fwd: {rest}" if rest else "Fwd:"


def _mailbox(address: Address) -> Mailbox | None:
    """A parsed address as a prefill-safe Mailbox; None if it has no address at all."""
    raw = "".join(clean_header_text(address.address).split())
    if not raw:
        return None
    try:
        normalised = _normalise_addr_spec(raw)
    except AddressError:
        normalised = raw  # kept: the compose form will name it as invalid
    return Mailbox(clean_header_text(address.name), normalised)


def _mailboxes(addresses: list[Address], exclude: set[str]) -> list[Mailbox]:
    """Converted, without excluded or repeated addresses; adds what it keeps to ``exclude``."""
    result: list[Mailbox] = []
    for address in addresses:
        mailbox = _mailbox(address)
        if mailbox is None or mailbox.address.lower() in exclude:
            continue
        exclude.add(mailbox.address.lower())
        result.append(mailbox)
    return result


def reply_recipients(
    original: ParsedMessage, own_addresses: set[str], reply_all: bool
) -> tuple[list[Mailbox], list[Mailbox]]:
    """(To, Cc) for a reply to ``original``.

    To is Reply-To if present, else From; if the user sent the original (From is one of
    ``own_addresses``), the reply goes to its To instead. Reply-all puts the original's
    To and Cc into Cc. The user's own addresses and duplicates are left out everywhere
    (except that a message the user sent only to themselves is replied to themselves).
    """
    own = {a.strip().lower() for a in own_addresses}
    sender = _mailbox(original.from_) if original.from_ else None
    sent_by_user = sender is not None and sender.address.lower() in own
    seen = set(own)
    if sent_by_user:
        to = _mailboxes(original.to, seen) or _mailboxes(original.to, set())
        cc_sources = original.cc
    else:
        to = _mailboxes(original.reply_to or ([original.from_] if original.from_ else []), seen)
        cc_sources = [*original.to, *original.cc]
    cc = _mailboxes(cc_sources, seen) if reply_all else []
    return to, cc


def threading_headers(original: ParsedMessage) -> tuple[str, list[str]]:
    """(In-Reply-To, References) for a reply to ``original``, ids without <>.

    References is the original's References (or, lacking that, its In-Reply-To, as
    RFC 5322 §3.6.4 says) followed by its Message-ID. Unusable ids are dropped.
    """
    parent = original.message_id if _MSG_ID.fullmatch(original.message_id or "") else ""
    chain = list(original.references)
    if not chain and original.in_reply_to:
        chain = [original.in_reply_to]
    chain = [ref for ref in chain if _MSG_ID.fullmatch(ref)]
    if parent:
        chain.append(parent)
    return parent, list(dict.fromkeys(chain))


def _format_when(moment: datetime, tz: tzinfo | None) -> str:
    return (moment.astimezone(tz) if tz else moment).strftime("%Y-%m-%d %H:%M")


def _display(address: Address | None) -> str:
    mailbox = _mailbox(address) if address else None
    if mailbox is not None:
        return str(mailbox)
    return clean_header_text(address.name) if address else ""


def _body_text(original: ParsedMessage) -> str:
    text = original.text_body
    if not text.strip() and original.html_body:
        text = html_to_text(original.html_body)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def quote_for_reply(original: ParsedMessage, tz: tzinfo | None = None) -> str:
    """Attribution line plus the original body quoted with "> ".

    Dates are shown in the original's own zone unless ``tz`` is given. Already quoted
    lines get ">" without a space (">> "), as mail clients do; trailing blank lines go.
    """
    who = _display(original.from_) or "unknown sender"
    lines = _body_text(original).rstrip().split("\n")
    quoted = "".join((">" if line.startswith(">") else "> ") + line + "\n" for line in lines)
    return f"On {_format_when(original.date, tz)}, {who} wrote:\n{quoted}"


def forward_inline_text(original: ParsedMessage, tz: tzinfo | None = None) -> str:
    """The "Forwarded message" header block and the original body, for an inline forward."""
    lines = [
        "---------- Forwarded message ----------",
        f"From: {_display(original.from_)}",
        f"Date: {_format_when(original.date, tz)}",
        f"Subject: {clean_header_text(original.subject)}",
        f"To: {', '.join(_display(a) for a in original.to)}",
    ]
    if original.cc:
        lines.append(f"Cc: {', '.join(_display(a) for a in original.cc)}")
    body = _body_text(original).rstrip("\n")
    return "\n".join(lines) + "\n\n" + body + "\n"


# ---------------------------------------------------------------------- read receipts

_HEADER_PARSER = BytesParser(policy=policy.compat32)


def _header_block(raw: bytes) -> bytes:
    """The header section of ``raw`` (everything before the first empty line)."""
    if raw.startswith((b"\r\n", b"\n")):
        return b""
    match = re.search(rb"\r?\n\r?\n", raw)
    return raw[: match.start()] + b"\r\n" if match else raw


def _raw_headers(raw: bytes) -> list[tuple[str, str]]:
    """(lowercased name, raw value) of each header in the header block of ``raw``."""
    msg = _HEADER_PARSER.parsebytes(_header_block(raw), headersonly=True)
    return [(name.strip().lower(), str(value)) for name, value in msg.raw_items()]


def read_receipt_address(original_raw: bytes) -> str | None:
    """The Disposition-Notification-To addr-spec of a message, or None.

    ``original_raw`` may be the whole message or its header block. None as well for
    multipart/report messages: RFC 8098 forbids answering a report with a read receipt
    (receipt loops). Never raises.
    """
    try:
        headers = _raw_headers(original_raw)
        content_type = next((v for k, v in headers if k == "content-type"), "")
        if decode_header_text(content_type).lower().startswith("multipart/report"):
            return None
        values = [clean_header_text(v) for k, v in headers if k == "disposition-notification-to"]
        for _name, addr in getaddresses(values):
            try:
                return _normalise_addr_spec(addr.strip())
            except AddressError:
                continue
    except Exception:  # noqa: BLE001 - called on every incoming message
        return None
    return None


def build_read_receipt(
    original: ParsedMessage,
    *,
    original_raw_headers: bytes | None,
    sender: Mailbox,
    reporting_ua: str = "webmail",
    to: str | None = None,
    date: datetime | None = None,
) -> BuiltMessage:
    """An RFC 8098 "displayed" MDN for ``original``, sent manually by ``sender``.

    It goes to ``to`` or else to the Disposition-Notification-To found in
    ``original_raw_headers`` (whole raw messages are fine: only the header block is
    used and attached). Raises ValueError if there is no address to send it to.
    """
    target = to or (read_receipt_address(original_raw_headers) if original_raw_headers else None)
    if not target:
        raise ValueError("the message asks for no read receipt")
    recipient = Mailbox("", _normalise_addr_spec(target))
    sender = _checked_mailbox(sender, "From")
    _check_header_text(reporting_ua, "Reporting-UA")
    if not reporting_ua.isascii():
        raise ValueError("Reporting-UA must be ASCII")
    when = _aware(date)
    subject = clean_header_text(original.subject)
    parent = original.message_id if _MSG_ID.fullmatch(original.message_id or "") else ""
    message_id = make_msgid(domain=sender.address.rpartition("@")[2])[1:-1]

    msg = EmailMessage(policy=_POLICY)
    msg["Date"] = format_datetime(when)
    msg["From"] = _header_address(sender)
    msg["To"] = _header_address(recipient)
    msg["Subject"] = f"Read: {subject}" if subject else "Read receipt"
    msg["Message-ID"] = f"<{message_id}>"
    if parent:
        msg["In-Reply-To"] = f"<{parent}>"
        msg["References"] = f"<{parent}>"
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = "multipart/report; report-type=disposition-notification"

    sent = "" if original.date_is_fallback else f"\nSent: {_format_when(original.date, None)}"
    human = MIMEPart(policy=_POLICY)
    human.set_content(
        f"This is a read receipt for the message you sent to {sender.address}.\n\n"
        f"Subject: {subject}{sent}\n\n"
        f"It was displayed on {_format_when(when, None)} ({format_datetime(when)}).\n"
        "This does not guarantee that the message was read or understood.\n",
        charset="utf-8",
    )
    msg.attach(human)

    fields = [f"Reporting-UA: {reporting_ua}"]
    original_recipient = _original_recipient(original_raw_headers)
    if original_recipient:
        fields.append(f"Original-Recipient: {original_recipient}")
    fields.append(f"Final-Recipient: rfc822;{sender.address}")
    if parent:
        fields.append(f"Original-Message-ID: <{parent}>")
    fields.append("Disposition: manual-action/MDN-sent-manually; displayed")
    notification = MIMEPart(policy=_POLICY)
    notification["Content-Type"] = "message/disposition-notification"
    notification.set_payload("".join(line + "\r\n" for line in fields))
    msg.attach(notification)

    if original_raw_headers:
        headers_text, _ = decode_charset(_crlf(_header_block(original_raw_headers)), None)
        headers = MIMEPart(policy=_POLICY)
        headers.set_content(headers_text.replace("\r\n", "\n"), subtype="rfc822-headers")
        msg.attach(headers)

    data = _finish(msg)
    return BuiltMessage(
        data=data,
        message_id=message_id,
        envelope_from=sender.address,
        recipients=[recipient.address],
    )


def _original_recipient(raw_headers: bytes | None) -> str:
    """The Original-Recipient header of the original, if any (RFC 8098 §3.2.3: the MDN
    field is only included when the message carried one)."""
    if not raw_headers:
        return ""
    for name, value in _raw_headers(raw_headers):
        if name != "original-recipient":
            continue
        text = clean_header_text(" ".join(value.split()))
        if text.isascii() and ";" in text:
            return text
    return ""


# --------------------------------------------------------------------------- reports


@dataclass
class ReportRecipient:
    recipient: str  # final recipient address
    action: str  # DSN action (delivered, failed...) or MDN disposition type (displayed...)
    status: str  # "5.1.1" (DSN) or "" (MDN)
    diagnostic: str  # Diagnostic-Code (DSN) or Error/Failure/Warning (MDN) text
    when: datetime | None  # DSN: Last-Attempt-Date, else Arrival-Date; MDN: report's Date


@dataclass
class Report:
    kind: str  # "dsn" or "mdn"
    original_message_id: str  # without <>, "" if unknown
    original_envelope_id: str  # ENVID, "" if absent
    recipients: list[ReportRecipient]


_STATUS_TYPES = {
    "delivery-status": ("dsn", ("message/delivery-status", "message/global-delivery-status")),
    "disposition-notification": (
        "mdn",
        ("message/disposition-notification", "message/global-disposition-notification"),
    ),
}
_ORIGINAL_TYPES = (
    "text/rfc822-headers",
    "message/rfc822",
    "message/rfc822-headers",
    "message/global",
    "message/global-headers",
)
_STATUS_CODE = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
_FIELD = re.compile(r"([!-9;-~]+)[ \t]*:(.*)")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")
_RECIPIENT_FIELDS = ("original-recipient", "final-recipient")


def parse_report(raw: bytes) -> Report | None:
    """A DSN (RFC 3464) or MDN (RFC 8098) read from ``raw``; None if it is neither.

    Only a top-level multipart/report with report-type delivery-status or
    disposition-notification, holding the matching status part, counts. Never raises.
    """
    try:
        return _parse_report(bytes(raw))
    except Exception:  # noqa: BLE001 - reports come from anywhere; a bad one is no report
        return None


def _parse_report(raw: bytes) -> Report | None:
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    if msg.get_content_type() != "multipart/report":
        return None
    report_type = collapse_rfc2231_value(msg.get_param("report-type", "") or "")
    report_type = str(report_type).strip().lower()
    if report_type not in _STATUS_TYPES:
        return None
    kind, status_types = _STATUS_TYPES[report_type]
    parts = msg.get_payload()
    parts = [p for p in parts if isinstance(p, Message)] if isinstance(parts, list) else []
    status = next((p for p in parts if p.get_content_type() in status_types), None)
    original = next((p for p in parts if p.get_content_type() in _ORIGINAL_TYPES), None)
    if status is None:
        return None  # no machine-readable part: nothing to report, show it as mail
    blocks = _field_blocks(_part_text(status))
    headers = parse_headers(raw)
    if kind == "mdn":
        per_message = {}
        for name, value in (item for block in blocks for item in block):
            per_message.setdefault(name, value)
        recipients = [_mdn_recipient(per_message, headers.date_is_fallback, headers.date)]
        recipients = [r for r in recipients if r.recipient or r.action]
    else:
        per_message, recipient_blocks = _split_dsn(blocks)
        arrival = _parse_date(per_message.get("arrival-date", ""))
        recipients = [_dsn_recipient(block, arrival) for block in recipient_blocks]
    message_id = _message_id(per_message.get("original-message-id", ""))
    if not message_id:
        message_id = headers.in_reply_to or (headers.references[-1] if headers.references else "")
    if not message_id and original is not None:
        message_id = parse_headers(_part_bytes(original)).message_id
    return Report(
        kind=kind,
        original_message_id=message_id,
        original_envelope_id=_envid(per_message.get("original-envelope-id", "")),
        recipients=recipients,
    )


def _part_bytes(part: Message) -> bytes:
    """The body of a MIME part as bytes, transfer encoding undone."""
    out = BytesIO()
    BytesGenerator(out, policy=policy.compat32, mangle_from_=False).flatten(part)
    data = out.getvalue()
    match = re.search(rb"\r?\n\r?\n", data)
    if data.startswith((b"\r\n", b"\n")):
        body = data.lstrip(b"\r\n")
    else:
        body = data[match.end() :] if match else b""
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte == "base64":
        body = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/]", b"", body) + b"==", validate=False)
    elif cte == "quoted-printable":
        body = binascii.a2b_qp(body)
    return body


def _part_text(part: Message) -> str:
    text, _ = decode_charset(_part_bytes(part), "utf-8")
    return text


def _field_blocks(text: str) -> list[list[tuple[str, str]]]:
    """Header-like blocks separated by blank lines; names lowercased, values unfolded."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
        elif line[0] in " \t" and current:
            name, value = current[-1]
            current[-1] = (name, f"{value} {line.strip()}")
        elif match := _FIELD.match(line):
            current.append((match.group(1).lower(), match.group(2).strip()))
    if current:
        blocks.append(current)
    return blocks


_PER_MESSAGE_FIELDS = frozenset(
    {"original-envelope-id", "reporting-mta", "dsn-gateway", "received-from-mta", "arrival-date"}
)


def _split_dsn(
    blocks: list[list[tuple[str, str]]],
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(per-message fields, one dict per recipient), tolerating missing blank lines."""
    per_message: dict[str, str] = {}
    recipients: list[dict[str, str]] = []
    for block in blocks:
        if not any(name in _RECIPIENT_FIELDS for name, _ in block):
            for name, value in block:
                per_message.setdefault(name, value)
            continue
        current: dict[str, str] | None = None
        pending: list[tuple[str, str]] = []  # fields before the block's first recipient
        for name, value in block:
            if name in _PER_MESSAGE_FIELDS:
                per_message.setdefault(name, value)  # blank line after them was missing
            elif name in _RECIPIENT_FIELDS and (current is None or name in current):
                current = dict(pending)  # a repeated recipient field starts the next one
                pending = []
                recipients.append(current)
            if current is None:
                pending.append((name, value))
            else:
                current.setdefault(name, value)
    return per_message, recipients


def _address_field(value: str) -> str:
    """``rfc822; user@example.com`` → ``user@example.com``."""
    _type, sep, address = value.partition(";")
    address = address if sep else value
    return clean_header_text(address).strip("<> ")


def _one_line(value: str) -> str:
    return " ".join(clean_header_text(value).split())


def _parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(_one_line(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _aware(moment)


def _dsn_recipient(fields: dict[str, str], arrival: datetime | None) -> ReportRecipient:
    status = _one_line(fields.get("status", ""))
    code = _STATUS_CODE.search(status)
    return ReportRecipient(
        recipient=_address_field(
            fields.get("final-recipient") or fields.get("original-recipient", "")
        ),
        action=(_one_line(fields.get("action", "")).lower().split() or [""])[0],
        status=code.group(0) if code else status,
        diagnostic=_one_line(fields.get("diagnostic-code", "")),
        when=_parse_date(fields.get("last-attempt-date", "")) or arrival,
    )


def _mdn_recipient(
    fields: dict[str, str], date_is_fallback: bool, date: datetime
) -> ReportRecipient:
    # "manual-action/MDN-sent-manually; displayed" (RFC 2298 added "/modifier" after it).
    disposition = _one_line(fields.get("disposition", ""))
    action = disposition.partition(";")[2].strip().split("/")[0].strip().lower()
    diagnostic = next(
        (_one_line(fields[k]) for k in ("error", "failure", "warning") if fields.get(k)), ""
    )
    return ReportRecipient(
        recipient=_address_field(
            fields.get("final-recipient") or fields.get("original-recipient", "")
        ),
        action=action,
        status="",
        diagnostic=diagnostic,
        when=None if date_is_fallback else date,
    )


def _message_id(value: str) -> str:
    text = _one_line(value)
    match = re.search(r"<([^<>\s]+)>", text)
    return match.group(1) if match else text.strip("<>")


def _envid(value: str) -> str:
    # The ENVID travels xtext-encoded in MAIL FROM; some MTAs report it still encoded.
    text = _one_line(value)
    return _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), text)
