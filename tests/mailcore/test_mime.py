"""Tests for mailcore.mime: plain pytest, no Django needed."""

from __future__ import annotations

import base64
import time
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailcore.addresses import Address
from mailcore.mime import (
    b64,
    decode_charset,
    decode_header_text,
    html_to_text,
    parse_headers,
    parse_message,
    parts,
    safe_filename,
    structure,
)
from testkit import mailfactory as mf

RECEIVED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


# ------------------------------------------------------------------------- basics


def test_plain_ascii_message():
    msg = parse_message(mf.plain("Lunch?", "Shall we meet at noon?\r\nBob\r\n"))
    assert msg.subject == "Lunch?"
    assert msg.from_ == Address("Alice Example", "alice@example.com")
    assert msg.to == [Address("Bob Example", "bob@example.com")]
    assert msg.text_body == "Shall we meet at noon?\nBob\n"  # CRLF normalised
    assert msg.html_body == ""
    assert msg.attachments == []
    assert not msg.has_attachments
    assert msg.message_id == "test-1@example.com"
    assert msg.date == datetime(2024, 3, 5, 1, 0, tzinfo=UTC)
    assert not msg.date_is_fallback
    assert msg.defects == []


def test_utf8_encoded_word_subject():
    msg = parse_message(mf.plain(mf.encoded_word("Grüße — 안녕하세요 😀")))
    assert msg.subject == "Grüße — 안녕하세요 😀"


def test_encoded_words_split_inside_a_multibyte_character_are_joined():
    folded = mf.split_encoded_words("한국어 제목입니다", "utf-8", chunk=5)
    assert decode_header_text(folded) == "한국어 제목입니다"


def test_whitespace_between_encoded_words_is_dropped_but_not_around_plain_text():
    value = "=?utf-8?Q?a?= b =?utf-8?Q?c?=  =?utf-8?Q?d?="
    assert decode_header_text(value) == "a b cd"


def test_references_and_in_reply_to_are_stripped_of_brackets():
    raw = mf.plain(
        headers=[
            ("In-Reply-To", "<parent@example.com> (sent by Bob)"),
            ("References", "<root@example.com>\r\n <parent@example.com> <root@example.com>"),
        ]
    )
    msg = parse_message(raw)
    assert msg.in_reply_to == "parent@example.com"
    assert msg.references == ["root@example.com", "parent@example.com"]


# ------------------------------------------------------------------- Korean charsets


def test_euc_kr_labelled_body_with_cp949_only_syllables():
    msg = parse_message(mf.korean_euc_kr())
    # 똠 and 햏 do not exist in strict EUC-KR; real "euc-kr" mail is CP949.
    assert msg.text_body == "안녕하세요. 똠방각하 햏\n"
    assert msg.defects == []


def test_ks_c_5601_1987_subject_and_euc_kr_display_name():
    msg = parse_message(mf.korean_euc_kr())
    assert msg.subject == "보고서 똠방각하 햏"
    assert msg.from_ == Address("홍길동", "hong@example.kr")


@pytest.mark.parametrize(
    "label",
    ["euc-kr", "EUC_KR", "ks_c_5601-1987", "ks_c_5601", "korean", "x-windows-949", "ksc5601"],
)
def test_korean_labels_decode_as_cp949(label):
    assert decode_charset("똠방 햏".encode("cp949"), label) == ("똠방 햏", None)


def test_raw_8bit_cp949_subject_header():
    msg = parse_message(mf.korean_raw_subject("회의 안내 똠방각하"))
    assert msg.subject == "회의 안내 똠방각하"


def test_raw_8bit_headers_try_utf8_then_cp949_then_latin1():
    assert decode_header_text("회의".encode()) == "회의"
    assert decode_header_text("회의".encode("cp949")) == "회의"
    assert decode_header_text(b"caf\xe9 au lait") == "café au lait"


def test_raw_8bit_subject_uses_the_message_charset_as_a_hint():
    raw = mf.plain("件名のテスト".encode("cp932"), "本文\n", charset="cp932", label="shift_jis")
    assert parse_message(raw).subject == "件名のテスト"


def test_rfc2231_korean_filename_with_continuations():
    raw = mf.korean_filename_rfc2231("2024년 1분기 보고서.pdf")
    assert b"filename*1*=" in raw  # really split into continuations
    msg = parse_message(raw)
    [attachment] = msg.attachments
    assert attachment.filename == "2024년 1분기 보고서.pdf"
    assert attachment.safe_name == "2024년 1분기 보고서.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.payload == b"%PDF-1.4"
    assert msg.text_body == "첨부합니다.\n"


