"""What search reads of attached messages (``ParsedMessage.attached``, issue 24): the
sender, subject and text of every message/rfc822 part, to any depth, from the one parse
the message gets; the message's own parts are as they were."""

from mailcore.mime import parse_message
from mailcore.mime import parts as mime_parts
from testkit import mailfactory as mf

CRLF = b"\r\n"


def attached_part(inner: bytes) -> bytes:
    return mf.header_block([("Content-Type", "message/rfc822")]) + CRLF + inner


def test_sender_subject_and_text_of_an_attached_message():
    inner = mf.plain(
        "분기 보고서",
        "회의 자료를 보냅니다.\n",
        from_=f"{mf.encoded_word('김지현')} <jihyun@daum.net>",
    )
    msg = parse_message(mf.forwarded(inner))
    [attached] = msg.attached
    assert attached.subject == "분기 보고서"
    assert (attached.from_.name, attached.from_.address) == ("김지현", "jihyun@daum.net")
    assert attached.text == "회의 자료를 보냅니다.\n"
    assert attached.depth == 1
    assert msg.text_body == "Forwarding this.\n"  # its own body only


def test_attached_messages_at_any_depth_parents_first():
    deepest = mf.plain("Third", "three\n", from_="c@example.com")
    middle = mf.message(
        mf.multipart("mixed", mf.text_part("two\n"), attached_part(deepest)),
        subject="Second",
        from_="b@example.com",
    )
    msg = parse_message(mf.forwarded(middle))
    assert [(a.subject, a.from_.address, a.depth) for a in msg.attached] == [
        ("Second", "b@example.com", 1),
        ("Third", "c@example.com", 2),
    ]
    # The attached message stays one opaque attachment of the outer one.
    assert [a.content_type for a in msg.attachments] == ["message/rfc822"]


def test_an_html_only_attached_message_gives_its_visible_text():
    inner = mf.html_only("<p>Budget <b>approved</b></p><script>x()</script>", subject="HTML")
    [attached] = parse_message(mf.forwarded(inner)).attached
    assert "Budget approved" in attached.text
    assert "x()" not in attached.text


def test_an_attached_messages_own_files_are_not_decoded_or_listed():
    inner = mf.with_attachments(
        "Numbers.\n", [("big.bin", "application/octet-stream", b"x" * 1000)]
    )
    msg = parse_message(mf.forwarded(inner))
    assert [a.text for a in msg.attached] == ["Numbers.\n"]
    assert len(msg.attachments) == 1  # the .eml only


def test_raw_8bit_headers_of_an_attached_message_use_its_own_charset():
    inner = (
        b"From: " + "김지현".encode("cp949") + b" <jihyun@daum.net>\r\n"
        b"Subject: " + "회의 안내".encode("cp949") + b"\r\n"
        b"Content-Type: text/plain; charset=euc-kr\r\n\r\n" + "본문".encode("cp949") + b"\r\n"
    )
    [attached] = parse_message(mf.forwarded(inner)).attached
    assert (attached.subject, attached.from_.name) == ("회의 안내", "김지현")
    assert attached.text == "본문\n"


def test_absurd_nesting_is_read_to_a_bound_and_never_fails():
    raw = mf.plain("Bottom", "bottom\n")
    for level in range(40):
        raw = mf.message(attached_part(raw), subject=f"Level {level}")
    msg = parse_message(raw)
    assert len(msg.attached) == mime_parts.MAX_ATTACHED_DEPTH
    assert msg.attached[0].subject == "Level 38"
    assert msg.defects == []


def test_many_attached_messages_are_read_to_a_bound():
    many = [attached_part(mf.plain(f"Inner {i}", "x\n")) for i in range(80)]
    msg = parse_message(mf.message(mf.multipart("mixed", mf.text_part("many\n"), *many)))
    assert len(msg.attached) == mime_parts.MAX_ATTACHED
    assert len(msg.attachments) == 80  # every one is still an attachment


def test_a_broken_attached_message_still_gives_what_it_can():
    inner = b"Subject: Half\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n"
    msg = parse_message(mf.forwarded(inner))
    assert [a.subject for a in msg.attached] == ["Half"]
    assert msg.attachments[0].payload == inner
