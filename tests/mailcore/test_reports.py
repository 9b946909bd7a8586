"""Tests of mailcore.reports: read receipts asked for and sent, DSNs and MDNs parsed."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser

import pytest

from mailcore.addresses import Address
from mailcore.compose import BuiltMessage
from mailcore.mime import parse_message
from mailcore.reports import (
    ReadReceiptText,
    build_read_receipt,
    parse_report,
    read_receipt_address,
)
from testkit import mailfactory as mf

KST = timezone(timedelta(hours=9))
ME = Address("김민수", "minsu@example.kr")


def parse_back(built: BuiltMessage):
    return BytesParser(policy=policy.default).parsebytes(built.data)


def original(headers: str, body: str = "Hello\n") -> bytes:
    return mf.crlf(headers.strip("\n") + "\n\n" + body)


# ------------------------------------------------------------------ read receipts

ASKS_RECEIPT = original(
    """
From: Alice <alice@example.com>
To: 김민수 <minsu@example.kr>
Subject: =?utf-8?b?7ZqM7J2YIOyekOujjA==?=
Date: Thu, 26 Nov 2026 09:00:00 +0900
Message-ID: <ask-1@example.com>
Disposition-Notification-To: =?utf-8?q?Alice_=EA=B9=80?= <Alice@Example.com>
"""
)


def test_read_receipt_address():
    assert read_receipt_address(ASKS_RECEIPT) == "Alice@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        original("From: a@x.test\nSubject: no receipt wanted\n"),
        original("From: a@x.test\nDisposition-Notification-To: not an address\n"),
        original(
            "From: a@x.test\nDisposition-Notification-To: a@x.test\n"
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n"
        ),
        b"",
        b"\xff\xfe garbage",
    ],
)
def test_read_receipt_address_none(raw):
    assert read_receipt_address(raw) is None


def test_read_receipt_address_reads_only_the_header_block():
    raw = original("From: a@x.test\n", "Disposition-Notification-To: b@y.test\n")
    assert read_receipt_address(raw) is None


def make_receipt(raw: bytes = ASKS_RECEIPT) -> BuiltMessage:
    return build_read_receipt(
        parse_message(raw),
        original_raw_headers=raw,
        sender=ME,
        date=datetime(2026, 11, 26, 11, 0, tzinfo=KST),
    )


def test_read_receipt_structure():
    built = make_receipt()
    msg = parse_back(built)
    assert built.recipients == ["Alice@example.com"]
    assert built.envelope_from == "minsu@example.kr"
    assert built.message_id.endswith("@example.kr")
    assert msg["To"] == "Alice@example.com"
    assert msg["In-Reply-To"] == "<ask-1@example.com>"
    assert msg["References"] == "<ask-1@example.com>"
    assert msg["Subject"] == "Read: 회의 자료"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "disposition-notification"
    human, notification, headers = msg.get_payload()
    assert human.get_content_type() == "text/plain"
    assert "displayed" in human.get_content()
    assert notification.get_content_type() == "message/disposition-notification"
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Message-ID: <ask-1@example.com>" in headers.get_content()
    fields = notification.get_payload()[0]
    assert fields["Reporting-UA"] == "webmail"
    assert fields["Final-Recipient"] == "rfc822;minsu@example.kr"
    assert fields["Original-Message-ID"] == "<ask-1@example.com>"
    assert fields["Disposition"] == "manual-action/MDN-sent-manually; displayed"
    assert "Original-Recipient" not in fields  # the original carried none


def make_receipt_with(text, raw: bytes = ASKS_RECEIPT) -> BuiltMessage:
    return build_read_receipt(
        parse_message(raw),
        original_raw_headers=raw,
        sender=ME,
        date=datetime(2026, 11, 26, 11, 0, tzinfo=KST),
        text=text,
    )


KOREAN = ReadReceiptText(
    subject="읽음: %(subject)s",
    subject_without_original="읽음 확인",
    intro="%(address)s 주소로 보내신 메일의 읽음 확인입니다.",
    original_subject="제목: %(subject)s",
    original_sent="보낸 날짜: %(date)s",
    displayed="이 메일은 %(date)s에 열람되었습니다.",
    disclaimer="읽었거나 이해했다는 보장은 아닙니다.",
)


def test_read_receipt_words_for_people_are_the_callers():
    msg = parse_back(make_receipt_with(KOREAN))
    assert msg["Subject"] == "읽음: 회의 자료"
    assert msg.get_payload()[0].get_content().replace("\r\n", "\n") == (
        "minsu@example.kr 주소로 보내신 메일의 읽음 확인입니다.\n\n"
        "제목: 회의 자료\n보낸 날짜: 2026-11-26 09:00\n\n"
        "이 메일은 2026-11-26 11:00 (Thu, 26 Nov 2026 11:00:00 +0900)에 열람되었습니다.\n"
        "읽었거나 이해했다는 보장은 아닙니다.\n"
    )


def test_read_receipt_machine_part_is_the_same_whatever_the_words():
    english, korean = (
        parse_back(make_receipt_with(text)).get_payload()[1].get_payload()[0].as_string()
        for text in (None, KOREAN)
    )
    assert korean == english


def test_read_receipt_subject_without_an_original_subject():
    raw = original(
        "From: a@x.test\nMessage-ID: <m@x.test>\nDisposition-Notification-To: a@x.test\n"
    )
    assert parse_back(make_receipt(raw))["Subject"] == "Read receipt"
    assert parse_back(make_receipt_with(KOREAN, raw))["Subject"] == "읽음 확인"


def test_read_receipt_round_trips_through_parse_report():
    report = parse_report(make_receipt().data)
    assert report is not None
    assert report.kind == "mdn"
    assert report.original_message_id == "ask-1@example.com"
    assert report.original_envelope_id == ""
    assert [(r.recipient, r.action, r.status) for r in report.recipients] == [
        ("minsu@example.kr", "displayed", "")
    ]
    assert report.recipients[0].when == datetime(2026, 11, 26, 11, 0, tzinfo=KST)


def test_read_receipt_copies_original_recipient_when_present():
    raw = original(
        "From: a@x.test\nMessage-ID: <m@x.test>\nDisposition-Notification-To: a@x.test\n"
        "Original-Recipient: rfc822;minsu@example.kr\n"
    )
    fields = parse_back(make_receipt(raw)).get_payload()[1].get_payload()[0]
    assert fields["Original-Recipient"] == "rfc822;minsu@example.kr"


def test_read_receipt_without_headers_part_needs_an_address():
    parsed = parse_message(ASKS_RECEIPT)
    with pytest.raises(ValueError):
        build_read_receipt(parsed, original_raw_headers=None, sender=ME)
    built = build_read_receipt(parsed, original_raw_headers=None, sender=ME, to="alice@example.com")
    assert len(parse_back(built).get_payload()) == 2


def test_read_receipt_refused_when_not_asked():
    raw = original("From: a@x.test\nMessage-ID: <m@x.test>\n")
    with pytest.raises(ValueError):
        make_receipt(raw)


# ------------------------------------------------------------------------- reports

POSTFIX_BOUNCE = mf.crlf(
    """Return-Path: <>