def test_rfc2231_filename_in_cp949():
    msg = parse_message(
        mf.korean_filename_rfc2231("똠방 보고서.hwp", charset="cp949", label="ks_c_5601-1987")
    )
    assert msg.attachments[0].filename == "똠방 보고서.hwp"


def test_rfc2047_korean_filename_in_quoted_string():
    msg = parse_message(mf.korean_filename_rfc2047("견적서 햏.xlsx", label="euc-kr"))
    [attachment] = msg.attachments
    assert attachment.filename == "견적서 햏.xlsx"
    assert attachment.safe_name == "견적서 햏.xlsx"
    assert attachment.payload == b"PK\x03\x04"


# ------------------------------------------------------------------- other charsets


def test_iso_2022_jp_body_and_subject():
    word = mf.encoded_word("件名です", "iso-2022-jp")
    msg = parse_message(mf.plain(word, "日本語の本文です。\n", charset="iso-2022-jp", cte="7bit"))
    assert msg.subject == "件名です"
    assert msg.text_body == "日本語の本文です。\n"
    assert msg.defects == []


def test_iso_2022_jp_with_microsoft_extensions():
    data = "番号".encode("iso2022_jp") + b"\x1b$B-!\x1b(B"  # NEC row 13: circled one
    assert decode_charset(data, "ISO-2022-JP") == ("番号①", None)


def test_iso_2022_kr():
    assert decode_charset("안녕".encode("iso2022_kr"), "iso-2022-kr") == ("안녕", None)


def test_gb2312_label_decodes_gbk_characters():
    assert decode_charset("镕".encode("gbk"), "gb2312") == ("镕", None)


def test_latin1_label_uses_cp1252_for_smart_quotes():
    assert decode_charset(b"\x93quoted\x94 caf\xe9", "iso-8859-1") == ("“quoted” café", None)


def test_us_ascii_label_with_8bit_bytes_falls_back_with_defect():
    text, defect = decode_charset(b"\x93hi\x94", "us-ascii")
    assert text == "“hi”"
    assert defect is not None


def test_unknown_charset_label_keeps_text_and_records_defect():
    msg = parse_message(mf.unknown_charset("Grüße aus Köln\n", "x-unknown"))
    assert msg.text_body == "Grüße aus Köln\n"
    assert any("x-unknown" in defect for defect in msg.defects)


def test_unknown_charset_with_non_utf8_bytes_falls_back_to_cp1252():
    text, defect = decode_charset("Grüße".encode("cp1252"), "x-klingon")
    assert text == "Grüße"
    assert defect is not None and "x-klingon" in defect


def test_wrong_label_for_utf8_data_is_detected():
    text, defect = decode_charset("똠 and 😀".encode(), "euc-kr")
    assert text == "똠 and 😀"
    assert defect is not None


def test_invalid_bytes_are_replaced_not_dropped():
    text, defect = decode_charset(b"ok \xff\xfe end", "utf-8")
    assert text.startswith("ok ") and text.endswith(" end") and "\ufffd" in text
    assert defect is not None


@pytest.mark.parametrize("label", ["zlib", "base64", "unicode_escape", "idna"])
def test_non_text_or_dangerous_codecs_are_treated_as_unknown(label):
    text, defect = decode_charset(b"\\x41 plain", label)
    assert text == "\\x41 plain"
    assert defect is not None


def test_utf7_cannot_produce_lone_surrogates():
    text, _ = decode_charset(b"+2D0-", "utf-7")
    text.encode("utf-8")  # would raise on a lone surrogate


# ---------------------------------------------------------------- structure / bodies


def test_multipart_alternative_picks_text_and_html():
    msg = parse_message(mf.alternative("Plain version\n", "<p>HTML &amp; version</p>\n"))
    assert msg.text_body == "Plain version\n"
    assert msg.html_body == "<p>HTML &amp; version</p>\n"
    assert msg.attachments == []


def test_second_rendering_inside_the_same_alternative_is_dropped():
    body = mf.multipart("alternative", mf.text_part("first\n"), mf.text_part("second\n"))
    msg = parse_message(mf.message(body))
    assert msg.text_body == "first\n"
    assert msg.attachments == []


def test_inline_text_parts_in_mixed_are_appended():
    body = mf.multipart(
        "mixed",
        mf.multipart("alternative", mf.text_part("Hello\n"), mf.text_part("<p>Hello</p>", "html")),
        mf.attachment_part(b"\x89PNG", "a.png", "image/png"),
        mf.text_part("-- \nList footer\n"),
    )
    msg = parse_message(mf.message(body))
    assert msg.text_body == "Hello\n\n\n-- \nList footer\n"
    assert msg.html_body == "<p>Hello</p>"
    assert [a.safe_name for a in msg.attachments] == ["a.png"]


