"""Tests of mailcore.compose: addresses, building, replies/forwards, MDNs and reports."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser

import pytest

from mailcore.compose import (
    AddressError,
    BuiltMessage,
    Mailbox,
    OutgoingAttachment,
    OutgoingMessage,
    build_message,
    build_read_receipt,
    clean_header_text,
    forward_inline_text,
    forward_subject,
    has_control_chars,
    parse_address_list,
    parse_report,
    quote_for_reply,
    read_receipt_address,
    reply_recipients,
    reply_subject,
    threading_headers,
)
from mailcore.mime import parse_message

KST = timezone(timedelta(hours=9))
ME = Mailbox("김민수", "minsu@example.kr")


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def parse_back(built: BuiltMessage):
    return BytesParser(policy=policy.default).parsebytes(built.data)


def build(**kwargs) -> BuiltMessage:
    kwargs.setdefault("sender", ME)
    kwargs.setdefault("to", [Mailbox("Bob", "bob@example.com")])
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


# ------------------------------------------------------------------- address lists


def test_parse_address_list_mixed_forms_and_korean():
    text = 'Alice <a@x.test>, b@y.test, "Kim, Minsu" <m@z.kr>, 김민수 <k@z.kr>'
    assert parse_address_list(text) == [
        Mailbox("Alice", "a@x.test"),
        Mailbox("", "b@y.test"),
        Mailbox("Kim, Minsu", "m@z.kr"),
        Mailbox("김민수", "k@z.kr"),
    ]


@pytest.mark.parametrize("text", ["", "   ", " , ,; "])
def test_parse_address_list_empty(text):
    assert parse_address_list(text) == []


def test_parse_address_list_semicolons_trailing_separator_and_comment():
    assert parse_address_list("a@x.test; b@y.test (Bob, B.),") == [
        Mailbox("", "a@x.test"),
        Mailbox("Bob, B.", "b@y.test"),
    ]


def test_parse_address_list_quoted_local_part_and_escaped_name():
    assert parse_address_list('"Kim \\"K\\"" <"john doe"@x.test>') == [
        Mailbox('Kim "K"', '"john doe"@x.test')
    ]


def test_parse_address_list_encodes_international_domain_and_lowercases_it():
    assert parse_address_list("User@한국.KR") == [Mailbox("", "User@xn--3e0b707e.kr")]


def test_parse_address_list_decodes_a_pasted_encoded_word_name():
    assert parse_address_list("=?UTF-8?B?6rmA66+87IiY?= <k@z.kr>") == [Mailbox("김민수", "k@z.kr")]


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("a@x.test, nobody", "nobody"),
        ("a@x.test, bob@", "bob@"),
        ("a@x.test, @x.test", "@x.test"),
        ("Alice <a@x.test", "Alice <a@x.test"),
        ("a@x.test>", "a@x.test>"),
        ("Alice <a@x.test> <b@y.test>", "Alice <a@x.test> <b@y.test>"),
        ('"Kim, Minsu <m@z.kr>, b@y.test', '"Kim, Minsu <m@z.kr>, b@y.test'),
        ("ok@x.test, a b@x.test", "a b@x.test"),
        ("Alice a@x.test", "Alice a@x.test"),
        ("a@x", "a@x"),
        ("a@-x.test", "a@-x.test"),
        ("a@x..test", "a@x..test"),
        ("a@x_y.test", "a@x_y.test"),
        ("a@192.0.2.1", "a@192.0.2.1"),
        ("a@[192.0.2.1]", "a@[192.0.2.1]"),
        ("a..b@x.test", "a..b@x.test"),
        (".a@x.test", ".a@x.test"),
        ("김@x.test", "김@x.test"),
        ("Alice <>", "Alice <>"),
        ("a@x.test junk <b@y.test>", "a@x.test junk <b@y.test>"),
        ("a@x.test (unclosed", "a@x.test (unclosed"),
        ("x" * 65 + "@x.test", "x" * 65 + "@x.test"),
    ],
)
def test_parse_address_list_names_the_bad_item(text, item):
    with pytest.raises(AddressError) as caught:
        parse_address_list(text)
    assert caught.value.item == item
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "text",
    ["a@x.test\r\nBcc: evil@x.test", "a@x.test,\nb@y.test", "Ali\rce <a@x.test>", "a@x.test\n"],
)
def test_parse_address_list_refuses_line_breaks_anywhere(text):
    with pytest.raises(AddressError) as caught:
        parse_address_list(text)
    assert "\n" not in caught.value.item and "\r" not in caught.value.item


def test_address_error_names_the_first_bad_item():
    with pytest.raises(AddressError) as caught:
        parse_address_list("good@x.test, first-bad, second bad@x.test")
    assert caught.value.item == "first-bad"


@pytest.mark.parametrize(
    ("mailbox", "text"),
    [
        (Mailbox("", "a@x.test"), "a@x.test"),
        (Mailbox("Alice Example", "a@x.test"), "Alice Example <a@x.test>"),
        (Mailbox("김민수", "k@z.kr"), "김민수 <k@z.kr>"),
        (Mailbox("Kim, Minsu", "m@z.kr"), '"Kim, Minsu" <m@z.kr>'),
        (Mailbox("J. Smith", "j@x.test"), '"J. Smith" <j@x.test>'),
        (Mailbox('Say "hi" \\o/', "s@x.test"), '"Say \\"hi\\" \\\\o/" <s@x.test>'),
        (Mailbox("a@b.test", "c@d.test"), '"a@b.test" <c@d.test>'),
    ],
)
def test_mailbox_str_quotes_only_when_needed_and_parses_back(mailbox, text):
    assert str(mailbox) == text
    assert parse_address_list(str(mailbox)) == [mailbox]


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
        to=[Mailbox("홍길동", "gildong@example.kr")],
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
    built = build(subject="Hi", cc=[Mailbox("", "carol@example.com")])
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
        to=[Mailbox("Bob", "bob@example.com")],
        cc=[Mailbox("", "carol@example.com")],
        bcc=[Mailbox("Secret", "secret@example.net")],
    )
    assert "bcc" not in header_names(built.data)
    assert b"secret" not in built.data.lower()
    assert built.recipients == ["bob@example.com", "carol@example.com", "secret@example.net"]


def test_recipients_deduplicated_case_insensitively_in_order():
    built = build(
        to=[Mailbox("", "bob@example.com"), Mailbox("", "Carol@example.com")],
        cc=[Mailbox("", "BOB@example.com")],
        bcc=[Mailbox("", "carol@example.com"), Mailbox("", "dave@example.com")],
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
    built = build(to=[Mailbox("", "user@한국.kr")])
    assert built.recipients == ["user@xn--3e0b707e.kr"]
    assert b"To: user@xn--3e0b707e.kr\r\n" in built.data


def test_no_recipients_in_to_only_bcc_omits_to():
    built = build(to=[], bcc=[Mailbox("", "hidden@example.com")])
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
        {"sender": Mailbox("Evil\r\nBcc: x@evil.test", "minsu@example.kr")},
        {"to": [Mailbox("=?UTF-8?Q?Evil=0ABcc:_x@evil.test?=", "bob@example.com")]},
        {"cc": [Mailbox("Carol\n", "carol@example.com")]},
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
        build(to=[Mailbox("", address)])


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


# -------------------------------------------------------------------- subjects


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "Re: Hello"),
        ("Re: Hello", "Re: Hello"),
        ("RE: Hello", "Re: Hello"),
        ("re:Hello", "Re: Hello"),
        ("Re: RE: Aw: Hello", "Re: Hello"),
        ("AW: Hello", "Re: Hello"),
        ("Sv: Hello", "Re: Hello"),
        ("Re[2]: Hello", "Re: Hello"),
        ("Re (3) : Hello", "Re: Hello"),
        ("回复: 你好", "Re: 你好"),
        ("回复：你好", "Re: 你好"),
        ("답장: 안녕하세요", "Re: 안녕하세요"),
        ("회신: 견적서", "Re: 견적서"),
        ("Fwd: Hello", "Re: Fwd: Hello"),
        ("Regarding: Hello", "Re: Regarding: Hello"),
        ("Hello\r\nBcc: x@evil.test", "Re: Hello Bcc: x@evil.test"),
        ("", "Re:"),
    ],
)
def test_reply_subject(subject, expected):
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "Fwd: Hello"),
        ("Fwd: Hello", "Fwd: Hello"),
        ("FW: Hello", "Fwd: Hello"),
        ("Fw: fwd: Hello", "Fwd: Hello"),
        ("전달: 견적서", "Fwd: 견적서"),
        ("Re: Hello", "Fwd: Re: Hello"),
        ("Hello\nBcc: x@evil.test", "Fwd: Hello Bcc: x@evil.test"),
    ],
)
def test_forward_subject(subject, expected):
    assert forward_subject(subject) == expected


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
    assert to == [Mailbox("Kim Minsu", "kim@example.kr")]
    assert cc == []


def test_reply_all_adds_to_and_cc_without_own_addresses_or_duplicates():
    to, cc = reply_recipients(parse_message(ORIGINAL), OWN, reply_all=True)
    assert to == [Mailbox("Kim Minsu", "kim@example.kr")]
    assert cc == [
        Mailbox("Lee", "lee@example.kr"),
        Mailbox("Park", "park@example.kr"),
        Mailbox("Choi, Y", "choi@example.kr"),
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
        Mailbox("Team", "team@lists.example.org"),
        Mailbox("", "robot@lists.example.org"),
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
        [Mailbox("Bob", "bob@example.com")],
        [],
    )
    assert reply_recipients(parsed, OWN, reply_all=True) == (
        [Mailbox("Bob", "bob@example.com")],
        [Mailbox("Carol", "carol@example.com")],
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

POSTFIX_BOUNCE = crlf(
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


SUCCESS_DSN = crlf(
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
    raw = crlf(
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


THUNDERBIRD_MDN = crlf(
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


EXIM_BOUNCE = crlf(
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


def test_built_message_date_defaults_to_now_and_naive_means_utc():
    before = datetime.now(UTC).replace(microsecond=0)
    msg = parse_back(build_message(OutgoingMessage(sender=ME, to=[])))
    assert before <= msg["Date"].datetime <= datetime.now(UTC) + timedelta(seconds=1)
    naive = parse_back(build(date=datetime(2026, 1, 2, 3, 4, 5)))
    assert naive["Date"].datetime == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_read_receipt_accepts_the_bare_header_block():
    head = ASKS_RECEIPT.split(b"\r\n\r\n", 1)[0]  # as the outbox passes it
    assert read_receipt_address(head) == "Alice@example.com"
    built = build_read_receipt(parse_message(ASKS_RECEIPT), original_raw_headers=head, sender=ME)
    assert built.recipients == ["Alice@example.com"]
    assert "Disposition-Notification-To:" in parse_back(built).get_payload()[2].get_content()
