"""Tests of mailcore.richtext: the compose allow-list, the derived text part, and the
forgotten-attachment check."""

from __future__ import annotations

import pytest

from mailcore.richtext import (
    html_to_text,
    mentions_attachment,
    sanitize_compose_html,
    text_to_html,
)


def own_images(url: str) -> str | None:
    """As compose does: only the draft's own image URL becomes a cid: reference."""
    return "cid:img1@example.kr" if url == "/compose/3/inline/4/" else None


# --- a hostile paste arrives inert ---------------------------------------------------


@pytest.mark.parametrize(
    ("paste", "forbidden"),
    [
        ("<p>hi<script>alert(1)</script></p>", "alert"),
        ('<p onclick="steal()">hi</p>', "steal"),
        ('<img src="x" onerror="steal()">', "steal"),
        ('<a href="javascript:steal()">hi</a>', "javascript"),
        ('<a href="java&#x09;script:steal()">hi</a>', "script"),
        ('<a href=" JAVASCRIPT:steal()">hi</a>', "steal"),
        ('<a href="data:text/html,<script>steal()</script>">hi</a>', "data:"),
        ('<img src="https://tracker.example/p.gif">', "tracker"),
        ('<img src="//tracker.example/p.gif">', "tracker"),
        ('<img src="data:image/png;base64,iVBORw0KGgo=">', "data:"),
        ('<span style="color: expression(alert(1))">x</span>', "expression"),
        ('<span style="background-image: url(https://t.example/)">x</span>', "t.example"),
        ('<span style="position: fixed; top: 0">x</span>', "position"),
        ("<style>body{display:none}</style><p>x</p>", "display"),
        ('<iframe src="https://evil.example/"></iframe>', "evil"),
        ('<form action="https://evil.example/"><input name="pw"></form>', "evil"),
        ("<svg><script>steal()</script></svg>", "steal"),
        ('<p class="x" id="send-button">hi</p>', "send-button"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example/">', "evil"),
        ('<a href="/accounts/1/delete/">hi</a>', "/accounts"),
    ],
)
def test_a_hostile_paste_arrives_inert(paste, forbidden):
    cleaned = sanitize_compose_html(paste, own_images)
    assert forbidden not in cleaned


def test_formatting_the_toolbar_makes_survives():
    html = (
        "<div><b>bold</b> <strong>strong</strong> <i>it</i> <em>em</em> <u>under</u>"
        " <s>gone</s></div><ul><li>one</li></ul><ol><li>two</li></ol>"
        '<blockquote type="cite"><div>q</div></blockquote><h1>h1</h1><h2>h2</h2><h3>h3</h3>'
        '<div><font color="#c62828">red</font> <span style="color: rgb(1, 2, 3)">rgb</span>'
        ' <a href="https://example.kr/a?b=1">link</a>'
        ' <a href="mailto:kim@example.kr">mail</a></div>'
    )
    cleaned = sanitize_compose_html(html, own_images)
    for kept in (
        "<b>bold</b>",
        "<strong>strong</strong>",
        "<i>it</i>",
        "<em>em</em>",
        "<u>under</u>",
        "<s>gone</s>",
        "<ul><li>one</li></ul>",
        "<ol><li>two</li></ol>",
        '<blockquote type="cite">',
        "<h1>h1</h1>",
        "<h3>h3</h3>",
        '<font color="#c62828">red</font>',
        '<span style="color: rgb(1, 2, 3)">rgb</span>',
        'href="https://example.kr/a?b=1"',
        'href="mailto:kim@example.kr"',
    ):
        assert kept in cleaned


def test_only_colours_are_kept_of_inline_css():
    cleaned = sanitize_compose_html(
        '<span style="color: red; font-size: 90px; background-color: #ff0">x</span>'
    )
    assert cleaned == '<span style="color: red; background-color: #ff0">x</span>'


def test_the_drafts_own_image_url_becomes_its_cid_and_any_other_image_goes():
    cleaned = sanitize_compose_html(
        '<div><img src="/compose/3/inline/4/" alt="그림"><img src="/compose/9/inline/4/"></div>',
        own_images,
    )
    assert cleaned == '<div><img src="cid:img1@example.kr" alt="그림"></div>'


@pytest.mark.parametrize(
    "answer", ["//evil.example/x.png", "/\\evil.example/x.png", "https://evil.example/x.png"]
)
def test_a_signature_image_keeps_a_path_on_our_origin_and_nothing_else(answer):
    # A signature's images stay our URLs; whatever the callback says, never another host.
    kept = sanitize_compose_html('<p><img src="/s/1/"></p>', lambda url: url)
    assert kept == '<p><img src="/s/1/"></p>'
    assert sanitize_compose_html('<p><img src="/s/1/"></p>', lambda url: answer) == "<p></p>"


def test_the_signature_block_keeps_its_class_and_nothing_else_does():
    cleaned = sanitize_compose_html(
        '<div class="signature other">-- <br>Kim</div><p class="x">y</p>'
    )
    assert cleaned == '<div class="signature">-- <br>Kim</div><p>y</p>'


# --- the derived text part -------------------------------------------------------------


def test_text_part_links_lists_quotes_and_headings_stay_readable():
    html = sanitize_compose_html(
        "<h1>Agenda</h1>"
        '<div>See <a href="https://example.kr/doc">the document</a> and '
        '<a href="https://example.kr/">https://example.kr/</a>.</div>'
        "<ul><li>first</li><li>second</li></ul>"
        "<ol><li>one</li><li>two</li></ol>"
        '<p>On Monday, Kim wrote:</p><blockquote type="cite"><p>line 1<br>line 2</p></blockquote>'
    )
    assert html_to_text(html) == (
        "AGENDA\n"
        "======\n"
        "\n"
        "See the document [https://example.kr/doc] and https://example.kr/.\n"
        "\n"
        "- first\n"
        "- second\n"
        "\n"
        "1. one\n"
        "2. two\n"
        "\n"
        "On Monday, Kim wrote:\n"
        "\n"
        "> line 1\n"
        "> line 2\n"
    )


def test_text_part_keeps_korean_and_the_signature_delimiter():
    html = '<div>안녕하세요,</div><div><br></div><div class="signature">-- <br>김지현 드림</div>'
    assert html_to_text(html) == "안녕하세요,\n\n-- \n김지현 드림\n"


def test_text_part_of_nested_quotes_and_mail_links():
    html = (
        "<blockquote><div>outer</div><blockquote><div>inner</div></blockquote></blockquote>"
        '<div><a href="mailto:kim@example.kr">Kim</a></div>'
    )
    assert html_to_text(html) == "> outer\n>\n> > inner\n\nKim [kim@example.kr]\n"


def test_text_to_html_escapes_and_keeps_blank_lines():
    assert text_to_html("a <b>\n\n&c") == "<p>a &lt;b&gt;</p><p><br></p><p>&amp;c</p>"


# --- forgotten attachments ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Please find the report attached.",
        "The attachment has the numbers.",
        "I will attach the slides.",
        "첨부파일을 확인해 주세요.",
        "자료를 첨부합니다.",
        "붙임: 회의록 1부",
    ],
)
def test_mentions_of_an_attachment_are_found(text):
    assert mentions_attachment(text)


@pytest.mark.parametrize(
    "text",
    [
        "See you tomorrow.",
        "Thanks!\n\nOn 2024-03-08, Kim wrote:\n> I attached the file.\n",
        "Thanks!\n\n-- \nAttachments welcome at kim@example.kr",
        "FYI\n\n---------- Forwarded message ----------\nSee attached.\n",
    ],
)
def test_quotes_signatures_and_forwards_do_not_count(text):
    assert not mentions_attachment(text)


def test_a_word_paste_keeps_its_words_bold_and_colour_and_loses_the_office_markup():
    word = (
        "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings></o:OfficeDocumentSettings></xml>"
        "<![endif]--><p class=MsoNormal style='margin:0cm;font-family:\"Calibri\",sans-serif'>"
        "<b><span lang=EN-US style='color:#C00000;mso-ansi-language:EN-US'>보고서</span></b>"
        "<o:p></o:p></p>"
    )
    assert sanitize_compose_html(word) == (
        '<p><b><span lang="EN-US" style="color: #C00000">보고서</span></b></p>'
    )
