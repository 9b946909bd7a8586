"""Tests of mailcore.compose: building messages, replies and forwards, header cleaning."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser

import pytest

from mailcore.addresses import Address, AddressError, parse_address_list
from mailcore.compose import (
    BuiltMessage,
    OutgoingAttachment,
    OutgoingMessage,
    QuoteLabels,
    build_message,
    clean_header_text,
    forward_inline_text,
    has_control_chars,
    quote_for_reply,
    reply_recipients,
    reply_subject,
    threading_headers,
)
from mailcore.mime import parse_message

KST = timezone(timedelta(hours=9))
ME = Address("김민수", "minsu@example.kr")


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def parse_back(built: BuiltMessage):
    return BytesParser(policy=policy.default).parsebytes(built.data)


def build(**kwargs) -> BuiltMessage:
    kwargs.setdefault("sender", ME)
    kwargs.setdefault("to", [Address("Bob", "bob@example.com")])
    kwargs.setdefault("date", datetime(2026, 11, 26, 10, 0, tzinfo=KST))
    return build_message(OutgoingMessage(**kwargs))


def text_of(part) -> str:
    # The email package keeps the canonical CRLF line breaks of parsed text.
    return part.get_content().replace("\r\n", "\n")


def header_names(data: bytes) -> list[str]:
    head = data.split(b"\r\n\r\n", 1)[0]
    msg = BytesParser(policy=policy.compat32).parsebytes(head + b"\r\n\r\n", headersonly=True)
    return [name.lower() for name in msg.keys()]


def original(headers: str, body: str = "Hello\n") -> bytes:
    return crlf(headers.strip("\n") + "\n\n" + body)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain subject", False),
        ("tab\tis fine", False),
        ("한국어 제목", False),
        ("cr\rhere", True),
        ("lf\nhere", True),
        ("nul\x00", True),
        ("escape\x1b", True),
        ("del\x7f", True),
        ("next line\x85", True),
        ("line separator\u2028", True),
    ],
)
def test_has_control_chars(value, expected):
    assert has_control_chars(value) is expected


def test_clean_header_text_joins_lines():
    assert clean_header_text(" Hello\r\nBcc: x@evil.test ") == "Hello Bcc: x@evil.test"


# ------------------------------------------------------------------------ building


def test_korean_subject_name_and_filename_round_trip_exactly():
    payload = bytes(range(256)) * 4
    built = build(
        to=[Address("홍길동", "gildong@example.kr")],
        subject="견적서 보내드립니다 (2026년 11월)",
        body="안녕하세요.\n견적서를 첨부합니다.\n",
        attachments=[OutgoingAttachment("견적서 2026.xlsx", None, payload)],
    )
    msg = parse_back(built)
    assert msg["Subject"] == "견적서 보내드립니다 (2026년 11월)"
    assert msg["From"].addresses[0].display_name == "김민수"
    assert msg["To"].addresses[0].display_name == "홍길동"
    body, attachment = list(msg.iter_parts())
    assert text_of(body) == "안녕하세요.\n견적서를 첨부합니다.\n"
    assert attachment.get_filename() == "견적서 2026.xlsx"
    assert attachment.get_content() == payload
    assert attachment.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


def test_non_ascii_headers_are_encoded_words_and_rfc2231():
    built = build(
        subject="견적서",
        attachments=[OutgoingAttachment("견적서 2026.xlsx", None, b"x")],
    )
    assert built.data.isascii()  # 7-bit clean: no 8BITMIME needed
    assert b"Subject: =?utf-8?b?" in built.data
    assert b"From: =?utf-8?b?" in built.data
    assert b"filename*=utf-8''%EA%B2%AC%EC%A0%81%EC%84%9C%202026.xlsx" in built.data


def test_our_parser_reads_the_built_message_back():
    built = build(
        subject="견적서",
        body="본문\n",
        attachments=[OutgoingAttachment("견적서 2026.xlsx", None, b"\x00data")],
    )
    parsed = parse_message(built.data)
    assert parsed.subject == "견적서"
    assert parsed.from_ is not None and parsed.from_.name == "김민수"
    assert parsed.text_body == "본문\n"
    assert [(a.filename, a.payload) for a in parsed.attachments] == [
        ("견적서 2026.xlsx", b"\x00data")
    ]


def test_standard_headers_and_crlf_line_endings():
    built = build(subject="Hi", cc=[Address("", "carol@example.com")])
    assert header_names(built.data)[:6] == ["date", "from", "to", "cc", "subject", "message-id"]
    assert sorted(header_names(built.data)[6:]) == [
        "content-transfer-encoding",
        "content-type",
        "mime-version",
    ]
    assert b"Date: Thu, 26 Nov 2026 10:00:00 +0900\r\n" in built.data
    assert b"\n" not in built.data.replace(b"\r\n", b"")
    assert b"\r" not in built.data.replace(b"\r\n", b"")


def test_bcc_is_envelope_only():
    built = build(
        to=[Address("Bob", "bob@example.com")],
        cc=[Address("", "carol@example.com")],
        bcc=[Address("Secret", "secret@example.net")],
    )
    assert "bcc" not in header_names(built.data)
    assert b"secret" not in built.data.lower()
    assert built.recipients == ["bob@example.com", "carol@example.com", "secret@example.net"]


def test_recipients_deduplicated_case_insensitively_in_order():
    built = build(
        to=[Address("", "bob@example.com"), Address("", "Carol@example.com")],
        cc=[Address("", "BOB@example.com")],
        bcc=[Address("", "carol@example.com"), Address("", "dave@example.com")],
    )
    assert built.recipients == ["bob@example.com", "Carol@example.com", "dave@example.com"]
    assert built.envelope_from == "minsu@example.kr"


def test_message_id_generated_on_sender_domain():
    built = build()
    assert built.message_id.endswith("@example.kr")
    assert parse_back(built)["Message-ID"] == f"<{built.message_id}>"


def test_message_id_given_is_used():
    built = build(message_id="<fixed-1@example.kr>")
    assert built.message_id == "fixed-1@example.kr"
    assert b"Message-ID: <fixed-1@example.kr>\r\n" in built.data


def test_international_domain_goes_out_as_a_label():
    built = build(to=[Address("", "user@한국.kr")])
    assert built.recipients == ["user@xn--3e0b707e.kr"]
    assert b"To: user@xn--3e0b707e.kr\r\n" in built.data


def test_no_recipients_in_to_only_bcc_omits_to():
    built = build(to=[], bcc=[Address("", "hidden@example.com")])
    assert "to" not in header_names(built.data)
    assert built.recipients == ["hidden@example.com"]


def test_plain_text_only_is_not_multipart():
    msg = parse_back(build(body="Just text.\n"))
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert text_of(msg) == "Just text.\n"


def test_attachments_make_multipart_mixed():
    msg = parse_back(
        build(body="See attached.", attachments=[OutgoingAttachment("a.pdf", None, b"%PDF")])
    )
    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "application/pdf"]
    assert parts[1].get_content_disposition() == "attachment"


def test_each_multipart_boundary_is_fresh_random_and_found_only_where_it_separates():
    # The boundary is not checked against the body (mailcore.compose._Generator): it is
    # 128 random bits, so a body that spells out other messages' boundaries cannot
    # collide with its own.
    earlier = build(body="x", attachments=[OutgoingAttachment("a.bin", None, b"1")])
    earlier_boundary = parse_back(earlier).get_boundary()
    built = build(
        body=f"--{earlier_boundary}\n--{earlier_boundary}--\n",
        html='<p>Hi <img src="cid:c1@x"></p>',
        attachments=[
            OutgoingAttachment(
                "chart.png", "image/png", b"\x89PNG", content_id="c1@x", inline=True
            ),
            OutgoingAttachment("a.bin", None, bytes(range(256)) * 400),
        ],
    )
    msg = parse_back(built)
    boundaries = [p.get_boundary() for p in msg.walk() if p.is_multipart()]
    assert len(boundaries) == len(set(boundaries)) >= 2
    assert earlier_boundary not in boundaries
    for boundary in boundaries:
        assert boundary.startswith("=_") and len(boundary) == 34
        # Opening delimiters, one per part of its multipart, and one closing delimiter.
        assert built.data.count(f"\r\n--{boundary}--".encode()) == 1
    assert parse_back(built).get_body(("plain",)).get_content().startswith("--" + earlier_boundary)
    assert [a.filename for a in parse_message(built.data).attachments] == ["chart.png", "a.bin"]


def test_attachment_content_type_given_guessed_or_fallback():
    built = build(
        attachments=[
            OutgoingAttachment("photo.JPG", None, b"1"),
            OutgoingAttachment("data.bin", "Text/CSV; charset=utf-8", b"2"),
            OutgoingAttachment("noext", None, b"3"),
            OutgoingAttachment("evil", "text/html\r\nX-Evil: 1", b"4"),
            OutgoingAttachment("report.hwp", None, b"5"),
        ]
    )
    types = [p.get_content_type() for p in parse_back(built).iter_attachments()]
    assert types == [
        "image/jpeg",
        "text/csv",
        "application/octet-stream",
        "application/octet-stream",
        "application/x-hwp",
    ]
    assert "x-evil" not in built.data.decode().lower()


def test_attachment_filename_is_made_safe():
    built = build(attachments=[OutgoingAttachment("../../etc/passwd\r\n", None, b"x")])
    (part,) = parse_back(built).iter_attachments()
    assert part.get_filename() == "passwd"


def test_long_ascii_line_forces_quoted_printable():
    line = "a" * 5000
    built = build(body=line + "\nshort\n")
    msg = parse_back(built)
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert text_of(msg) == line + "\nshort\n"
    assert max(len(x) for x in built.data.split(b"\r\n")) <= 998


def test_long_korean_line_goes_base64():
    line = "가" * 5000
    built = build(body=line)
    msg = parse_back(built)
    assert msg["Content-Transfer-Encoding"] in ("base64", "quoted-printable")
    assert text_of(msg) == line + "\n"
    assert max(len(x) for x in built.data.split(b"\r\n")) <= 998


def test_short_ascii_body_stays_7bit_and_form_crlf_is_normalised():
    msg = parse_back(build(body="line one\r\nline two\r\n"))
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert text_of(msg) == "line one\nline two\n"


def test_reply_threading_headers_append_in_reply_to_to_references():
    msg = parse_back(build(in_reply_to="parent@x.test", references=["root@x.test", "mid@x"]))
    assert msg["In-Reply-To"] == "<parent@x.test>"
    assert msg["References"] == "<root@x.test> <mid@x> <parent@x.test>"


def test_references_are_deduplicated_in_order():
    built = build(in_reply_to="<p@x.test>", references=["r@x.test", "p@x.test", "r@x.test"])
    assert parse_back(built)["References"] == "<r@x.test> <p@x.test>"


def test_no_threading_headers_for_a_new_message():
    assert {"in-reply-to", "references"}.isdisjoint(header_names(build().data))


def test_read_receipt_request_header():
    msg = parse_back(build(request_read_receipt=True))
    assert msg["Disposition-Notification-To"] == "김민수 <minsu@example.kr>"
    assert "disposition-notification-to" not in header_names(build().data)


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hello\r\nBcc: x@evil.test"},
        {"subject": "Hello\nBcc: x@evil.test"},
        {"subject": "Hello\x00"},
        {"subject": "Hello\u2028Bcc: x@evil.test"},
        {"subject": "=?UTF-8?Q?Hello=0D=0ABcc:_x@evil.test?="},
        {"subject": "=?UTF-8?B?SGVsbG8NCkJjYzogeEBldmlsLnRlc3Q=?="},
        {"sender": Address("Evil\r\nBcc: x@evil.test", "minsu@example.kr")},
        {"to": [Address("=?UTF-8?Q?Evil=0ABcc:_x@evil.test?=", "bob@example.com")]},
        {"cc": [Address("Carol\n", "carol@example.com")]},
        {"in_reply_to": "a@b\r\nBcc: x@evil.test"},
        {"references": ["ok@x", "bad id@x"]},
        {"message_id": "x\n@y"},
    ],
)
def test_header_injection_is_refused(changes):
    with pytest.raises(ValueError):
        build(**changes)


@pytest.mark.parametrize("address", ["not-an-address", "a b@x.test", "a@x.test\r\n"])
def test_invalid_addresses_are_refused(address):
    with pytest.raises(AddressError):
        build(to=[Address("", address)])


def test_forward_as_attachment_keeps_bytes():
    raw = crlf(
        "From: Bob <bob@example.com>\nTo: minsu@example.kr\nSubject: =?utf-8?b?7JWI64WV?=\n"
        "Message-ID: <orig-1@example.com>\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n안녕하세요\n--not-a-boundary\nFrom the start\n"
    )
    built = build(body="FYI", attachments=[OutgoingAttachment("안녕.eml", "message/rfc822", raw)])
    assert raw in built.data  # embedded byte for byte
    msg = parse_back(built)
    assert msg.get_content_type() == "multipart/mixed"
    part = list(msg.iter_attachments())[0]
    assert part.get_content_type() == "message/rfc822"
    assert part.get_content_disposition() == "attachment"
    assert part.get_filename() == "안녕.eml"
    assert part["Content-Transfer-Encoding"] == "8bit"
    assert part.get_content()["Message-ID"] == "<orig-1@example.com>"
    (attachment,) = parse_message(built.data).attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.payload == raw


def test_forward_as_attachment_normalises_only_line_endings():
    raw = b"From: bob@example.com\nSubject: lf only\n\nbody line\n"
    built = build(attachments=[OutgoingAttachment("fwd.eml", "message/rfc822", raw)])
    assert raw.replace(b"\n", b"\r\n") in built.data
    (part,) = parse_back(built).iter_attachments()
    assert part["Content-Transfer-Encoding"] == "7bit"
    assert built.data.isascii()


def test_uploaded_eml_is_embedded_as_message_rfc822_not_base64():
    raw = crlf("From: bob@example.com\nSubject: saved\n\nbody\n")
    built = build(attachments=[OutgoingAttachment("saved.eml", None, raw)])
    (part,) = parse_back(built).iter_attachments()
    assert part.get_content_type() == "message/rfc822"
    assert raw in built.data


# ---------------------------------------------------------------- reply helpers

ORIGINAL = original(
    """