Date: Tue,  5 Mar 2024 10:00:05 +0900 (KST)
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: alice@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4B3F21C0F2B.1709600405/mail.example.com"
Content-Transfer-Encoding: 8bit
Message-Id: <20240305010005.4B3F21C0F2B@mail.example.com>

This is a MIME-encapsulated message.

--4B3F21C0F2B.1709600405/mail.example.com
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mail.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<nobody@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1
    <nobody@example.net>: Recipient address rejected: User unknown (in reply
    to RCPT TO command)

--4B3F21C0F2B.1709600405/mail.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
X-Postfix-Queue-ID: 4B3F21C0F2B
X-Postfix-Sender: rfc822; alice@example.com
Arrival-Date: Tue,  5 Mar 2024 10:00:01 +0900 (KST)
Original-Envelope-Id: sent-1+2Btag@example.com

Final-Recipient: rfc822; nobody@example.net
Original-Recipient: rfc822;nobody@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: Recipient address
    rejected: User unknown

Final-Recipient: rfc822; full@example.net
Action: failed
Status: 5.2.2
Last-Attempt-Date: Tue,  5 Mar 2024 10:00:04 +0900 (KST)
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

--4B3F21C0F2B.1709600405/mail.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <alice@example.com>
From: Alice <alice@example.com>
To: nobody@example.net, full@example.net
Subject: 안녕
Message-Id: <sent-1@example.com>
Date: Tue,  5 Mar 2024 10:00:00 +0900