def test_text_part_with_filename_is_an_attachment_not_the_body():
    body = mf.multipart(
        "mixed",
        mf.text_part("The body\n"),
        mf.attachment_part(b"col1,col2\r\n", "data.csv", "text/plain", cte="8bit"),
    )
    msg = parse_message(mf.message(body))
    assert msg.text_body == "The body\n"
    [attachment] = msg.attachments
    assert attachment.filename == "data.csv"
    assert attachment.payload == b"col1,col2\r\n"
    assert msg.has_attachments


def test_related_inline_image_with_content_id_is_inline():
    msg = parse_message(mf.related_inline_image("logo@example.com", b"\x89PNG data"))
    assert msg.text_body == "Logo attached.\n"
    assert 'src="cid:logo@example.com"' in msg.html_body
    [image] = msg.attachments
    assert image.inline is True
    assert image.content_id == "logo@example.com"
    assert image.payload == b"\x89PNG data"
    assert image.safe_name == "attachment-1.png"  # generated from the content type
    assert not msg.has_attachments


def test_inline_disposition_on_a_pdf_still_counts_as_attachment():
    body = mf.multipart(
        "mixed",
        mf.text_part("see below\n"),
        mf.attachment_part(b"%PDF", "x.pdf", "application/pdf", disposition="inline"),
    )
    msg = parse_message(mf.message(body))
    assert msg.attachments[0].inline is False
    assert msg.has_attachments


def test_message_rfc822_attachment_named_from_subject():
    inner = mf.plain("Q3/Q4 보고서", "inner body\n")
    msg = parse_message(mf.forwarded(inner))
    assert msg.text_body == "Forwarding this.\n"
    [attached] = msg.attachments
    assert attached.content_type == "message/rfc822"
    assert attached.filename == "Q3/Q4 보고서.eml"
    assert attached.safe_name == "Q3_Q4 보고서.eml"  # the subject's slash is no directory
    assert attached.payload == inner  # round-trips byte for byte
    assert parse_message(attached.payload).text_body == "inner body\n"
    assert msg.has_attachments


def test_html_body_without_charset_param_uses_meta_charset():
    html = '<html><head><meta charset="euc-kr"></head><body>똠방각하</body></html>'
    body = mf.part(html.encode("cp949"), "text/html", cte="base64")
    msg = parse_message(mf.message(body))
    assert "똠방각하" in msg.html_body
    assert msg.defects == []


def test_single_part_text_with_a_filename_is_still_the_body():
    body = mf.part(b"Body text\r\n", 'text/plain; charset=utf-8; name="body.txt"')
    msg = parse_message(mf.message(body))
    assert msg.text_body == "Body text\n"
    assert msg.attachments == []


def test_garbage_content_type_becomes_octet_stream():
    body = mf.multipart(
        "mixed",
        mf.text_part("hi\n"),
        mf.attachment_part(b"data", "x.bin", "app\x01lication/x\x02y"),
    )
    [attachment] = parse_message(mf.message(body)).attachments
    assert attachment.content_type == "application/octet-stream"
    assert attachment.payload == b"data"


def test_utf8_bom_is_not_part_of_the_body():
    msg = parse_message(mf.plain(body="\ufeffHello\n"))
    assert msg.text_body == "Hello\n"
    assert msg.snippet() == "Hello"


def test_with_attachments_decodes_base64_payloads():
    data = bytes(range(256)) * 10
    msg = parse_message(mf.with_attachments(attachments=[("blob.bin", "application/x-foo", data)]))
    [attachment] = msg.attachments
    assert attachment.payload == data
    assert attachment.content_type == "application/x-foo"


def test_quoted_printable_body():
    msg = parse_message(
        mf.plain("qp", "Grüße, " + "long line " * 20 + "\n", cte="quoted-printable")
    )
    assert msg.text_body == "Grüße, " + "long line " * 20 + "\n"


def test_bad_base64_records_defect_and_keeps_the_rest():
    msg = parse_message(mf.bad_base64(b"%PDF-1.4 important"))
    assert msg.text_body == "Body survives.\n"
    [attachment] = msg.attachments
    assert attachment.filename == "broken.pdf"
    assert attachment.payload.startswith(b"%PDF-1.4 import")
    assert any("base64" in defect for defect in msg.defects)


def test_concatenated_base64_chunks_are_all_decoded():
    data = base64.b64encode(b"A") + base64.b64encode(b"BC")  # "QQ==QkM="
    assert b64.b64decode(data) == (b"ABC", None)


def test_multipart_without_boundary_keeps_body_as_text_and_reports_stdlib_defect():
    msg = parse_message(mf.no_boundary())
    assert msg.text_body == "just some text\n"
    assert "message: no boundary in multipart" in msg.defects  # email's own defect, worded