From: Kim Minsu <kim@example.kr>
To: Me <minsu@example.kr>, Lee <lee@example.kr>, Park <park@example.kr>
Cc: ME@EXAMPLE.KR, lee@example.kr, "Choi, Y" <choi@example.kr>
Subject: =?utf-8?b?6rKs7KCB7IScIOusuOydmA==?=
Date: Thu, 26 Nov 2026 10:00:00 +0900
Message-ID: <orig-1@example.kr>
References: <root@example.kr> <mid@example.kr>
In-Reply-To: <mid@example.kr>
""",
    "첫 줄\n> 인용된 줄\n\n마지막 줄\n\n\n",
)
OWN = {"Minsu@Example.kr", "me@example.kr"}


def test_reply_goes_to_from():
    to, cc = reply_recipients(parse_message(ORIGINAL), OWN, reply_all=False)
    assert to == [Address("Kim Minsu", "kim@example.kr")]
    assert cc == []


def test_reply_all_adds_to_and_cc_without_own_addresses_or_duplicates():
    to, cc = reply_recipients(parse_message(ORIGINAL), OWN, reply_all=True)
    assert to == [Address("Kim Minsu", "kim@example.kr")]
    assert cc == [
        Address("Lee", "lee@example.kr"),
        Address("Park", "park@example.kr"),
        Address("Choi, Y", "choi@example.kr"),
    ]


def test_reply_to_is_honoured():
    raw = original(
        """