--4B3F21C0F2B.1709600405/mail.example.com--
"""
)


def test_parse_postfix_bounce():
    report = parse_report(POSTFIX_BOUNCE)
    assert report is not None
    assert report.kind == "dsn"
    assert report.original_message_id == "sent-1@example.com"  # from the attached headers
    assert report.original_envelope_id == "sent-1+tag@example.com"  # xtext decoded
    first, second = report.recipients
    assert first.recipient == "nobody@example.net"
    assert first.action == "failed"
    assert first.status == "5.1.1"
    assert first.diagnostic == (
        "smtp; 550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"
    )
    assert first.when == datetime(2024, 3, 5, 10, 0, 1, tzinfo=KST)  # Arrival-Date
    assert (second.recipient, second.status, second.diagnostic) == (
        "full@example.net",
        "5.2.2",
        "smtp; 552 5.2.2 Mailbox full",
    )
    assert second.when == datetime(2024, 3, 5, 10, 0, 4, tzinfo=KST)  # Last-Attempt-Date


SUCCESS_DSN = mf.crlf(
    """From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
Subject: Successful Mail Delivery Report
To: alice@example.com
In-Reply-To: <sent-2@example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="XYZ"

--XYZ
Content-Type: text/plain; charset=us-ascii

Your message was successfully delivered to the destination(s) listed below.

--XYZ
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
Arrival-Date: Tue,  5 Mar 2024 11:00:00 +0900 (KST)

Final-Recipient: rfc822; bob@example.org
Action: relayed
Status: 2.0.0
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 12345

--XYZ--
"""
)


def test_parse_success_dsn():
    report = parse_report(SUCCESS_DSN)
    assert report is not None
    assert report.kind == "dsn"
    assert report.original_message_id == "sent-2@example.com"  # from In-Reply-To
    assert report.original_envelope_id == ""
    (recipient,) = report.recipients
    assert (recipient.recipient, recipient.action, recipient.status) == (
        "bob@example.org",
        "relayed",
        "2.0.0",
    )
    assert recipient.diagnostic == "smtp; 250 2.0.0 Ok: queued as 12345"


def test_parse_dsn_without_blank_lines_between_recipients():
    raw = SUCCESS_DSN.replace(
        b"Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 12345\r\n",
        b"Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 12345\r\n"
        b"Final-Recipient: rfc822;<carol@example.org>\r\nAction: Delayed (retrying)\r\n"
        b"Status: 4.4.1 (connection timed out)\r\n",
    )
    report = parse_report(raw)
    assert report is not None
    assert [(r.recipient, r.action, r.status) for r in report.recipients] == [
        ("bob@example.org", "relayed", "2.0.0"),
        ("carol@example.org", "delayed", "4.4.1"),
    ]


def test_parse_base64_encoded_delivery_status():
    status = (
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.0.0\r\n"
    )
    raw = mf.crlf(
        "From: postmaster@example.com\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(status.encode()).decode()
        + "\n--b--\n"
    )
    report = parse_report(raw)
    assert report is not None
    assert [(r.recipient, r.action, r.status) for r in report.recipients] == [
        ("bob@example.org", "failed", "5.0.0")
    ]


THUNDERBIRD_MDN = mf.crlf(
    """Message-ID: <a1b2c3d4@example.org>
Date: Tue, 5 Mar 2024 12:34:56 +0900
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: Bob <bob@example.org>
Subject: Return Receipt (displayed) - =?UTF-8?B?7JWI64WV?=
To: alice@example.com
References: <sent-3@example.com>
Content-Type: multipart/report; report-type=disposition-notification;
 boundary="------------A1B2C3"

This is a multi-part message in MIME format.
--------------A1B2C3
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

This is a Return Receipt for the mail that you sent to bob@example.org.

Note: This Return Receipt only acknowledges that the message was displayed
on the recipient's computer.

