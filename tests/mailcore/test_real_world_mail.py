"""Mail from the real world (issue 24): undeclared 8-bit header charsets, uuencode,
winmail.dat (TNEF) and signed or encrypted mail, as the parser reads them."""

import binascii

import pytest

from mailcore.mime import decode_header_text, parse_message
from mailcore.mime.charsets import guess_8bit
from testkit import mailfactory as mf
from testkit import smime, tnef

CRLF = b"\r\n"
# ------------------------------------------------------- undeclared 8-bit headers


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Узнай больше о нашем предложении", "cp1251"),
        ("Узнай", "cp1251"),
        ("Счёт №5 от 10.03", "cp1251"),
        ("会議の資料", "cp932"),
        ("件名のテスト", "cp932"),
        ("見積書.pdf", "cp932"),
        ("회의 안내 " + mf.KOREAN_CP949_ONLY, "cp949"),
        ("홍길동", "cp949"),
        ("[공지] 견적서.xlsx", "cp949"),
        ("Réunion à Paris", "cp1252"),
        ("It’s done – ok", "cp1252"),
    ],
)
def test_undeclared_8bit_header_is_read_in_its_own_charset(text, codec):
    assert decode_header_text(text.encode(codec)) == text


def test_undeclared_cp1251_and_shift_jis_subjects_decode_and_euc_kr_still_does():
    for subject, codec in (("Узнай", "cp1251"), ("会議の資料", "cp932"), ("회의 자료", "cp949")):
        raw = mf.message(mf.text_part("body\n"), subject=subject.encode(codec))
        assert parse_message(raw).subject == subject


def test_undeclared_cp1251_sender_name_and_attachment_name():
    named = b'attachment; filename="' + "Отчёт.pdf".encode("cp1251") + b'"'
    pdf = mf.header_block(
        [
            ("Content-Type", "application/pdf"),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", named),
        ]
    )
    raw = mf.message(
        mf.multipart("mixed", mf.text_part("см. вложение\n"), pdf + CRLF + b"JVBERg==\r\n"),
        from_="Иван Петров <ivan@example.ru>".encode("cp1251"),
    )
    msg = parse_message(raw)
    assert msg.from_.name == "Иван Петров"
    assert msg.attachments[0].filename == "Отчёт.pdf"
    assert msg.attachments[0].payload == b"%PDF"


def test_utf8_and_the_messages_own_charset_come_before_any_guess():
    assert guess_8bit("Узнай".encode(), None) == ("Узнай", "utf-8")
    # The message says koi8-r: its bytes are read so even though cp1251 would decode them.
    assert guess_8bit("Привет".encode("koi8_r"), "koi8_r") == ("Привет", "koi8_r")


# ------------------------------------------------------------------ uuencode

DATA = bytes(range(256)) * 3 + b"end of file\x00"


def uuencoded(data: bytes, name: str = "photos.zip") -> bytes:
    lines = b"".join(
        binascii.b2a_uu(data[i : i + 45], backtick=True) for i in range(0, len(data), 45)
    )
    return mf.crlf(b"begin 644 " + name.encode() + b"\n" + lines + b"`\nend\n")


@pytest.mark.parametrize("cte", ["x-uuencode", "uuencode", "x-uue"])
def test_x_uuencode_part_is_decoded_byte_exact_and_named_by_its_begin_line(cte):
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("Files.\n"),
            mf.part(uuencoded(DATA), "application/octet-stream", cte=cte),
        )
    )
    msg = parse_message(raw)
    [file] = msg.attachments
    assert file.payload == DATA
    assert file.filename == "photos.zip"
    assert not file.derived  # the part itself, transfer-decoded like base64
    assert msg.defects == []


def test_uuencode_lines_padded_with_spaces_or_trailing_garbage_decode_the_same():
    encoded = uuencoded(DATA).replace(b"`", b" ")  # old encoders write zeros as spaces
    lines = encoded.split(b"\r\n")
    lines[1] += b"XY"  # an encoder that wrote characters past the line's length
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("x\n"),
            mf.part(b"\r\n".join(lines), "application/zip", cte="x-uuencode"),
        )
    )
    assert parse_message(raw).attachments[0].payload == DATA


