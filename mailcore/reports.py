"""Delivery reports (DSN, RFC 3464) and read receipts (MDN, RFC 8098): parsing and building.

:func:`parse_report` reads a DSN or MDN that came back; :func:`read_receipt_address`
tells whether a received message asks for a read receipt, and
:func:`build_read_receipt` builds the MDN that answers it (with :mod:`mailcore.compose`'s
builder, so the same header-injection checks apply).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value, format_datetime, getaddresses, make_msgid
from io import BytesIO

from .addresses import Address, AddressError, checked_address, normalise_addr_spec
from .compose import (
    MSG_ID,
    POLICY,
    BuiltMessage,
    finish_message,
    format_when,
    header_address,
    to_crlf,
)
from .mime import ParsedMessage, decode_charset, decode_header_text, parse_headers
from .mime.dates import aware, parse_date
from .mime.headers import check_header_text, clean_header_text

__all__ = [
    "ReadReceiptText",
    "Report",
    "ReportRecipient",
    "build_read_receipt",
    "parse_report",
    "read_receipt_address",
]


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
                return normalise_addr_spec(addr.strip())
            except AddressError:
                continue
    except Exception:  # noqa: BLE001 - called on every incoming message
        return None
    return None


@dataclass(frozen=True)
class ReadReceiptText:
    """The words of a read receipt for people: its subject and its text/plain part.

    In the language of the person sending the receipt, which this library does not know:
    the caller passes its translations (%-format strings with the placeholders below).
    The machine-readable part (message/disposition-notification) is never translated.
    """

    subject: str = "Read: %(subject)s"
    subject_without_original: str = "Read receipt"
    intro: str = "This is a read receipt for the message you sent to %(address)s."
    original_subject: str = "Subject: %(subject)s"
    original_sent: str = "Sent: %(date)s"
    displayed: str = "It was displayed on %(date)s."
    disclaimer: str = "This does not guarantee that the message was read or understood."

    def subject_for(self, original_subject: str) -> str:
        """The receipt's subject for a message with ``original_subject`` ("" if none)."""
        if not original_subject:
            return self.subject_without_original
        return self.subject % {"subject": original_subject}


def build_read_receipt(
    original: ParsedMessage,
    *,
    original_raw_headers: bytes | None,
    sender: Address,
    reporting_ua: str = "webmail",
    to: str | None = None,
    date: datetime | None = None,
    text: ReadReceiptText | None = None,
) -> BuiltMessage:
    """An RFC 8098 "displayed" MDN for ``original``, sent manually by ``sender``.

    It goes to ``to`` or else to the Disposition-Notification-To found in
    ``original_raw_headers`` (whole raw messages are fine: only the header block is
    used and attached). Its subject and human-readable part are worded by ``text``
    (English by default). Raises ValueError if there is no address to send it to.
    """
    text = text or ReadReceiptText()
    target = to or (read_receipt_address(original_raw_headers) if original_raw_headers else None)
    if not target:
        raise ValueError("the message asks for no read receipt")
    recipient = Address("", normalise_addr_spec(target))
    sender = checked_address(sender, "From")
    check_header_text(reporting_ua, "Reporting-UA")
    if not reporting_ua.isascii():
        raise ValueError("Reporting-UA must be ASCII")
    when = aware(date, local_now=True)
    subject = clean_header_text(original.subject)
    parent = original.message_id if MSG_ID.fullmatch(original.message_id or "") else ""
    message_id = make_msgid(domain=sender.address.rpartition("@")[2])[1:-1]

    msg = EmailMessage(policy=POLICY)
    msg["Date"] = format_datetime(when)
    msg["From"] = header_address(sender)
    msg["To"] = header_address(recipient)
    msg["Subject"] = text.subject_for(subject)
    msg["Message-ID"] = f"<{message_id}>"
    if parent:
        msg["In-Reply-To"] = f"<{parent}>"
        msg["References"] = f"<{parent}>"
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = "multipart/report; report-type=disposition-notification"

    about = [text.original_subject % {"subject": subject}]
    if not original.date_is_fallback:
        about.append(text.original_sent % {"date": format_when(original.date, None)})
    displayed = f"{format_when(when, None)} ({format_datetime(when)})"
    human = MIMEPart(policy=POLICY)
    human.set_content(
        text.intro % {"address": sender.address}
        + "\n\n"
        + "\n".join(about)
        + "\n\n"
        + text.displayed % {"date": displayed}
        + "\n"
        + text.disclaimer
        + "\n",
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
    notification = MIMEPart(policy=POLICY)
    notification["Content-Type"] = "message/disposition-notification"
    notification.set_payload("".join(line + "\r\n" for line in fields))
    msg.attach(notification)

    if original_raw_headers:
        headers_text, _ = decode_charset(to_crlf(_header_block(original_raw_headers)), None)
        headers = MIMEPart(policy=POLICY)
        headers.set_content(headers_text.replace("\r\n", "\n"), subtype="rfc822-headers")
        msg.attach(headers)

    data = finish_message(msg)
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
        arrival = parse_date(per_message.get("arrival-date", ""), _one_line)
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
        when=parse_date(fields.get("last-attempt-date", ""), _one_line) or arrival,
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