--------------A1B2C3
Content-Type: message/disposition-notification; name="MDNPart2.txt"
Content-Disposition: inline
Content-Transfer-Encoding: 7bit

Reporting-UA: example.org; Mozilla Thunderbird
Final-Recipient: rfc822;bob@example.org
Original-Message-ID: <sent-3@example.com>
Disposition: manual-action/MDN-sent-manually; displayed

--------------A1B2C3
Content-Type: text/rfc822-headers; name="MDNPart3.txt"
Content-Disposition: inline
Content-Transfer-Encoding: 7bit

From: Alice <alice@example.com>
Subject: =?UTF-8?B?7JWI64WV?=
Message-ID: <sent-3@example.com>

--------------A1B2C3--
"""
)


def test_parse_thunderbird_mdn():
    report = parse_report(THUNDERBIRD_MDN)
    assert report is not None
    assert report.kind == "mdn"
    assert report.original_message_id == "sent-3@example.com"
    (recipient,) = report.recipients
    assert (recipient.recipient, recipient.action, recipient.status) == (
        "bob@example.org",
        "displayed",
        "",
    )
    assert recipient.when == datetime(2024, 3, 5, 12, 34, 56, tzinfo=KST)


def test_parse_mdn_deleted_with_old_modifier_and_id_from_in_reply_to():
    raw = (
        THUNDERBIRD_MDN.replace(b"Original-Message-ID: <sent-3@example.com>\r\n", b"")
        .replace(b"References: <sent-3@example.com>", b"In-Reply-To: <sent-4@example.com>")
        .replace(b"MDN-sent-manually; displayed", b"MDN-sent-automatically; deleted/expired")
    )
    report = parse_report(raw)
    assert report is not None
    assert report.original_message_id == "sent-4@example.com"
    assert report.recipients[0].action == "deleted"


@pytest.mark.parametrize(
    "raw",
    [
        original("From: a@x.test\nSubject: plain\n"),
        POSTFIX_BOUNCE.replace(b"report-type=delivery-status", b"report-type=feedback-report"),
        POSTFIX_BOUNCE.replace(b"multipart/report", b"multipart/mixed"),
        b"",
        b"\x00\xff" * 100,
        b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary",
    ],
)
def test_parse_report_none_for_other_messages(raw):
    assert parse_report(raw) is None


def test_parse_report_never_raises_on_truncated_input():
    for cut in range(0, len(POSTFIX_BOUNCE), 97):
        parse_report(POSTFIX_BOUNCE[:cut])


EXIM_BOUNCE = mf.crlf(
    """From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: alice@example.com
Subject: Mail delivery failed: returning message to sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=1709600405-eximdsn

--1709600405-eximdsn
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

--1709600405-eximdsn
Content-type: message/delivery-status


Reporting-MTA: dns; mx.example.com

Action: failed
Final-Recipient: rfc822;gone@example.org
Status: 5.0.0
Diagnostic-Code: smtp; 550 사용자 없음

--1709600405-eximdsn
Content-type: message/rfc822

From: Alice <alice@example.com>
To: gone@example.org
Subject: hi
Message-ID: <sent-5@example.com>

body
--1709600405-eximdsn--
"""
)


def test_parse_exim_bounce_with_attached_message_and_8bit_diagnostic():
    report = parse_report(EXIM_BOUNCE)
    assert report is not None
    assert report.original_message_id == "sent-5@example.com"
    (recipient,) = report.recipients
    assert (recipient.recipient, recipient.action, recipient.status) == (
        "gone@example.org",
        "failed",
        "5.0.0",
    )
    assert recipient.diagnostic == "smtp; 550 사용자 없음"
    assert recipient.when is None


def test_read_receipt_accepts_the_bare_header_block():
    head = ASKS_RECEIPT.split(b"\r\n\r\n", 1)[0]  # as the outbox passes it
    assert read_receipt_address(head) == "Alice@example.com"
    built = build_read_receipt(parse_message(ASKS_RECEIPT), original_raw_headers=head, sender=ME)
    assert built.recipients == ["Alice@example.com"]
    assert "Disposition-Notification-To:" in parse_back(built).get_payload()[2].get_content()
