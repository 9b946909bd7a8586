"""Mail from the real world on the read page (issue 24): files inside winmail.dat and
uuencode stored as attachments, forwarded messages opened, invitations shown as cards,
signed mail badged, and mail already stored brought up to date by rederive_parts."""

import itertools
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from mailbox import ingest
from mailbox.models import Attachment, Message
from testkit import mailfactory as mf
from testkit import smime, tnef

_uidls = itertools.count(1)
PDF = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"


def store(account, raw: bytes) -> Message:
    return ingest.store_message(account, raw, f"real-{next(_uidls)}")


def read(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.file.name, "rb") as f:
        return f.read()


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def korean_alice(alice):
    alice.language = "ko"
    alice.time_zone = "Asia/Seoul"
    alice.save()
    return alice


def winmail_message() -> bytes:
    data = tnef.build([("견적서.pdf", PDF)], html="<p>Outlook body</p>")
    return mf.message(
        mf.multipart("mixed", mf.attachment_part(data, "winmail.dat", "application/ms-tnef")),
        subject="Outlook",
    )


# ------------------------------------------------------------ winmail.dat, uuencode


def test_files_inside_winmail_dat_are_stored_as_derived_attachments_and_download(
    alice_client, alice_account, bob_account, client
):
    message = store(alice_account, winmail_message())
    original, pdf = message.attachments.order_by("id")
    assert (original.safe_name, original.derived) == ("winmail.dat", False)
    assert (pdf.safe_name, pdf.content_type, pdf.derived, read(pdf)) == (
        "견적서.pdf",
        "application/pdf",
        True,
        PDF,
    )
    assert message.html_body == "<p>Outlook body</p>"
    page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "견적서.pdf" in page and "winmail.dat" in page
    assert "Original winmail.dat from Outlook" in page  # the container, beside its files
    assert page.count("Original winmail.dat") == 1
    response = alice_client.get(reverse("download_attachment", args=[message.pk, pdf.pk]))
    assert content(response) == PDF
    assert response["X-Content-Type-Options"] == "nosniff"


def test_uuencoded_block_in_a_body_is_an_attachment_not_gibberish(alice_client, alice_account):
    import binascii

    lines = binascii.b2a_uu(b"zip bytes\x00\x01", backtick=True)
    body = mf.crlf(b"See below.\n\nbegin 644 files.zip\n" + lines + b"`\nend\n\nCheers\n")
    message = store(alice_account, mf.message(mf.part(body, "text/plain; charset=us-ascii")))
    [file] = message.attachments.all()
    assert (file.safe_name, file.derived, read(file)) == ("files.zip", True, b"zip bytes\x00\x01")
    assert message.text_body == "See below.\n\n\nCheers\n"
    assert message.has_attachments


# ------------------------------------------------------------------ forwarded mail

INNER_IMAGE = b"\x89PNG\r\n\x1a\n inner"


def forwarded_message() -> bytes:
    inner = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("<p>Inner <b>news</b><script>alert(1)</script></p>", "html"),
            mf.attachment_part(INNER_IMAGE, "차트.png", "image/png"),
            mf.header_block([("Content-Type", "message/rfc822")])
            + b"\r\n"
            + mf.plain("Deepest", "the bottom\n"),
        ),
        subject=mf.encoded_word("분기 보고서"),
        from_="Kim Minsoo <minsoo@example.kr>",
    )
    return mf.forwarded(inner)