From: List Robot <robot@lists.example.org>
Reply-To: Team <team@lists.example.org>, robot@lists.example.org
To: minsu@example.kr, team@lists.example.org
Subject: note
"""
    )
    to, cc = reply_recipients(parse_message(raw), OWN, reply_all=True)
    assert to == [
        Address("Team", "team@lists.example.org"),
        Address("", "robot@lists.example.org"),
    ]
    assert cc == []  # To held only the user and the Reply-To address


def test_reply_to_own_sent_message_goes_to_its_recipients():
    raw = original(
        """
From: 김민수 <minsu@example.kr>
To: Bob <bob@example.com>
Cc: Carol <carol@example.com>, minsu@example.kr
Subject: sent by me
"""
    )
    parsed = parse_message(raw)
    assert reply_recipients(parsed, OWN, reply_all=False) == (
        [Address("Bob", "bob@example.com")],
        [],
    )
    assert reply_recipients(parsed, OWN, reply_all=True) == (
        [Address("Bob", "bob@example.com")],
        [Address("Carol", "carol@example.com")],
    )


def test_reply_recipients_round_trip_through_the_form():
    to, cc = reply_recipients(parse_message(ORIGINAL), OWN, reply_all=True)
    assert parse_address_list(", ".join(str(m) for m in cc)) == cc


def test_threading_headers_extend_references():
    assert threading_headers(parse_message(ORIGINAL)) == (
        "orig-1@example.kr",
        ["root@example.kr", "mid@example.kr", "orig-1@example.kr"],
    )


def test_threading_headers_fall_back_to_in_reply_to():
    raw = original("From: a@x.test\nMessage-ID: <b@x.test>\nIn-Reply-To: <a@x.test>\n")
    assert threading_headers(parse_message(raw)) == ("b@x.test", ["a@x.test", "b@x.test"])


def test_threading_headers_without_message_id():
    assert threading_headers(parse_message(original("From: a@x.test\n"))) == ("", [])


def test_quote_for_reply():
    assert quote_for_reply(parse_message(ORIGINAL)) == (
        "On 2026-11-26 10:00, Kim Minsu <kim@example.kr> wrote:\n"
        "> 첫 줄\n>> 인용된 줄\n> \n> 마지막 줄\n"
    )


def test_quote_for_reply_uses_html_and_a_time_zone():
    raw = original(
        "From: kim@example.kr\nDate: Thu, 26 Nov 2026 10:00:00 +0900\n"
        "Content-Type: text/html; charset=utf-8",
        "<p>Hello <b>there</b></p><p>Second</p>",
    )
    assert quote_for_reply(parse_message(raw), tz=UTC) == (
        "On 2026-11-26 01:00, kim@example.kr wrote:\n> Hello there\n> Second\n"
    )


def test_forward_inline_text():
    assert forward_inline_text(parse_message(ORIGINAL)) == (
        "---------- Forwarded message ----------\n"
        "From: Kim Minsu <kim@example.kr>\n"
        "Date: 2026-11-26 10:00\n"
        "Subject: 견적서 문의\n"
        "To: Me <minsu@example.kr>, Lee <lee@example.kr>, Park <park@example.kr>\n"
        'Cc: ME@example.kr, lee@example.kr, "Choi, Y" <choi@example.kr>\n'
        "\n"
        "첫 줄\n> 인용된 줄\n\n마지막 줄\n"
    )


def test_forward_inline_text_without_cc():
    raw = original("From: a@x.test\nTo: b@y.test\nSubject: s\nDate: Thu, 26 Nov 2026 10:00 +0900")
    assert "\nCc:" not in forward_inline_text(parse_message(raw))


KOREAN_LABELS = QuoteLabels(
    wrote="%(date)s, %(who)s님이 작성:",
    forwarded="전달된 메일",
    from_="보낸 사람",
    date="날짜",
    subject="제목",
    to="받는 사람",
    cc="참조",
    format_date=lambda moment: moment.strftime("%Y년 %-m월 %-d일 %H:%M"),
)


def test_forward_block_in_the_callers_words():
    assert forward_inline_text(parse_message(ORIGINAL), labels=KOREAN_LABELS).split("\n")[:6] == [
        "---------- 전달된 메일 ----------",
        "보낸 사람: Kim Minsu <kim@example.kr>",
        "날짜: 2026년 11월 26일 10:00",
        "제목: 견적서 문의",
        "받는 사람: Me <minsu@example.kr>, Lee <lee@example.kr>, Park <park@example.kr>",
        '참조: ME@example.kr, lee@example.kr, "Choi, Y" <choi@example.kr>',
    ]


def test_reply_attribution_in_the_callers_words_and_zone():
    quoted = quote_for_reply(parse_message(ORIGINAL), tz=UTC, labels=KOREAN_LABELS)
    assert quoted.startswith(
        "2026년 11월 26일 01:00, Kim Minsu <kim@example.kr>님이 작성:\n> 첫 줄\n"
    )


# Korean names as Korean mailers write them: UTF-8 B, EUC-KR Q, an RFC 2231 language
# tag inside the encoded word, and (against RFC 2047, as Outlook Express did) quoted.
KOREAN_NAMES = original(
    """
