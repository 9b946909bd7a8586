"""Reply and forward subjects: one "Re: " or "Fwd: ", whatever prefixes users typed."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcore.subjects import forward_subject, reply_subject


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
        ("Fwd: Hello", "Re: Fwd: Hello"),  # a reply to a forward says so, as Gmail's do
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
        ("답장: 회의", "Re: 회의"),  # older Korean clients
        ("회신: 견적서", "Re: 견적서"),  # Korean Outlook
        ("답변: 문의", "Re: 문의"),
        ("RE: 회의", "Re: 회의"),  # Naver, Daum
        ("Re: 답장: RE: 회신: 회의", "Re: 회의"),
        ("답장 : 회의", "Re: 회의"),
        ("회신：회의", "Re: 회의"),  # full-width colon
        ("Re[2]: 회의", "Re: 회의"),
        ("전달: 회의", "Re: 전달: 회의"),
    ],
)
def test_reply_to_korean_prefixes_never_doubles_them(subject, expected):
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "Fwd: Hello"),
        ("Fwd: Hello", "Fwd: Hello"),
        ("FW: Hello", "Fwd: Hello"),
        ("Fw: fwd: Hello", "Fwd: Hello"),
        ("WG: Hello", "Fwd: Hello"),
        ("Re: Hello", "Fwd: Re: Hello"),
        ("Hello\nBcc: x@evil.test", "Fwd: Hello Bcc: x@evil.test"),
        ("", "Fwd:"),
    ],
)
def test_forward_subject(subject, expected):
    assert forward_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("전달: 견적서", "Fwd: 견적서"),  # Korean Outlook
        ("FW: 견적서", "Fwd: 견적서"),  # Naver, Daum
        ("Fwd: 전달: FW: 견적서", "Fwd: 견적서"),
        ("Fw[2]: 견적서", "Fwd: 견적서"),
        ("답장: 견적서", "Fwd: 답장: 견적서"),
    ],
)
def test_forward_of_korean_prefixes_never_doubles_them(subject, expected):
    assert forward_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[external] 회의", "Re: [external] 회의"),
        ("[external] RE: 회의", "Re: [external] 회의"),
        ("RE: [external] 답장: 회의", "Re: [external] 회의"),
        ("[EXTERNAL] [공지] 회신: 회의", "Re: [EXTERNAL] [공지] 회의"),
        ("Re: [team] Re: 회의", "Re: [team] 회의"),  # a mailing list's tag
        ("[공지]", "Re: [공지]"),
        ("회의 [초안] RE: 메모", "Re: 회의 [초안] RE: 메모"),  # only leading tags count
    ],
)
def test_reply_keeps_tags_in_brackets(subject, expected):
    assert reply_subject(subject) == expected


def test_forward_keeps_tags_in_brackets():
    assert forward_subject("[external] FW: 견적서") == "Fwd: [external] 견적서"


@given(st.text(max_size=60))
def test_replying_to_a_reply_changes_nothing(subject):
    once = reply_subject(subject)
    assert reply_subject(once) == once
    assert "\n" not in once and "\r" not in once


@given(st.text(max_size=60))
def test_forwarding_a_forward_changes_nothing(subject):
    once = forward_subject(subject)
    assert forward_subject(once) == once
