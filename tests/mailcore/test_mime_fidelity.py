"""Parser fidelity: every part exactly as it was sent, and every body shown.

Issue 17 part 4 and issue 26. Plain pytest, no Django needed. The property test at the
end generates random MIME trees and checks every stored part against the slice of the
raw message between its boundaries (RFC 2046: the line break before a boundary belongs
to the boundary).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcore.addresses import Address
from mailcore.mime import decode_charset, parse_headers, parse_message, parts, structure
from testkit import mailfactory as mf

RECEIVED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CRLF = b"\r\n"


def _both_paths(raw: bytes):
    """The parse as the app does it and by the stdlib reference path."""
    return parse_message(raw, RECEIVED), parts._parse_message_stdlib(raw, RECEIVED)


def _attached(ctype: str, body: bytes, *, headers: list[tuple[str, str]] | None = None) -> bytes:
    return mf.header_block([("Content-Type", ctype), *(headers or [])]) + CRLF + body


# ------------------------------------------------------------- message/* byte-exact


def test_placeholder_message_rfc822_without_headers_is_stored_byte_exact():
    placeholder = b"Message removed\r\n"
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("Your message could not be delivered.\n"),
            _attached("message/rfc822", placeholder),
        )
    )
    for msg in _both_paths(raw):
        [attached] = msg.attachments
        assert attached.content_type == "message/rfc822"
        assert attached.payload == placeholder  # no blank line put in front


DSN_STATUS = (
    b"Reporting-MTA: dns; mx.example.net\r\n"
    b"Arrival-Date: Mon, 3 Jun 2024 10:00:00 +0000\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; nobody@example.org\r\n"
    b"Action: failed\r\n"
    b"Status: 5.1.1\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; other@example.org\r\n"
    b"Action: delayed\r\n"
    b"Status: 4.4.1\r\n"
)
ORIGINAL_HEADERS = b"From: me@example.com\r\nTo: nobody@example.org\r\nX-Empty:\r\nSubject: hi\r\n"


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("message/delivery-status", DSN_STATUS),
        ("message/disposition-notification", b"Final-Recipient: rfc822; a@b\r\n"),
        ("text/rfc822-headers", ORIGINAL_HEADERS),
        ("message/rfc822-headers", ORIGINAL_HEADERS),
        ("message/delivery-status", DSN_STATUS.rstrip(CRLF)),  # no line break at the end
    ],
)
def test_report_parts_are_stored_byte_exact(ctype, body):
    raw = mf.message(
        mf.multipart(
            "report",
            mf.text_part("Delivery failed.\n"),
            _attached(ctype, body),
            _attached("text/rfc822-headers", ORIGINAL_HEADERS),
            boundary="report-b",
        ),
        headers=[("X-Report", "yes")],
    )
    for msg in _both_paths(raw):
        assert [a.payload for a in msg.attachments] == [body, ORIGINAL_HEADERS]
        assert msg.attachments[0].content_type == ctype


def test_empty_header_value_inside_an_attached_message_gains_no_space():
    inner = b"From: a@example.com\r\nX-Something:\r\nSubject: inner\r\n\r\nhello\r\n"
    raw = mf.forwarded(inner)
    [attached] = parse_message(raw).attachments
    assert attached.payload == inner
    assert b"X-Something:\r\n" in attached.payload
    assert attached.filename == "inner.eml"


def test_attached_multipart_message_keeps_its_close_delimiter_and_epilogue():
    pdf = b"%PDF-1.4 inner attachment"
    inner = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("inner text\n"),
            mf.attachment_part(pdf, "inner.pdf", "application/pdf"),
            boundary="inner-b",
        ),
        subject="Inner",
    )
    inner += b"inner epilogue\r\n"
    raw = mf.forwarded(inner)
    for msg in _both_paths(raw):
        [attached] = msg.attachments
        assert attached.payload == inner
        assert b"--inner-b--\r\ninner epilogue\r\n" in attached.payload
    # "Open attached message": its own attachments come from its own bytes.
    opened = parse_message(attached.payload)
    assert opened.text_body == "inner text\n"
    assert [(a.filename, a.payload) for a in opened.attachments] == [("inner.pdf", pdf)]


def test_attached_message_nested_two_deep_is_a_slice_at_every_level():
    deepest = mf.plain("Deepest", "bottom\n")
    middle = mf.forwarded(deepest)
    raw = mf.forwarded(middle)
    [outer] = parse_message(raw).attachments
    assert outer.payload == middle
    [inner] = parse_message(outer.payload).attachments
    assert inner.payload == deepest


def test_attached_message_with_lf_line_endings_is_a_slice():
    inner = b"Subject: lf\n\nline one\n\n"
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\n"
        b"--zz\nContent-Type: text/plain\n\ntext\n"
        b"--zz\nContent-Type: message/rfc822\n\n" + inner + b"\n--zz--\n"
    )
    for msg in _both_paths(raw):
        [attached] = msg.attachments
        assert attached.payload == inner


def test_digest_members_are_slices():
    first = b"Subject: first\r\n\r\none\r\n"
    second = b"Subject: second\r\n\r\ntwo"
    raw = (
        b"From: list@example.com\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n"
        b"--d\r\n\r\n" + first + b"\r\n--d\r\n\r\n" + second + b"\r\n--d--\r\n"
    )
    msg = parse_message(raw)
    assert [(a.filename, a.payload) for a in msg.attachments] == [
        ("first.eml", first),
        ("second.eml", second),
    ]


def test_base64_encoded_message_rfc822_is_decoded_from_its_slice():
    inner = mf.plain("Encoded inner", "body\n")
    encoded = base64.encodebytes(inner).replace(b"\n", CRLF)
    part = _attached("message/rfc822", encoded, headers=[("Content-Transfer-Encoding", "base64")])
    raw = mf.message(mf.multipart("mixed", mf.text_part("see\n"), part))
    [attached] = parse_message(raw).attachments
    assert attached.payload == inner
    assert attached.filename == "Encoded inner.eml"


# ------------------------------------------------------------------ body selection


def test_inline_text_part_with_a_filename_is_the_body_and_listed_for_download():
    note = "Quarterly figures are in.\n"
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part(note, headers=[("Content-Disposition", 'inline; filename="note.txt"')]),
            mf.attachment_part(b"%PDF", "figures.pdf", "application/pdf"),
        )
    )
    for msg in _both_paths(raw):
        assert msg.text_body == note
        assert msg.snippet() == "Quarterly figures are in."
        assert [a.filename for a in msg.attachments] == ["note.txt", "figures.pdf"]
        assert msg.attachments[0].payload == b"Quarterly figures are in.\r\n"


def test_named_html_part_without_disposition_is_the_body():
    html = "<p>Only text of this mail</p>"
    named = mf.part(html.encode(), 'text/html; charset=utf-8; name="mail.html"')
    raw = mf.message(mf.multipart("mixed", named, mf.attachment_part(b"x", "x.bin")))
    msg = parse_message(raw)
    assert msg.html_body == html
    assert [a.filename for a in msg.attachments] == ["mail.html", "x.bin"]


def test_named_inline_text_after_the_body_stays_an_attachment():
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("The body\n"),
            mf.text_part(
                "log lines\n", headers=[("Content-Disposition", 'inline; filename="a.log"')]
            ),
        )
    )
    msg = parse_message(raw)
    assert msg.text_body == "The body\n"
    assert [a.filename for a in msg.attachments] == ["a.log"]


def test_text_inside_an_attached_message_is_not_the_body():
    raw = mf.message(mf.multipart("mixed", _attached("message/rfc822", mf.plain("In", "inner\n"))))
    msg = parse_message(raw)
    assert msg.text_body == ""
    assert [a.content_type for a in msg.attachments] == ["message/rfc822"]


# ------------------------------------------------------------ header charset hint


def test_raw_gb2312_subject_in_a_multipart_bounce_uses_the_text_part_charset():
    subject = "邮件无法投递"
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("退信通知\n", charset="gb2312"),
            _attached("message/rfc822", mf.plain("original", "x\n")),
        ),
        subject=subject.encode("gb2312"),
    )
    for msg in _both_paths(raw):
        assert msg.subject == subject


def test_charset_hint_skips_us_ascii_parts_and_looks_at_later_text_parts():
    subject = "회의 안내"
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("ascii notice\n", charset="us-ascii"),
            mf.text_part("본문\n", charset="cp949", label="euc-kr"),
        ),
        subject=subject.encode("cp949"),
    )
    assert parse_message(raw).subject == subject


def test_top_level_charset_comes_before_the_text_parts():
    raw = mf.message(
        mf.multipart("mixed", mf.text_part("x\n", charset="gb2312")),
        subject="Grüße".encode("cp1252"),
        headers=[],
    ).replace(b"multipart/mixed;", b"multipart/mixed; charset=iso-8859-1;", 1)
    assert parse_message(raw).subject == "Grüße"


# ------------------------------------------------------------------- addresses


def test_local_part_only_sender_is_kept_as_an_address_with_a_defect():
    for msg in (*_both_paths(mf.plain(from_="foo")), parse_headers(mf.plain(from_="foo"))):
        assert msg.from_ == Address("", "foo")
        assert "From: address without a domain (foo)" in msg.defects


def test_display_name_with_an_address_is_unchanged():
    msg = parse_message(mf.plain(from_="Foo <foo@example.com>"))
    assert msg.from_ == Address("Foo", "foo@example.com")
    assert not any("without a domain" in d for d in msg.defects)


# ------------------------------------------------------------ colon-less header line


NO_COLON = (
    b"From: a@example.com\r\n"
    b"Subject: kept\r\n"
    b"this line has no colon\r\n"
    b"Message-ID: <after@example.com>\r\n"
    b"Date: Mon, 3 Jun 2024 10:00:00 +0000\r\n"
    b"To: b@example.com\r\n"
    b"\r\n"
    b"Body\r\n"
)


@pytest.mark.parametrize("raw", [NO_COLON, NO_COLON.replace(CRLF, b"\n")])
def test_header_line_without_colon_does_not_end_the_header_block(raw):
    for msg in (*_both_paths(raw), parse_headers(raw, RECEIVED)):
        assert msg.subject == "kept"
        assert msg.message_id == "after@example.com"
        assert msg.date == datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
        assert msg.to == [Address("", "b@example.com")]
        assert "message: header line without a colon skipped (1)" in msg.defects
    assert parse_message(raw).text_body == "Body\n"


def test_header_line_without_colon_inside_a_part_keeps_the_part_headers():
    part = (
        b"Content-Type: application/pdf\r\nbroken line\r\n"
        b'Content-Disposition: attachment; filename="r.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"%PDF")
    )
    raw = mf.message(mf.multipart("mixed", mf.text_part("hi\n"), part))
    for msg in _both_paths(raw):
        assert [(a.filename, a.payload) for a in msg.attachments] == [("r.pdf", b"%PDF")]
        assert "part 2: header line without a colon skipped (1)" in msg.defects


def test_colonless_line_followed_by_the_blank_line_still_starts_the_body():
    raw = b"From: a@example.com\r\nSubject: s\r\nHello there\r\n\r\nSecond paragraph\r\n"
    for msg in _both_paths(raw):
        assert msg.text_body == "Hello there\n\nSecond paragraph\n"


# ----------------------------------------------------------------- charsets


@pytest.mark.parametrize("label", ["euc-kr", "ks_c_5601-1987", "EUC-KR"])
@pytest.mark.parametrize("text", ["묵앃", "안녕하세요, 회의 자료를 보내드립니다.", "켵촡릝퉭"])
def test_euc_kr_label_on_utf8_text_shows_the_text(label, text):
    # Short UTF-8 Hangul often *decodes* as CP949 (into wrong hanja): no error to catch.
    raw = mf.message(
        mf.text_part(text + "\n", charset="utf-8", label=label),
        subject=mf.encoded_word(text, "utf-8", label=label),
    )
    msg = parse_message(raw)
    assert msg.text_body == text + "\n"
    assert msg.subject == text
    assert "\ufffd" not in msg.text_body + msg.subject


def test_real_euc_kr_text_is_still_read_as_declared():
    text = "안녕하세요 똠방각하 햏"
    assert decode_charset(text.encode("cp949"), "euc-kr") == (text, None)


def test_invalid_declared_decode_falls_back_to_the_better_candidate():
    data = "회의 자료를 보내드립니다".encode() + b"\xff"
    text, defect = decode_charset(data, "euc-kr")
    assert text == "회의 자료를 보내드립니다\ufffd"
    assert defect is not None and "mostly UTF-8" in defect


# ------------------------------------------------------ multipart without boundary


def _unlabelled_multipart(body: bytes) -> bytes:
    return mf.message(mf.header_block([("Content-Type", "multipart/mixed")]) + CRLF + body)


def test_multipart_without_boundary_is_split_on_its_first_delimiter_line():
    pdf = b"%PDF-1.7 quarterly"
    body = (
        b"--=_Part_1\r\n"
        + mf.text_part("The report is attached.\n")
        + b"\r\n--=_Part_1\r\n"
        + mf.attachment_part(pdf, "report.pdf", "application/pdf")
        + b"\r\n--=_Part_1--\r\n"
    )
    for msg in _both_paths(_unlabelled_multipart(body)):
        assert msg.text_body == "The report is attached.\n"
        assert [(a.filename, a.payload) for a in msg.attachments] == [("report.pdf", pdf)]
        assert any("split on its first line --=_Part_1" in d for d in msg.defects)


def test_multipart_without_boundary_and_no_repeated_delimiter_stays_text():
    msg = parse_message(_unlabelled_multipart(b"--just a signature dash\r\nhello\r\n"))
    assert "hello" in msg.text_body
    assert msg.attachments == []


# ------------------------------------------------------- property: random MIME trees


@dataclass
class _Expect:
    ctype: str
    stored: bytes  # what the parser must store: the slice, transfer-decoded
    inner: list[_Expect] | None = None  # for message/rfc822: the attached message's parts


_LINE = st.text(alphabet="abcXYZ 0123:=.\t\u00e9\ud55c", min_size=0, max_size=20).map(
    lambda s: s.encode("utf-8")
)


@st.composite
def _text_body(draw, nl: bytes) -> bytes:
    lines = draw(st.lists(_LINE, max_size=5))
    body = nl.join(lines)
    if lines and draw(st.booleans()):
        body += nl
    return body


def _decode(slice_: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.b64decode(b"".join(slice_.split()))
    if cte == "quoted-printable":
        return binascii.a2b_qp(slice_)
    return slice_


class _Tree:
    """Builds a random message and records what each stored part must be."""

    def __init__(self, draw, nl: bytes | None) -> None:
        self.draw, self._nl, self.boundaries = draw, nl, 0

    @property
    def nl(self) -> bytes:
        """The line break: one kind for the whole message, or (None) each one drawn."""
        return self._nl or self.draw(st.sampled_from([CRLF, b"\n"]))

    def headers(self, *fields: str) -> bytes:
        return b"".join(f.encode() + self.nl for f in fields) + self.nl

    def leaf(self, expect: list[_Expect]) -> bytes:
        draw, nl = self.draw, self.nl
        cte = draw(st.sampled_from(["7bit", "8bit", "base64", "quoted-printable"]))
        ctype = draw(st.sampled_from(["application/octet-stream", "text/plain", "image/png"]))
        if cte == "base64":
            data = draw(st.binary(max_size=120))
            encoded = base64.b64encode(data)
            body = nl.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
            if data and draw(st.booleans()):
                body += nl
        elif cte == "quoted-printable":
            body = draw(_text_body(nl)).replace(b"\xc3\xa9", b"=C3=A9")
        else:
            body = draw(_text_body(nl))
        n = len(expect) + 1
        head = self.headers(
            f"Content-Type: {ctype}",
            f'Content-Disposition: attachment; filename="f{n}.bin"',
            f"Content-Transfer-Encoding: {cte}",
        )
        expect.append(_Expect(ctype, _decode(body, cte)))
        return head + body

    def report(self, expect: list[_Expect]) -> bytes:
        ctype = self.draw(
            st.sampled_from(
                ["message/delivery-status", "text/rfc822-headers", "message/rfc822-headers"]
            )
        )
        blocks = self.draw(st.lists(st.lists(_LINE, min_size=1, max_size=3), max_size=3))
        nl = self.nl
        body = (nl + nl).join(nl.join(b"X-F: " + v for v in block) for block in blocks)
        if blocks and self.draw(st.booleans()):
            body += nl
        disposition = "attachment" if ctype.startswith("text/") else "inline"
        head = self.headers(
            f"Content-Type: {ctype}", f'Content-Disposition: {disposition}; filename="r.txt"'
        )
        expect.append(_Expect(ctype, body))
        return head + body

    def attached_message(self, expect: list[_Expect], depth: int) -> bytes:
        inner: list[_Expect] = []
        if self.draw(st.booleans()):
            body = self.message(inner, depth + 1)
        else:
            body = self.draw(_text_body(self.nl))  # a header-less placeholder
            inner = None
        expect.append(_Expect("message/rfc822", body, inner))
        return self.headers("Content-Type: message/rfc822") + body

    def multipart(self, expect: list[_Expect], depth: int) -> bytes:
        draw, nl = self.draw, self.nl
        self.boundaries += 1
        boundary = f"b{self.boundaries}.{draw(st.integers(0, 99))}=x"
        delimiter = b"--" + boundary.encode()
        subtype = draw(st.sampled_from(["mixed", "alternative", "related"]))
        out = self.headers(f'Content-Type: multipart/{subtype}; boundary="{boundary}"')
        if draw(st.booleans()):
            out += draw(_text_body(nl)).rstrip(nl) + nl  # a preamble
        count = draw(st.integers(1, 3))
        for _ in range(count):
            out += delimiter + nl + self.node(expect, depth + 1) + nl
        out += delimiter + b"--"
        if draw(st.booleans()):
            out += nl + draw(_text_body(nl))  # an epilogue
        return out

    def node(self, expect: list[_Expect], depth: int) -> bytes:
        kinds = ["leaf", "leaf", "report"] + (["multipart", "message"] if depth < 4 else [])
        kind = self.draw(st.sampled_from(kinds))
        if kind == "multipart":
            return self.multipart(expect, depth)
        if kind == "message":
            return self.attached_message(expect, depth)
        if kind == "report":
            return self.report(expect)
        return self.leaf(expect)

    def message(self, expect: list[_Expect], depth: int = 0) -> bytes:
        nl = self.nl
        head = b"From: a@example.com" + nl + b"Subject: tree " + str(depth).encode() + nl
        if self.draw(st.booleans()):
            return head + self.multipart(expect, depth)
        return head + self.node(expect, depth)


@st.composite
def mime_trees(draw) -> tuple[bytes, list[_Expect]]:
    nl = draw(st.sampled_from([CRLF, b"\n", None]))  # None: mixed line breaks
    expect: list[_Expect] = []
    raw = _Tree(draw, nl).message(expect)
    return raw, expect


def _check(raw: bytes, expect: list[_Expect]) -> None:
    msg = parse_message(raw, RECEIVED)
    got = [(a.content_type, a.payload) for a in msg.attachments]
    assert got == [(e.ctype, e.stored) for e in expect]
    for attachment, want in zip(msg.attachments, expect, strict=True):
        if want.inner is not None:
            _check(attachment.payload, want.inner)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_trees())
def test_every_stored_part_is_the_slice_between_its_boundaries(tree):
    raw, expect = tree
    _check(raw, expect)
    # The reference path stores the very same bytes.
    slow = parts._parse_message_stdlib(raw, RECEIVED)
    assert [a.payload for a in slow.attachments] == [e.stored for e in expect]


def test_fast_path_still_declines_attached_messages():
    assert structure.fast_split(mf.forwarded(mf.plain())) is None