def test_nested_multiparts_are_walked_without_recursion():
    msg = parse_message(mf.deeply_nested(100))
    assert msg.text_body == "deep\n"
    assert msg.defects == []


def test_absurdly_deep_nesting_falls_back_to_plain_text():
    # The stdlib parser recurses per level and gives up near 1000; we keep headers and text.
    msg = parse_message(mf.deeply_nested(1100))
    assert msg.subject == "Hello"
    assert "deep" in msg.text_body
    assert any("MIME structure" in defect for defect in msg.defects)


# -------------------------------------------------------------------------- dates


def test_missing_date_falls_back_to_received_at():
    msg = parse_message(mf.plain(date=None), received_at=RECEIVED)
    assert msg.date == RECEIVED
    assert msg.date_is_fallback


def test_missing_date_without_received_at_uses_now_utc():
    before = datetime.now(UTC)
    msg = parse_message(mf.plain(date=None))
    assert msg.date.tzinfo is not None
    assert before - timedelta(seconds=1) <= msg.date <= datetime.now(UTC) + timedelta(seconds=1)
    assert msg.date_is_fallback


@pytest.mark.parametrize(
    "value", ["garbage", "Mon, 32 Foo 2024 99:99:99", "5 Mar 2024 10:00 +9999"]
)
def test_garbage_date_falls_back_with_defect(value):
    msg = parse_message(mf.plain(date=value), received_at=RECEIVED)
    assert msg.date == RECEIVED
    assert msg.date_is_fallback
    assert any(defect.startswith("Date") for defect in msg.defects)


def test_naive_date_is_taken_as_utc():
    msg = parse_message(mf.plain(date="Tue, 5 Mar 2024 10:00:00"))
    assert msg.date == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    assert not msg.date_is_fallback


def test_date_keeps_its_offset():
    msg = parse_message(mf.plain(date="Tue, 5 Mar 2024 10:00:00 +0900 (KST)"))
    assert msg.date.utcoffset() == timedelta(hours=9)


def test_naive_received_at_is_made_aware():
    msg = parse_message(mf.plain(date=None), received_at=datetime(2024, 1, 1))
    assert msg.date == datetime(2024, 1, 1, tzinfo=UTC)
    other = timezone(timedelta(hours=9))
    assert parse_message(b"", datetime(2024, 1, 1, tzinfo=other)).date.tzinfo is other


# ---------------------------------------------------------------------- addresses


def test_address_garbage_never_raises_and_keeps_what_it_can():
    msg = parse_message(mf.garbage_addresses())
    # An unterminated quote swallowed the angle address; it is salvaged.
    assert msg.from_ == Address("Unterminated", "evil@example.com")
    assert Address("", "carol@example.com") in msg.to  # group members are listed
    assert Address("D, Dave", "dave@example.com") in msg.to
    # A local part only is kept as the address, with a defect (issue 26).
    assert Address("", "no-at-sign") in msg.to
    assert "To: address without a domain (no-at-sign)" in msg.defects
    assert all(a.address.count("@") <= 1 for a in msg.to if a.address)
    assert msg.cc == []  # an empty group yields nobody


def test_korean_encoded_display_names_with_comma_in_q_encoding():
    name = mf.encoded_word("김, 철수", "utf-8", "Q")
    assert "," in name  # the comma is really inside the encoded word
    msg = parse_message(mf.plain(to=f"{name} <kim@example.kr>, lee@example.kr"))
    assert msg.to == [Address("김, 철수", "kim@example.kr"), Address("", "lee@example.kr")]


def test_quoted_encoded_word_display_name_outlook_style():
    word = mf.encoded_word("홍길동", "cp949", label="ks_c_5601-1987")
    msg = parse_message(mf.plain(from_=f'"{word}" <hong@example.kr>'))
    assert msg.from_ == Address("홍길동", "hong@example.kr")


def test_reply_to_and_missing_from():
    raw = mf.plain(from_=None, headers=[("Reply-To", "Help <help@example.com>")])
    msg = parse_message(raw)
    assert msg.from_ is None
    assert msg.reply_to == [Address("Help", "help@example.com")]


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x00" * 100,
        mf.random_bytes(4096, seed=1),
        mf.random_bytes(65536, seed=2),
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
        b'Subject: =?utf-8?B?####?=\r\nContent-Type: text/plain; charset="\r\n\r\nx',
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!",
        b"Content-Disposition: attachment; filename*0*=x'y'%ZZ; filename*9=\"\r\n\r\n",
    ],
)
def test_hostile_input_never_raises(raw):
    msg = parse_message(raw, received_at=RECEIVED)
    assert isinstance(msg.subject, str)
    assert msg.date.tzinfo is not None
    msg.snippet()
    assert isinstance(parse_headers(raw).subject, str)