def test_uuencoded_block_in_a_text_body_becomes_an_attachment_and_leaves_the_text():
    body = b"Hi,\r\n\r\nthe photos:\r\n\r\n" + uuencoded(DATA, "사진 모음.zip") + b"\r\nBye.\r\n"
    raw = mf.message(mf.part(body, "text/plain; charset=utf-8", cte="8bit"))
    msg = parse_message(raw)
    assert msg.text_body == "Hi,\n\nthe photos:\n\n\nBye.\n"
    [file] = msg.attachments
    assert file.payload == DATA
    assert file.filename == "사진 모음.zip"
    assert file.content_type == "application/zip"
    assert file.derived  # not a slice of the raw message
    assert msg.has_attachments


def test_two_blocks_in_one_body_and_prose_starting_with_begin_stays_prose():
    body = (
        b"begin 644 is how a uuencoded file starts.\r\n"
        + uuencoded(b"first", "a.txt")
        + b"between\r\n"
        + uuencoded(b"second", "b.txt")
    )
    msg = parse_message(mf.message(mf.part(body, "text/plain; charset=us-ascii", cte="7bit")))
    assert [(a.filename, a.payload) for a in msg.attachments] == [
        ("a.txt", b"first"),
        ("b.txt", b"second"),
    ]
    assert msg.text_body == "begin 644 is how a uuencoded file starts.\nbetween\n"


# ---------------------------------------------------------------- winmail.dat

PDF = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + bytes(200) + b"\xff\xd9"


def winmail(
    data: bytes, *, text: str | None = "See the attached files.\n", ctype="application/ms-tnef"
):
    parts = [mf.text_part(text)] if text is not None else []
    parts.append(mf.attachment_part(data, "winmail.dat", ctype))
    return mf.message(mf.multipart("mixed", *parts), subject="Outlook")


def test_files_inside_winmail_dat_are_attachments_byte_exact_with_unicode_names():
    msg = parse_message(winmail(tnef.build([("견적서 2024.pdf", PDF), ("사진.jpg", JPEG)])))
    original, pdf, jpeg = msg.attachments
    assert (original.filename, original.content_type, original.derived) == (
        "winmail.dat",
        "application/ms-tnef",
        False,
    )
    assert (pdf.filename, pdf.content_type, pdf.payload, pdf.derived) == (
        "견적서 2024.pdf",
        "application/pdf",
        PDF,
        True,
    )
    assert (jpeg.filename, jpeg.content_type, jpeg.payload) == ("사진.jpg", "image/jpeg", JPEG)
    assert msg.text_body == "See the attached files.\n"


def test_winmail_dat_without_long_names_uses_the_short_title_and_any_tnef_type():
    data = tnef.build([("REPORT.PDF", PDF)], long_names=False)
    msg = parse_message(winmail(data, ctype="application/vnd.ms-tnef"))
    assert [(a.filename, a.payload) for a in msg.attachments[1:]] == [("REPORT.PDF", PDF)]


def test_winmail_dat_holding_only_an_html_body_gives_the_message_its_body():
    data = tnef.build([("a.pdf", PDF)], html="<p>안녕하세요, <b>회의</b> 자료입니다.</p>")
    msg = parse_message(winmail(data, text=None))
    assert msg.html_body == "<p>안녕하세요, <b>회의</b> 자료입니다.</p>"
    assert "회의 자료입니다" in msg.snippet()


def test_winmail_dat_with_only_compressed_rtf_is_shown_as_text():
    rtf = r"{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}}\f0 Hello from \b Outlook\b0 .\par caf\'e9\par}"
    msg = parse_message(winmail(tnef.build(rtf=rtf), text=" \n"))
    assert msg.text_body == "Hello from Outlook.\ncafé\n"


def test_a_text_body_outside_winmail_dat_wins_over_the_one_inside():
    msg = parse_message(winmail(tnef.build(html="<p>inside</p>"), text="outside\n"))
    assert (msg.text_body, msg.html_body) == ("outside\n", "")


def test_unreadable_winmail_dat_stays_as_it_is_with_a_defect():
    msg = parse_message(winmail(b"\x78\x9f\x3e\x22 not really tnef"))
    [original] = msg.attachments
    assert original.payload == b"\x78\x9f\x3e\x22 not really tnef"
    assert any("winmail.dat could not be read" in d for d in msg.defects)
    assert msg.text_body == "See the attached files.\n"


