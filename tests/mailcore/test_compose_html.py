"""Tests of mailcore.compose for rich text: multipart/alternative with a derived text part,
multipart/related for cid: images, and replies/forwards inside HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

from mailcore.addresses import Address
from mailcore.compose import (
    OutgoingAttachment,
    OutgoingMessage,
    build_message,
    forward_inline_html,
    quote_html_for_reply,
)
from mailcore.mime import parse_message
from mailcore.richtext import html_to_text, sanitize_compose_html

ME = Address("김민수", "minsu@example.kr")
YOU = Address("이영희", "younghee@example.kr")
PNG = bytes(range(256)) * 40  # every byte value: base64 must bring each one back
CID = "img1.20240308@example.kr"


def rich_message(**fields) -> OutgoingMessage:
    html = sanitize_compose_html(
        f'<div>안녕하세요, <b>영희</b>님.</div><div><img src="cid:{CID}" alt="그림"></div>',
        lambda url: url,
    )
    values = {
        "sender": ME,
        "to": [YOU],
        "subject": "회의 자료 🗂",
        "html": html,
        "body": html_to_text(html),
        "attachments": [OutgoingAttachment("회의 사진.png", "image/png", PNG, CID, True)],
    }
    values.update(fields)
    return OutgoingMessage(**values)


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def test_a_rich_message_is_alternative_text_then_html_inside_related_with_its_image():
    built = build_message(rich_message())
    msg = parse(built.data)
    assert msg.get_content_type() == "multipart/related"
    assert msg.get_param("type") == "multipart/alternative"
    alternative, image = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text.get_content().replace("\r\n", "\n") == "안녕하세요, 영희님.\n[그림]\n"
    assert "<b>영희</b>" in html.get_content()
    assert f'src="cid:{CID}"' in html.get_content()
    assert image["Content-ID"] == f"<{CID}>"
    assert image.get_content_disposition() == "inline"
    assert image.get_filename() == "회의 사진.png"


def test_the_cid_image_arrives_byte_exact_and_the_whole_message_is_7_bit():
    built = build_message(rich_message())
    assert built.data.isascii()
    assert all(len(line) <= 998 for line in built.data.split(b"\r\n"))
    parsed = parse_message(built.data, datetime.now(UTC))
    (image,) = parsed.attachments
    assert image.inline
    assert image.content_id == CID
    assert image.payload == PNG
    assert parsed.subject == "회의 자료 🗂"
    assert parsed.from_.name == "김민수"
    assert "<b>영희</b>" in parsed.html_body
    assert parsed.text_body.startswith("안녕하세요, 영희님.")


def test_attachments_wrap_the_related_part_in_mixed():
    message = rich_message()
    message.attachments.append(OutgoingAttachment("보고서.pdf", "application/pdf", b"%PDF-1.7"))
    msg = parse(build_message(message).data)
    assert msg.get_content_type() == "multipart/mixed"
    related, attachment = msg.get_payload()
    assert related.get_content_type() == "multipart/related"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "보고서.pdf"


def test_without_images_a_rich_message_is_just_alternative():
    html = "<div>짧은 <i>메모</i></div>"
    msg = parse(build_message(rich_message(html=html, body="짧은 메모\n", attachments=[])).data)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.get_payload()] == ["text/plain", "text/html"]


def test_an_inline_image_the_text_no_longer_shows_is_not_sent():
    html = "<div>그림은 지웠습니다</div>"
    msg = parse(build_message(rich_message(html=html, body="그림은 지웠습니다\n")).data)
    assert msg.get_content_type() == "multipart/alternative"
    assert b"image/png" not in build_message(rich_message(html=html)).data


def test_a_plain_text_message_leaves_inline_images_out():
    msg = parse(build_message(rich_message(html="", body="plain\n")).data)
    assert msg.get_content_type() == "text/plain"


# --- replies and forwards inside HTML ---------------------------------------------------

ORIGINAL = (
    "From: =?utf-8?b?6rmA7KeA7ZiE?= <kim@example.kr>\r\n"
    "To: minsu@example.kr\r\n"
    "Subject: =?utf-8?b?7JWI64WV?=\r\n"
    "Date: Fri, 08 Mar 2024 15:20:00 +0900\r\n"
    "Message-ID: <orig@example.kr>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/related; boundary="b"\r\n'
    "\r\n"
    "--b\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    '<p onclick="x()">원본 <b>내용</b><script>steal()</script></p>'
    '<img src="https://tracker.example/open.gif"><img src="cid:logo@example.kr">\r\n'
    "--b\r\n"
    "Content-Type: image/png\r\n"
    "Content-ID: <logo@example.kr>\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0KGgo=\r\n"
    "--b--\r\n"
).encode()


def test_a_reply_quotes_the_sanitized_html_under_the_attribution_line():
    original = parse_message(ORIGINAL, datetime.now(UTC))
    quoted = quote_html_for_reply(original)
    assert quoted.startswith("<p>On 2024-03-08 15:20, 김지현 &lt;kim@example.kr&gt; wrote:</p>")
    assert '<blockquote type="cite">' in quoted
    assert "원본 <b>내용</b>" in quoted
    for gone in ("onclick", "steal", "tracker", "cid:logo"):
        assert gone not in quoted  # a reply carries no images of the original


def test_a_forward_keeps_the_originals_inline_images_by_cid():
    original = parse_message(ORIGINAL, datetime.now(UTC))
    forwarded = forward_inline_html(
        original, cid_url=lambda cid: f"cid:{cid}" if cid == "logo@example.kr" else None
    )
    assert "---------- Forwarded message ----------<br>From: 김지현 &lt;kim@example.kr&gt;" in (
        forwarded
    )
    assert '<img src="cid:logo@example.kr">' in forwarded
    assert "tracker" not in forwarded


def test_a_plain_original_is_quoted_as_paragraphs():
    raw = (
        b"From: kim@example.kr\r\nSubject: x\r\nDate: Fri, 08 Mar 2024 15:20:00 +0900\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nfirst <line>\r\nsecond\r\n"
    )
    quoted = quote_html_for_reply(parse_message(raw, datetime.now(UTC)))
    assert '<blockquote type="cite"><p>first &lt;line&gt;</p><p>second</p></blockquote>' in quoted