def test_random_binary_is_kept_as_text_with_defects():
    msg = parse_message(mf.random_bytes(4096, seed=3))
    assert msg.defects
    assert "\x00" not in msg.text_body  # databases cannot store NUL


def test_crlf_injection_in_encoded_word_never_yields_a_newline():
    msg = parse_message(mf.crlf_injection_subject())
    assert "\r" not in msg.subject and "\n" not in msg.subject
    assert msg.subject == "Hello Bcc: x@evil.test"
    assert msg.to == [Address("Bob Example", "bob@example.com")]  # no smuggled recipient


@pytest.mark.parametrize(
    "value",
    [
        "=?UTF-8?Q?Hello=0D=0ABcc:_x@evil.test?=",
        "=?UTF-8?B?" + base64.b64encode(b"a\r\nb\x00c").decode() + "?=",
        "=?UTF-8?B?" + base64.b64encode("a\u2028b\u0085c".encode()).decode() + "?=",
        b"raw\r\nnewline\rcarriage\x00nul",
    ],
)
def test_decode_header_text_strips_all_line_breaks_and_controls(value):
    decoded = decode_header_text(value)
    for char in "\r\n\x00\x85\u2028":
        assert char not in decoded


def test_decode_header_text_handles_none_and_bytes():
    assert decode_header_text(None) == ""
    assert decode_header_text(b"=?utf-8?B?7ZWc6riA?=") == "한글"