def test_generic_winmail_dat_is_recognised_by_name_and_signature():
    data = tnef.build([("a.txt", b"hello")])
    msg = parse_message(winmail(data, ctype="application/octet-stream"))
    assert [(a.filename, a.payload) for a in msg.attachments[1:]] == [("a.txt", b"hello")]


# --------------------------------------------------------- signed and encrypted


def signed(signature_type: str, name: str) -> bytes:
    return mf.message(
        mf.multipart(
            "signed",
            mf.multipart(
                "mixed",
                mf.text_part("서명된 메일입니다.\n"),
                mf.attachment_part(PDF, "a.pdf", "application/pdf"),
            ),
            mf.attachment_part(b"0\x82signature", name, signature_type),
        )
    )


@pytest.mark.parametrize(
    ("ctype", "name", "protection"),
    [
        ("application/pkcs7-signature", "smime.p7s", "smime-signed"),
        ("application/x-pkcs7-signature", "smime.p7s", "smime-signed"),
        ("application/pgp-signature", "signature.asc", "pgp-signed"),
    ],
)
def test_signature_part_is_no_attachment_and_the_message_says_it_is_signed(ctype, name, protection):
    msg = parse_message(signed(ctype, name))
    assert [a.filename for a in msg.attachments] == ["a.pdf"]
    assert msg.protection == protection
    assert msg.text_body == "서명된 메일입니다.\n"


def test_signature_type_outside_multipart_signed_stays_an_attachment():
    raw = mf.with_attachments(attachments=[("smime.p7s", "application/pkcs7-signature", b"x")])
    msg = parse_message(raw)
    assert [a.filename for a in msg.attachments] == ["smime.p7s"]
    assert msg.protection == ""


def test_encrypted_mail_says_so_and_stays_downloadable():
    smime = mf.message(
        mf.attachment_part(
            b"0\x80enveloped",
            "smime.p7m",
            'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
        )
    )
    msg = parse_message(smime)
    assert msg.protection == "smime-encrypted"
    assert [a.filename for a in msg.attachments] == ["smime.p7m"]
    pgp = mf.message(
        mf.multipart(
            "encrypted",
            mf.part(b"Version: 1\n", "application/pgp-encrypted", cte="7bit"),
            mf.attachment_part(b"-----BEGIN PGP MESSAGE-----", "encrypted.asc"),
        )
    )
    msg = parse_message(pgp)
    assert msg.protection == "pgp-encrypted"
    assert "encrypted.asc" in [a.filename for a in msg.attachments]


# ------------------------------------------------------ S/MIME signature checked

SIGNED_PART = mf.text_part("계약서를 보냅니다. Contract attached.\n", cte="quoted-printable")


@pytest.fixture(scope="module")
def ec_signer():
    return smime.signer("alice@example.com")


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_smime_signature_verifies_against_its_own_certificate(kind, ec_signer):
    cert, key = ec_signer if kind == "ec" else smime.signer("bob@example.org", kind="rsa")
    msg = parse_message(smime.signed_message(SIGNED_PART, cert, key))
    assert msg.protection == "smime-verified"
    assert msg.signer == ("alice@example.com" if kind == "ec" else "bob@example.org")
    assert msg.attachments == []
    assert msg.text_body == "계약서를 보냅니다. Contract attached.\n"


def test_smime_signature_without_signed_attributes_verifies(ec_signer):
    msg = parse_message(smime.signed_message(SIGNED_PART, *ec_signer, attributes=False))
    assert msg.protection == "smime-verified"


def test_tampered_smime_message_does_not_verify(ec_signer):
    raw = smime.signed_message(SIGNED_PART, *ec_signer)
    tampered = raw.replace(b"Contract attached", b"Contract cancelled")
    assert tampered != raw
    msg = parse_message(tampered)
    assert msg.protection == "smime-invalid"
    assert msg.signer == "alice@example.com"


def test_smime_signed_message_with_lf_line_endings_still_verifies(ec_signer):
    raw = smime.signed_message(SIGNED_PART, *ec_signer).replace(b"\r\n", b"\n")
    assert parse_message(raw).protection == "smime-verified"


def test_unreadable_smime_signature_is_named_but_not_claimed_verified():
    msg = parse_message(signed("application/pkcs7-signature", "smime.p7s"))
    assert (msg.protection, msg.signer) == ("smime-signed", "")