From: =?UTF-8?B?6rmA7KeA7ZiE?= <jihyun@example.kr>
To: =?EUC-KR?Q?=C0=CC=B9=CE=BC=F6?= <minsu@example.kr>, me@example.kr
Cc: =?UTF-8*ko?B?67CV7ISc7Jew?= <seoyeon@example.kr>,
 "=?ks_c_5601-1987?B?w9bB9r/s?=" <jiwoo@example.kr>
Subject: =?UTF-8?B?7ZqM7J2YIOyViOuCtA==?=
Date: Sun, 08 Mar 2026 15:20:00 +0900
Message-ID: <names-1@example.kr>
"""
)


def test_korean_names_are_decoded_for_reply_all():
    to, cc = reply_recipients(parse_message(KOREAN_NAMES), {"me@example.kr"}, reply_all=True)
    assert to == [Address("김지현", "jihyun@example.kr")]
    assert cc == [
        Address("이민수", "minsu@example.kr"),
        Address("박서연", "seoyeon@example.kr"),
        Address("최지우", "jiwoo@example.kr"),
    ]


def test_korean_names_in_the_forward_block_and_attribution_are_never_encoded_words():
    parsed = parse_message(KOREAN_NAMES)
    block = forward_inline_text(parsed, labels=KOREAN_LABELS)
    assert "보낸 사람: 김지현 <jihyun@example.kr>\n" in block
    assert "받는 사람: 이민수 <minsu@example.kr>, me@example.kr\n" in block
    assert "참조: 박서연 <seoyeon@example.kr>, 최지우 <jiwoo@example.kr>\n" in block
    assert "제목: 회의 안내\n" in block
    assert quote_for_reply(parsed).startswith(
        "On 2026-03-08 15:20, 김지현 <jihyun@example.kr> wrote:"
    )
    assert "=?" not in block + quote_for_reply(parsed)


def test_korean_names_go_back_out_as_encoded_words_and_read_back_intact():
    parsed = parse_message(KOREAN_NAMES)
    to, cc = reply_recipients(parsed, {"me@example.kr"}, reply_all=True)
    built = build(to=to, cc=cc, subject=reply_subject(parsed.subject))
    head = built.data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # every name is an RFC 2047 encoded word on the wire
    assert b"=?utf-8?" in head.lower()
    back = parse_message(built.data)
    assert [a.name for a in back.to] == ["김지현"]
    assert [a.name for a in back.cc] == ["이민수", "박서연", "최지우"]
    assert back.subject == "Re: 회의 안내"


INJECTION = original(
    """