# ------------------------------------------------------------------ safe_filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\evil.exe", "evil.exe"),
        ("\x00a.txt", "a.txt"),
        (".htaccess", "htaccess"),
        ("..", "attachment"),
        ("", "attachment"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("lpt1.tar.gz", "_lpt1.tar.gz"),
        ("보고서.pdf", "보고서.pdf"),
        ('a<b>:"c|?*.txt', "a_b___c___.txt"),
        ("  many   spaces\t.txt  ", "many spaces.txt"),
        ("trailing dots...", "trailing dots"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # bidi override cannot disguise .exe
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_bounds_length_and_keeps_extension():
    result = safe_filename("a" * 300 + ".pdf")
    assert len(result) == 150
    assert result.endswith(".pdf")


def test_safe_filename_bounds_utf8_bytes_for_korean():
    result = safe_filename("가" * 300 + ".hwp")
    assert result.endswith(".hwp")
    assert len(result) <= 150
    assert len(result.encode()) <= 255


def test_safe_filename_nfc_normalises_macos_names():
    decomposed = unicodedata.normalize("NFD", "보고서.pdf")
    assert decomposed != "보고서.pdf"
    assert safe_filename(decomposed) == "보고서.pdf"


def test_safe_filename_default():
    assert safe_filename("///", default="attachment-3.pdf") == "attachment-3.pdf"


def test_attachment_with_hostile_filename_gets_safe_name():
    raw = mf.with_attachments(attachments=[("../../.bashrc", "text/plain", b"rm -rf /")])
    [attachment] = parse_message(raw).attachments
    assert attachment.filename == "../../.bashrc"  # shown as sent
    assert attachment.safe_name == "bashrc"


# ------------------------------------------------------------------------ snippet


def test_snippet_from_html_only_mail_excludes_style_and_script():
    html = (
        "<html><head><title>Title text</title><style>p { color: red }</style>"
        "<script>alert('x')</script></head><body><p>Hello&nbsp;<b>world</b> &amp; "
        "friends</p><SCRIPT type='text/javascript'>var secret = 1;</SCRIPT>"
        "<!-- hidden comment --><p>Second&#44; paragraph</p></body></html>"
    )
    msg = parse_message(mf.html_only(html))
    assert msg.text_body == ""
    snippet = msg.snippet()
    assert snippet == "Hello world & friends Second, paragraph"
    for leaked in ("color", "alert", "secret", "Title", "hidden"):
        assert leaked not in snippet


def test_snippet_prefers_text_and_collapses_whitespace():
    msg = parse_message(mf.plain(body="  Hello\r\n\r\n   there \t  friend  \n" + "x" * 500))
    assert msg.snippet(20) == "Hello there friend x"
    assert len(msg.snippet()) == 160


def test_html_to_text_keeps_literal_less_than_and_block_breaks():
    assert html_to_text("<div>a &lt; b</div><div>1 < 2</div>") == "a < b\n1 < 2"


def test_html_to_text_unclosed_script_hides_the_rest():
    assert html_to_text("<p>visible</p><script>never closed") == "visible"


def test_three_megabyte_single_line_html_parses_fast():
    raw = mf.big_html(3 * 1024 * 1024)
    assert b"\n" not in raw.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n")
    started = time.perf_counter()
    msg = parse_message(raw)
    snippet = msg.snippet()
    elapsed = time.perf_counter() - started
    assert len(msg.html_body) > 3_000_000
    assert snippet.startswith("Start of the big mail. word & more")
    assert elapsed < 5  # generous; it takes well under a second


# ------------------------------------------------------------------ parse_headers


def test_parse_headers_reads_only_the_header_block(monkeypatch):
    raw = mf.with_attachments(attachments=[("big.bin", "application/octet-stream", b"x" * 100_000)])
    seen: list[int] = []
    real = structure.PARSER.parsebytes

    def spy(data: bytes, headersonly: bool = False):
        seen.append(len(data))
        return real(data, headersonly=headersonly)

    monkeypatch.setattr(structure.PARSER, "parsebytes", spy)
    msg = parse_headers(raw, received_at=RECEIVED)
    assert seen and seen[0] < 1000  # the 100 kB body never reached the parser
    assert msg.subject == "Files"
    assert msg.from_ == Address("Alice Example", "alice@example.com")
    assert msg.text_body == msg.html_body == ""
    assert msg.attachments == []


def test_parse_headers_matches_parse_message_headers():
    raw = mf.korean_euc_kr()
    full, head = parse_message(raw), parse_headers(raw)
    assert (head.subject, head.from_, head.to, head.date, head.message_id) == (
        full.subject,
        full.from_,
        full.to,
        full.date,
        full.message_id,
    )


# ----------------------------------------------------------------- fast MIME splitter


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def _b64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _nested_same_prefix() -> bytes:
    inner = mf.multipart(
        "alternative", mf.text_part("t\n"), mf.text_part("<b>h</b>", "html"), boundary="b1_alt"
    )
    return mf.message(
        mf.multipart(
            "mixed",
            inner,
            mf.attachment_part(b"x" * 50, "a.bin", "application/octet-stream"),
            boundary="b1",
        )
    )


def _boundary_lookalikes() -> bytes:
    body = "--b1x is not a boundary\r\n --b1 neither\r\n--b1 x nor this\r\nend\r\n"
    return mf.message(mf.multipart("mixed", mf.text_part(body), boundary="b1"))


def _boundary_whitespace() -> bytes:
    return (
        mf.header_block([("Content-Type", 'multipart/mixed; boundary="zz"')])
        + b"\r\npreamble\r\n--zz \t\r\nContent-Type: text/plain\r\n\r\nhello\r\n\r\n"
        + b"--zz--  \r\nepilogue\r\n--zz\r\nlate\r\n"
    )


def _raw_message(
    body: bytes, ctype: str = 'multipart/mixed; boundary="q"', extra: bytes = b""
) -> bytes:
    return (
        b"From: a@example.com\r\nSubject: raw\r\nContent-Type: "
        + ctype.encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )


_TEXT = b"Content-Type: text/plain\r\n\r\nhi\r\n"
_EQUIVALENCE_CASES = {
    "plain": mf.plain(),
    "plain-qp": mf.plain("QP", "Grüße " * 40 + "\n", cte="quoted-printable"),
    "plain-b64": mf.plain("B64", "안녕 " * 50 + "\n", cte="base64"),
    "html-only": mf.html_only("<p>Hi &amp; bye</p>"),
    "alternative": mf.alternative("text\n", "<p>html</p>"),
    "attachments": mf.with_attachments(
        attachments=[
            ("r.pdf", "application/pdf", b"%PDF" * 999),
            ("x.png", "image/png", bytes(range(256))),
        ]
    ),
    "related": mf.related_inline_image(),
    "forwarded": mf.forwarded(mf.plain()),
    "korean": mf.korean_euc_kr(),
    "korean-raw-subject": mf.korean_raw_subject(),
    "rfc2231": mf.korean_filename_rfc2231(),
    "rfc2047": mf.korean_filename_rfc2047(),
    "bad-base64": mf.bad_base64(),
    "unknown-charset": mf.unknown_charset(),
    "garbage-addresses": mf.garbage_addresses(),
    "no-boundary": mf.no_boundary(),
    "nested-15": mf.deeply_nested(15),
    "nested-40": mf.deeply_nested(40),
    "big-html": mf.big_html(100_000),
    "lf-only": _lf(mf.with_attachments(attachments=[("a.txt", "text/plain", b"line\n" * 99)])),
    "lf-only-nested": _lf(mf.related_inline_image()),
    "same-prefix-boundaries": _nested_same_prefix(),
    "boundary-lookalikes": _boundary_lookalikes(),
    "boundary-whitespace": _boundary_whitespace(),
    "missing-close": _raw_message(b"--q\r\n" + _TEXT),
    "missing-start": _raw_message(b"no parts here\r\n--q--\r\n"),
    "close-only": _raw_message(b"--q--\r\n"),
    "empty-part": _raw_message(b"--q\r\n--q\r\n" + _TEXT + b"--q--\r\n"),
    "headers-only-part": _raw_message(b"--q\r\nContent-Type: text/plain\r\n--q--\r\n"),
    "headerless-part": _raw_message(b"--q\r\n\r\nbare\r\n--q--\r\n"),
    "not-a-header": _raw_message(b"--q\r\nthis is no header\r\n\r\nx\r\n--q--\r\n"),
    "bare-cr": _raw_message(b"--q\r\n" + _TEXT + b"a\rb\r\n--q--\r\n"),
    "encoded-multipart": _raw_message(
        b"--q\r\n" + _TEXT + b"--q--\r\n", extra=b"Content-Transfer-Encoding: base64\r\n"
    ),
    "digest": _raw_message(
        b"--q\r\n\r\nSubject: in digest\r\n\r\nx\r\n--q--\r\n", 'multipart/digest; boundary="q"'
    ),
    "no-trailing-newline": _raw_message(b"--q\r\n" + _TEXT + b"--q--"),
    "trailing-blank-lines": _raw_message(
        b"--q\r\nContent-Type: text/plain\r\n\r\n\r\n\r\n--q--\r\n"
    ),
    "non-ascii-boundary": _raw_message(
        b"--q\xc3\xa9\r\n" + _TEXT + b"--q\xc3\xa9--\r\n",
        'multipart/mixed; boundary="q\xc3\xa9"'.encode("latin-1").decode("latin-1"),
    ),
    "unix-from": b"From sender@example.com Mon Jan  1 00:00:00 2024\r\n" + mf.with_attachments(),
    "b64-padding": mf.message(
        mf.multipart(
            "mixed",
            *(
                mf.part(base64.b64encode(b"x" * n)[:cut], "application/octet-stream", cte="base64")
                for n in range(1, 7)
                for cut in (None, -1, -2)
            ),
        )
    ),
}


def _assert_same(raw: bytes) -> None:
    fast = parse_message(raw, RECEIVED)
    slow = parts._parse_message_stdlib(raw, RECEIVED)
    for name in (
        "subject",
        "from_",
        "to",
        "cc",
        "reply_to",
        "date",
        "date_is_fallback",
        "message_id",
    ):
        assert getattr(fast, name) == getattr(slow, name), name
    assert (fast.in_reply_to, fast.references) == (slow.in_reply_to, slow.references)
    assert fast.text_body == slow.text_body
    assert fast.html_body == slow.html_body
    got = [
        (a.filename, a.safe_name, a.content_type, a.content_id, a.inline, a.payload)
        for a in fast.attachments
    ]
    want = [
        (a.filename, a.safe_name, a.content_type, a.content_id, a.inline, a.payload)
        for a in slow.attachments
    ]
    assert got == want
    # The fast path only ever handles messages the stdlib parses without defects, so the
    # defect lists are identical too (no documented exception is needed).
    assert fast.defects == slow.defects
    assert fast == slow


@pytest.mark.parametrize("name", sorted(_EQUIVALENCE_CASES))
def test_fast_path_matches_stdlib(name):
    _assert_same(_EQUIVALENCE_CASES[name])


def test_fast_path_matches_stdlib_on_benchmark_corpus():
    from testkit.corpus import corpus

    messages = corpus(150)
    used = 0
    for _, raw in messages:
        _assert_same(raw)
        used += structure.fast_split(raw) is not None
    assert used >= len(messages) * 0.9  # the corpus is ordinary mail: nearly all go fast


@pytest.mark.parametrize(
    "name",
    [
        "forwarded",
        "missing-close",
        "missing-start",
        "close-only",
        "empty-part",
        "headers-only-part",
        "not-a-header",
        "bare-cr",
        "encoded-multipart",
        "digest",
        "no-boundary",
        "nested-40",
        "non-ascii-boundary",
    ],
)
def test_fast_path_declines_unusual_structure(name):
    assert structure.fast_split(_EQUIVALENCE_CASES[name]) is None


@pytest.mark.parametrize(
    "name",
    [
        "plain-b64",
        "attachments",
        "related",
        "nested-15",
        "lf-only-nested",
        "same-prefix-boundaries",
        "boundary-lookalikes",
        "boundary-whitespace",
        "no-trailing-newline",
        "b64-padding",
    ],
)
def test_fast_path_handles_well_formed_structure(name):
    assert structure.fast_split(_EQUIVALENCE_CASES[name]) is not None


def test_fast_path_used_for_large_base64_attachment(monkeypatch):
    data = mf.random_bytes(3 * 1024 * 1024)
    raw = mf.with_attachments("Big file.\n", [("big.bin", "application/octet-stream", data)])
    assert b"Content-Transfer-Encoding: base64" in raw
    assert structure.fast_split(raw) is not None

    def stdlib_not_allowed(*args, **kwargs):
        raise AssertionError("the stdlib parser was used")

    monkeypatch.setattr(parts, "_parse_message_stdlib", stdlib_not_allowed)
    msg = parse_message(raw, RECEIVED)
    assert msg.text_body == "Big file.\n"
    assert [(a.filename, a.content_type, a.payload == data) for a in msg.attachments] == [
        ("big.bin", "application/octet-stream", True)
    ]
    assert msg.defects == []


def test_small_messages_take_the_fast_path_too(monkeypatch):
    def stdlib_not_allowed(*args, **kwargs):
        raise AssertionError("the stdlib parser was used")

    monkeypatch.setattr(parts, "_parse_message_stdlib", stdlib_not_allowed)
    msg = parse_message(mf.plain("Lunch?", "Noon?\r\n"), RECEIVED)
    assert (msg.subject, msg.text_body) == ("Lunch?", "Noon?\n")


def test_unusual_small_messages_still_take_the_stdlib_path(monkeypatch):
    calls = []
    real = parts._parse_message_stdlib
    monkeypatch.setattr(parts, "_parse_message_stdlib", lambda *a: calls.append(1) or real(*a))
    parse_message(_EQUIVALENCE_CASES["missing-close"], RECEIVED)
    assert calls == [1]


@pytest.mark.parametrize("size", range(0, 10))
@pytest.mark.parametrize("damage", ["", "strip-pad", "drop-last", "extra-pad", "inner-pad"])
def test_base64_fast_decode_matches_careful_decode(size, damage):
    encoded = base64.b64encode(bytes(range(200, 200 + size)))
    if damage == "strip-pad":
        encoded = encoded.rstrip(b"=")
    elif damage == "drop-last":
        encoded = encoded[:-1]
    elif damage == "extra-pad":
        encoded += b"="
    elif damage == "inner-pad":
        encoded += encoded
    wrapped = b"\r\n".join(encoded[i : i + 4] for i in range(0, len(encoded), 4)) + b"\r\n"
    # The careful path, forced by a junk character that it reports and otherwise ignores.
    careful, defect = b64.b64decode(wrapped + b"\x00")
    assert defect is not None and defect.startswith("invalid base64: invalid characters ignored")
    fast, fast_defect = b64.b64decode(wrapped)
    assert fast == careful
    expected_extra = defect.removeprefix("invalid base64: invalid characters ignored").lstrip(", ")
    assert (fast_defect or "").removeprefix("invalid base64: ") == expected_extra


# ------------------------------------------------------------ boundary and header edge


@pytest.mark.parametrize("junk", ["\x00", "junk", ' "again"'])
def test_junk_after_a_quoted_boundary_is_ignored(junk):
    alternative = mf.multipart(
        "alternative", mf.text_part("plain words"), mf.text_part("<p>html</p>", "html")
    )
    raw = mf.message(alternative.replace(b'"\r\n', f'"{junk}\r\n'.encode(), 1))
    msg = parse_message(raw, RECEIVED)
    assert (msg.text_body, msg.html_body) == ("plain words", "<p>html</p>")
    _assert_same(raw)


def test_empty_boundary_is_reported_as_missing():
    raw = mf.message(mf.part(b"--\r\nbody\r\n", "multipart/mixed; boundary="))
    msg = parse_message(raw, RECEIVED)
    assert any("no boundary in multipart" in defect for defect in msg.defects)
    assert "body" in msg.text_body


@pytest.mark.parametrize(
    ("raw", "start", "want"),
    [
        (b"A: b\r\n\r\nbody", 0, 8),
        (b"A: b\n\nbody\r\n\r\n", 0, 6),
        (b"A: b\n\n\r\nbody", 0, 6),  # LF LF ends the block before the CRLF one
        (b"A: b\r\n\r\nbody\n\n", 0, 8),
        (b"A: b\r\nno blank line", 0, -1),
        (b"X: y\r\n\r\nA: b\r\n\r\n", 8, 16),
    ],
)
def test_blank_line_end_finds_the_first_blank_line(raw, start, want):
    assert structure._blank_line_end(raw, start, len(raw)) == want