def test_a_forwarded_message_opens_with_its_headers_body_and_attachments(
    alice_client, alice_account
):
    message = store(alice_account, forwarded_message())
    attached = message.attachments.get(content_type="message/rfc822")
    read_page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    open_url = reverse("attached_message", args=[message.pk, attached.pk])
    assert open_url in read_page
    page = alice_client.get(open_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "분기 보고서" in html and "minsoo@example.kr" in html
    assert "Download .eml" in html
    body_url = reverse("attached_message_body", args=[message.pk, attached.pk])
    assert body_url in html
    body = alice_client.get(body_url)
    assert "<b>news</b>" in body.content.decode()
    assert "<script" not in body.content.decode()
    assert "default-src 'none'" in body["Content-Security-Policy"]
    image_url = reverse("attached_message_file", args=[message.pk, attached.pk, 1])
    assert image_url in html
    download = alice_client.get(image_url)
    assert download.content == INNER_IMAGE
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"


def test_a_message_attached_inside_a_forwarded_one_opens_too(alice_client, alice_account):
    message = store(alice_account, forwarded_message())
    attached = message.attachments.get(content_type="message/rfc822")
    url = reverse("attached_message", args=[message.pk, attached.pk])
    page = alice_client.get(url, {"in": "2"}).content.decode()
    assert "Deepest" in page and "the bottom" in page
    eml = reverse("attached_message_file", args=[message.pk, attached.pk, 2])
    assert f'href="{eml}"' in page  # its Download .eml: the slice in the enclosing message
    assert alice_client.get(eml).content == mf.plain("Deepest", "the bottom\n")
    assert alice_client.get(url, {"in": "1"}).status_code == 404  # an image, no message
    assert alice_client.get(url, {"in": "9"}).status_code == 404
    assert alice_client.get(url, {"in": "x"}).status_code == 404


def test_another_users_forwarded_message_is_404(client, alice_account, bob):
    message = store(alice_account, forwarded_message())
    attached = message.attachments.get(content_type="message/rfc822")
    client.force_login(bob)
    for name, args in (
        ("attached_message", [message.pk, attached.pk]),
        ("attached_message_body", [message.pk, attached.pk]),
        ("attached_message_file", [message.pk, attached.pk, 1]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404, name


def test_only_message_attachments_open_as_messages(alice_client, alice_account):
    message = store(alice_account, mf.with_attachments())
    part = message.attachments.get()
    url = reverse("attached_message", args=[message.pk, part.pk])
    assert alice_client.get(url).status_code == 404


def test_forwarded_message_page_in_korean(client, korean_alice, alice_account):
    message = store(alice_account, forwarded_message())
    attached = message.attachments.get(content_type="message/rfc822")
    client.force_login(korean_alice)
    html = client.get(reverse("attached_message", args=[message.pk, attached.pk])).content.decode()
    assert "첨부된 메일" in html
    assert ".eml 파일로 다운로드" in html


# ------------------------------------------------------------------- invitations

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//EN
METHOD:REQUEST
BEGIN:VEVENT
UID:abc@example.com
DTSTAMP:20260301T000000Z
DTSTART:20260310T010000Z
DTEND:20260310T020000Z
SUMMARY:분기 회의
LOCATION:본관 3층 회의실
ORGANIZER;CN=Kim Minsoo:mailto:minsoo@example.kr
ATTENDEE;CN=Alice:mailto:alice@example.test
END:VEVENT
END:VCALENDAR
"""


def invitation() -> bytes:
    calendar = mf.text_part(ICS.replace("\n", "\r\n"), "calendar")
    calendar = calendar.replace(
        b"text/calendar; charset=utf-8", b"text/calendar; charset=utf-8; method=REQUEST"
    )
    return mf.message(
        mf.multipart("mixed", mf.text_part("You are invited.\n"), calendar),
        subject="Invitation: 분기 회의",
    )


def test_an_invitation_shows_what_when_where_and_who_in_the_users_zone(
    client, alice, alice_account
):
    alice.time_zone = "Asia/Seoul"
    alice.save()
    client.force_login(alice)
    message = store(alice_account, invitation())
    html = client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert '<section class="invitation notice" aria-label="Invitation">' in html
    assert "분기 회의" in html
    assert "Tue, Mar 10, 2026, 10:00 AM" in html  # 01:00 UTC in Seoul
    assert "11:00 AM" in html
    assert "본관 3층 회의실" in html
    assert "Kim Minsoo &lt;minsoo@example.kr&gt;" in html
    assert "Alice &lt;alice@example.test&gt;" in html
    assert message.attachments.get().safe_name.endswith(".ics")  # still downloadable


def test_an_invitation_card_in_korean(client, korean_alice, alice_account):
    client.force_login(korean_alice)
    message = store(alice_account, invitation())
    html = client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert 'aria-label="초대"' in html and "일시" in html and "장소" in html and "주최자" in html
    assert "2026년 3월 10일 (화) 오전 10:00" in html


def test_a_broken_calendar_file_is_only_a_download(alice_client, alice_account):
    raw = mf.with_attachments(
        attachments=[("x.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nnonsense")]
    )
    message = store(alice_account, raw)
    response = alice_client.get(reverse("read_message", args=[message.pk]))
    assert response.status_code == 200
    assert 'class="invitation' not in response.content.decode()


# ------------------------------------------------------------------- signed mail


def signed_message() -> bytes:
    return mf.message(
        mf.multipart(
            "signed",
            mf.text_part("Signed text.\n"),
            mf.attachment_part(b"0\x82sig", "smime.p7s", "application/pkcs7-signature"),
        ),
        subject="Signed",
    )


def test_signed_mail_is_badged_not_verified_and_its_signature_is_no_attachment(
    alice_client, alice_account
):
    message = store(alice_account, signed_message())
    assert message.protection == "smime-signed"
    assert not message.attachments.exists()
    html = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "Signed (S/MIME), not verified" in html
    assert "smime.p7s" not in html
    assert "The signature was not checked" in html


def test_signed_badge_in_korean(client, korean_alice, alice_account):
    client.force_login(korean_alice)
    message = store(alice_account, signed_message())
    html = client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "서명됨 (S/MIME), 확인하지 않음" in html


# ---------------------------------------------------------- mail already stored


def run(*args) -> str:
    out = StringIO()
    call_command("rederive_parts", *args, stdout=out)
    return out.getvalue()


def test_rederive_brings_stored_mail_up_to_date_and_is_safe_twice(alice_account):
    outlook = store(alice_account, winmail_message())
    signed = store(alice_account, signed_message())
    russian = store(alice_account, mf.plain("Узнай".encode("cp1251"), "текст\n"))
    # What the parser before issue 24 stored: winmail.dat alone, the signature listed,
    # the Russian subject as Latin-1.
    outlook.attachments.filter(derived=True).delete()
    Message.objects.filter(pk=outlook.pk).update(html_body="")
    name, digest = ingest.store_blob("attachments", b"0\x82sig")
    Attachment.objects.create(
        message=signed,
        filename="smime.p7s",
        safe_name="smime.p7s",
        content_type="application/pkcs7-signature",
        size=5,
        sha256=digest,
        file=name,
    )
    Message.objects.filter(pk=signed.pk).update(protection="")
    Message.objects.filter(pk=russian.pk).update(subject="Óçíàé")

    output = run("alice")
    assert "checked 3 messages, changed 3" in output
    outlook.refresh_from_db()
    [pdf] = outlook.attachments.filter(derived=True)
    assert (pdf.safe_name, read(pdf)) == ("견적서.pdf", PDF)
    assert outlook.html_body == "<p>Outlook body</p>"
    signed.refresh_from_db()
    assert signed.protection == "smime-signed"
    assert not signed.attachments.exists()
    assert Message.objects.get(pk=russian.pk).subject == "Узнай"
    assert "checked 3 messages, changed 0" in run("alice")


def test_a_verified_smime_signature_names_its_certificate_and_claims_no_trust(
    client, alice, alice_account
):
    cert, key = smime.signer("signer@example.com")
    raw = smime.signed_message(mf.text_part("Signed text.\n"), cert, key)
    message = store(alice_account, raw)
    assert (message.protection, message.signer) == ("smime-verified", "signer@example.com")
    client.force_login(alice)
    html = client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "Signed (S/MIME) by signer@example.com: the signature matches the message" in html
    assert "Whether the certificate is trustworthy was not checked." in html
    alice.language = "ko"
    alice.save()
    html = client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "signer@example.com의 서명 (S/MIME): 서명이 메일 내용과 일치합니다" in html
    tampered = store(alice_account, raw.replace(b"Signed text.", b"Signed textX"))
    assert tampered.protection == "smime-invalid"
    html = client.get(reverse("read_message", args=[tampered.pk])).content.decode()
    assert "서명이 메일 내용과 맞지 않습니다" in html