From: =?UTF-8?Q?Kim=0D=0ABcc:_name@evil.test?= <kim@example.kr>
To: minsu@example.kr, =?UTF-8?Q?Lee=0ABcc:_cc@evil.test?= <lee@example.kr>
Subject: =?UTF-8?Q?Hello=0D=0ABcc:_x@evil.test?=
Message-ID: <inj-1@example.kr>
"""
)


def test_encoded_newlines_are_cleaned_in_reply_fields():
    parsed = parse_message(INJECTION)
    subject = reply_subject(parsed.subject)
    to, cc = reply_recipients(parsed, OWN, reply_all=True)
    assert not has_control_chars(subject)
    assert not any(has_control_chars(m.name) for m in [*to, *cc])
    assert not has_control_chars(quote_for_reply(parsed).split("\n")[0])
    assert not has_control_chars(forward_inline_text(parsed).replace("\n", ""))


def test_reply_to_injection_message_builds_without_extra_headers():
    parsed = parse_message(INJECTION)
    to, cc = reply_recipients(parsed, OWN, reply_all=True)
    in_reply_to, references = threading_headers(parsed)
    built = build(
        to=to,
        cc=cc,
        subject=reply_subject(parsed.subject),
        body=quote_for_reply(parsed),
        in_reply_to=in_reply_to,
        references=references,
    )
    names = header_names(built.data)
    assert "bcc" not in names
    assert names.count("subject") == 1
    back = parse_back(built)
    assert back["Subject"] == "Re: Hello Bcc: x@evil.test"
    assert built.recipients == ["kim@example.kr", "lee@example.kr"]


def test_double_encoded_injection_is_defused():
    # An encoded word whose text is itself an encoded word hiding CR/LF: the email
    # package would decode the inner one when sending.
    inner = "=?UTF-8?Q?Hello=0D=0ABcc:_x@evil.test?="
    outer = "=?utf-8?b?" + base64.b64encode(inner.encode()).decode() + "?="
    parsed = parse_message(original(f"From: kim@example.kr\nSubject: {outer}\n"))
    subject = reply_subject(parsed.subject)
    built = build(subject=subject)
    assert "bcc" not in header_names(built.data)
    assert parse_back(built)["Subject"] == "Re: Hello Bcc: x@evil.test"


def test_built_message_date_defaults_to_now_and_naive_means_utc():
    before = datetime.now(UTC).replace(microsecond=0)
    msg = parse_back(build_message(OutgoingMessage(sender=ME, to=[])))
    assert before <= msg["Date"].datetime <= datetime.now(UTC) + timedelta(seconds=1)
    naive = parse_back(build(date=datetime(2026, 1, 2, 3, 4, 5)))
    assert naive["Date"].datetime == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
