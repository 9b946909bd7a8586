"""mailcore.sanitize: hostile HTML email in, inert HTML out.

Payload classes come from webmail CVEs (Roundcube, Horde, Zimbra,
SquirrelMail) and the usual mutation-XSS corpus. Every check runs on the
sanitized output, parsed back with the stdlib HTML parser where attributes
matter.
"""

import html
import re
import time
from html.parser import HTMLParser

import pytest

from mailcore.sanitize import SanitizedHtml, render_plain_text, sanitize_email_html
from testkit.payloads import SANITIZER_PAYLOADS as PAYLOADS

LINK_REL = "noopener noreferrer nofollow"
ALLOWED_OUTPUT_ATTRS = {
    "align", "valign", "width", "height", "border", "cellpadding", "cellspacing", "colspan",
    "rowspan", "bgcolor", "color", "face", "size", "dir", "lang", "title", "style", "href",
    "src", "alt", "background", "scope", "span", "start", "type", "value", "target", "rel",
    "referrerpolicy", "loading",
}  # fmt: skip
RASTER_DATA_RE = re.compile(r"data:image/(png|gif|jpeg|jpg|webp)[;,]", re.I)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag


def parse(out: str) -> list[tuple[str, dict[str, str]]]:
    p = _Collect()
    p.feed(out)
    p.close()
    return p.tags


def squash(s: str) -> str:
    """Unescape and drop whitespace/controls, as a browser reading a URL would."""
    return re.sub(r"[\x00-\x20]", "", html.unescape(s)).lower()


def assert_safe(out: str) -> None:
    lower = out.lower()
    for bad in (
        "<script", "<iframe", "<object", "<embed", "<base", "<meta", "<form", "<svg",
        "<math", "<style", "<link", "<frame", "<applet", "<input", "<button", "<textarea",
        "<noscript", "<template", "<title",
    ):  # fmt: skip
        assert bad not in lower, (bad, out)
    assert not re.search(r"\son[a-z]+\s*=", out, re.I), out
    squashed = squash(out)
    assert "javascript:" not in squashed, out
    assert "vbscript:" not in squashed, out
    assert "expression(" not in squashed, out
    for tag, attrs in parse(out):
        for name, value in attrs.items():
            assert name in ALLOWED_OUTPUT_ATTRS, (tag, name, out)
            if "data:" in value.lower():
                assert tag == "img" and name == "src" and RASTER_DATA_RE.match(value), out
        if "style" in attrs:
            style = attrs["style"].lower()
            for bad in ("position", "z-index", "behavior", "binding", "expression", "\\", "/*"):
                assert bad not in style, (bad, out)
            assert "<" not in style
        if tag == "a":
            assert attrs.get("target") == "_blank", out
            assert attrs.get("rel") == LINK_REL, out
            if "href" in attrs:
                assert attrs["href"].startswith(("http://", "https://", "mailto:")), out
        if "src" in attrs:
            src = attrs["src"]
            assert src.startswith(("https://", "http://", "/att/")) or RASTER_DATA_RE.match(src)


def clean(payload: str, **kw) -> SanitizedHtml:
    kw.setdefault("cid_url", lambda cid: "/att/1" if cid == "logo@x" else None)
    return sanitize_email_html(payload, **kw)


PAYLOAD_IDS = [p[0] for p in PAYLOADS]
PAYLOAD_HTML = [p[1] for p in PAYLOADS]


@pytest.mark.parametrize("payload", PAYLOAD_HTML, ids=PAYLOAD_IDS)
@pytest.mark.parametrize("allow_remote", [False, True], ids=["blocked", "allowed"])
def test_payload_is_neutralised(payload, allow_remote):
    assert_safe(clean(payload, allow_remote=allow_remote).html)


@pytest.mark.parametrize("payload", PAYLOAD_HTML, ids=PAYLOAD_IDS)
@pytest.mark.parametrize("allow_remote", [False, True], ids=["blocked", "allowed"])
def test_output_is_stable(payload, allow_remote):
    once = sanitize_email_html(payload, allow_remote=allow_remote).html
    assert sanitize_email_html(once, allow_remote=allow_remote).html == once


def test_script_content_is_dropped_not_unwrapped():
    out = clean("<p>hi</p><script>alert('pwned')</script>").html
    assert out == "<p>hi</p>"


def test_split_script_leaves_only_text():
    out = clean("<scr<script>ipt>alert(1)</scr</script>ipt>").html
    assert "<" not in out.replace("&lt;", "")


def test_event_handlers_dropped_but_element_kept():
    out = clean('<a href="https://ok.example" onmouseover="alert(1)">x</a>').html
    assert out == f'<a href="https://ok.example" target="_blank" rel="{LINK_REL}">x</a>'


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", "&#106;avascript:alert(1)", "java&#x09;script:alert(1)",
     "jav&#x0A;ascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x",
     "/relative/page", "#top", "ftp://files.example/x"],
)  # fmt: skip
def test_bad_hrefs_removed(href):
    tags = parse(clean(f'<a href="{href}">x</a>').html)
    assert tags == [("a", {"target": "_blank", "rel": LINK_REL})]


def test_https_and_mailto_links_kept_with_rel_and_target():
    out = clean(
        '<a href="https://ok.example/a?b=1&amp;c=2">x</a><a href="mailto:bob@x.example">m</a>'
    )
    tags = parse(out.html)
    assert tags[0] == (
        "a",
        {"href": "https://ok.example/a?b=1&c=2", "target": "_blank", "rel": LINK_REL},
    )
    assert tags[1][1]["href"] == "mailto:bob@x.example"
    assert not out.has_remote  # links are not loaded by themselves


def test_attacker_target_and_rel_replaced():
    out = clean('<a href="https://ok.example" target="_top" rel="opener">x</a>').html
    assert parse(out)[0][1] == {"href": "https://ok.example", "target": "_blank", "rel": LINK_REL}


def test_tracking_pixel_blocked():
    res = clean('<p>Hi</p><img src="https://t.example/p.gif?u=alice" width=1 height=1>')
    assert res.remote_blocked and res.has_remote
    assert "t.example" not in res.html
    assert parse(res.html)[1] == ("img", {"width": "1", "height": "1"})


def test_remote_images_shown_when_allowed():
    res = clean('<img src="https://cdn.example/a.png" alt="A"><img src="http://cdn.example/b.png">',
                allow_remote=True)  # fmt: skip
    assert res.has_remote and not res.remote_blocked
    imgs = parse(res.html)
    assert [t[1]["src"] for t in imgs] == ["https://cdn.example/a.png", "http://cdn.example/b.png"]
    for _, attrs in imgs:
        assert attrs["referrerpolicy"] == "no-referrer"
        assert attrs["loading"] == "lazy"


def test_no_remote_at_all():
    res = clean("<p>plain <b>html</b></p>")
    assert res == SanitizedHtml(html="<p>plain <b>html</b></p>", remote_blocked=False,
                                has_remote=False)  # fmt: skip


def test_protocol_relative_is_remote():
    blocked = clean('<img src="//evil.example/x">')
    assert blocked.remote_blocked and "evil.example" not in blocked.html
    allowed = clean('<img src="//evil.example/x">', allow_remote=True)
    assert parse(allowed.html)[0][1]["src"] == "https://evil.example/x"


def test_relative_src_never_reaches_our_origin():
    res = clean('<img src="/accounts/logout/">', allow_remote=True)
    assert "logout" not in res.html
    assert not res.has_remote


def test_background_attribute():
    payload = '<table background="https://tracker.example/bg.png"><tr><td>x</td></tr></table>'
    blocked = clean(payload)
    assert blocked.remote_blocked and "tracker" not in blocked.html
    allowed = clean(payload, allow_remote=True)
    assert parse(allowed.html)[0][1]["background"] == "https://tracker.example/bg.png"


def test_css_remote_url_blocked_but_colour_kept():
    payload = '<div style="background:#fff url(https://tracker.example/p.gif) no-repeat">x</div>'
    res = clean(payload)
    assert res.remote_blocked and res.has_remote
    assert "tracker" not in res.html
    assert parse(res.html)[0][1]["style"] == "background: #fff none no-repeat"
    allowed = clean(payload, allow_remote=True)
    assert 'url("https://tracker.example/p.gif")' in parse(allowed.html)[0][1]["style"]
    assert not allowed.remote_blocked


def test_srcset_and_picture_do_not_leak():
    payload = (
        '<picture><source srcset="https://tracker.example/a.png">'
        '<img srcset="https://tracker.example/c.png 2x"></picture>'
    )
    res = clean(payload, allow_remote=True)
    assert "tracker" not in res.html
    assert "srcset" not in res.html


def test_link_stylesheet_dropped():
    res = clean(
        '<link rel=stylesheet href="https://evil.example/x.css"><p>x</p>', allow_remote=True
    )
    assert res.html == "<p>x</p>"


def test_dropped_elements_neither_count_as_remote_nor_resolve_cids():
    seen = []
    payload = (
        '<script src="https://evil.example/x.js"></script><audio src="https://t.example/a">'
        '<input type=image src="cid:logo@x"><style>p{background:url(https://t.example/b)}</style>'
    )
    res = sanitize_email_html(payload, cid_url=seen.append)
    assert res == SanitizedHtml(html="", remote_blocked=False, has_remote=False)
    assert seen == []


def test_cid_rewritten_and_unknown_removed():
    seen = []

    def cid_url(cid):
        seen.append(cid)
        return "/att/7/" if cid == "logo@x" else None

    res = sanitize_email_html(
        '<img src="cid:logo@x" alt=logo><img src="cid:missing@x" alt=gone>', cid_url=cid_url
    )
    imgs = parse(res.html)
    assert imgs[0][1] == {"src": "/att/7/", "alt": "logo"}
    assert imgs[1][1] == {"alt": "gone"}
    assert seen == ["logo@x", "missing@x"]
    assert not res.has_remote and not res.remote_blocked


def test_cid_percent_decoded_and_in_css():
    res = sanitize_email_html(
        '<img src="CID:part1%40x"><div style="background-image:url(cid:part1@x)">x</div>',
        cid_url=lambda cid: f"/att/{cid}",
    )
    tags = parse(res.html)
    assert tags[0][1]["src"] == "/att/part1@x"
    assert tags[1][1]["style"] == 'background-image: url("/att/part1@x")'


def test_cid_without_resolver_removed():
    assert parse(sanitize_email_html('<img src="cid:logo@x">').html) == [("img", {})]


def test_data_images():
    png = "data:image/png;base64,iVBORw0KGgo="
    res = clean(f'<img src="{png}"><img src="data:image/svg+xml;base64,PHN2Zz4=">'
                f'<a href="{png}">x</a>')  # fmt: skip
    tags = parse(res.html)
    assert tags[0][1] == {"src": png}
    assert tags[1][1] == {}
    assert "href" not in tags[2][1]
    assert not res.remote_blocked


def test_inline_style_filtering():
    style = (
        "color: red; position: fixed; z-index: 99; font-family: 'Helvetica Neue', Arial;"
        " width: 100%; margin: -200px 0 0 0; padding: 4px; display: none;"
        " behavior: url(x.htc); text-align: center; opacity: 0; overflow: visible"
    )
    out = parse(clean(f'<p style="{style}">x</p>').html)[0][1]["style"]
    assert out == (
        "color: red; font-family: 'Helvetica Neue', Arial; width: 100%; padding: 4px;"
        " display: none; text-align: center"
    )


@pytest.mark.parametrize(
    "style",
    ["color: red\\9", "color: /**/red", "color: <b>red", "color: expression(alert(1))",
     "width: calc(1px + expression(1))", "color: rgb(1,2,3", "color: 'red",
     "background-image: image-set('https://t.example/x' 1x)", "background: url(data:image/png,x)",
     "background: url(/relative.png)", "display: run-in", "color: red}body{color: blue"],
)  # fmt: skip
def test_bad_declarations_dropped(style):
    assert clean(f'<p style="{style}">x</p>').html == "<p>x</p>"


def test_style_split_respects_quotes_and_parens():
    style = "font-family: 'a;b', serif; color: rgb(1, 2, 3); COLOR: blue !important"
    out = clean(f'<p style="{style}">x</p>')
    assert parse(out.html)[0][1]["style"] == (
        "font-family: 'a;b', serif; color: rgb(1, 2, 3); color: blue !important"
    )


def test_unterminated_string_swallows_rest_like_a_browser():
    out = clean("""<p style="color: red; font-family: 'x; position: fixed">x</p>""").html
    assert parse(out)[0][1]["style"] == "color: red"


def test_structure_and_legacy_attributes_kept():
    payload = (
        '<table width="600" cellpadding="0" bgcolor="#eeeeee" class="x" id="y">'
        '<tr><td align="center" valign="top" colspan="2"><font face="Arial" color="#333" size="2">'
        "<h1>Title</h1><center>c</center></font></td></tr></table>"
    )
    out = clean(payload).html
    assert out == (
        '<table width="600" cellpadding="0" bgcolor="#eeeeee"><tbody><tr>'
        '<td align="center" valign="top" colspan="2"><font face="Arial" color="#333" size="2">'
        "<h1>Title</h1><center>c</center></font></td></tr></tbody></table>"
    )


def test_full_document_keeps_body_only():
    doc = (
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Newsletter</title>"
        "<style>p{color:red}</style></head><body bgcolor=white><p>안녕하세요</p></body></html>"
    )
    assert clean(doc).html == "<p>안녕하세요</p>"


def test_form_controls_removed_text_kept():
    out = clean('<form action="https://evil.example"><p>Name</p><input name=pw>'
                "<button>Send</button><select><option>a</option></select></form>").html  # fmt: skip
    assert out == "<p>Name</p>Send"


def test_long_style_is_linear():
    style = "color: red; " * 20000 + "'" + "(" * 20000
    start = time.perf_counter()
    clean(f'<p style="{style}">x</p>')
    assert time.perf_counter() - start < 2


# --- plain text ----------------------------------------------------------------------


def test_plain_text_escapes_markup():
    out = render_plain_text('<script>alert(1)</script> & "quoted" <img src=x onerror=alert(1)>')
    assert out == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; "
        "&lt;img src=x onerror=alert(1)&gt;"
    )
    assert parse(out) == []


def test_plain_text_linkifies():
    out = render_plain_text(
        "See https://ok.example/a?b=1&c=2, http://x.example/p_(q) and www.w.example.\n"
        "Mail mailto:bob@x.example!"
    )
    links = [attrs for tag, attrs in parse(out) if tag == "a"]
    assert [a["href"] for a in links] == [
        "https://ok.example/a?b=1&c=2",
        "http://x.example/p_(q)",
        "http://www.w.example",
        "mailto:bob@x.example",
    ]
    for a in links:
        assert a["target"] == "_blank" and a["rel"] == LINK_REL
    assert ">https://ok.example/a?b=1&amp;c=2</a>, " in out
    assert ">www.w.example</a>.\n" in out


def test_plain_text_does_not_linkify_hostile_schemes():
    out = render_plain_text("javascript:alert(1) data:text/html,x vbscript:y http:// mailto:")
    assert "<a" not in out


def test_plain_text_link_cannot_break_attribute():
    out = render_plain_text('http://x.example/"onmouseover="alert(1) http://y.example/<b>')
    assert [a["href"] for _, a in parse(out)] == ["http://x.example/", "http://y.example/"]
    assert not re.search(r"\son[a-z]+\s*=", out.replace("&quot;onmouseover", ""))
    assert_safe(out)


def test_plain_text_folds_quoted_runs():
    text = "Hi Bob,\n\nOn Monday, Alice wrote:\n> first\n>> nested\n> last\nThanks\n> again"
    out = render_plain_text(text)
    assert out == (
        "Hi Bob,\n\nOn Monday, Alice wrote:"
        '<details class="quoted"><summary>Quoted text</summary>'
        '<blockquote class="quoted">&gt; first\n&gt;&gt; nested\n&gt; last</blockquote></details>'
        "Thanks"
        '<details class="quoted"><summary>Quoted text</summary>'
        '<blockquote class="quoted">&gt; again</blockquote></details>'
    )


def test_plain_text_keeps_newlines_without_br():
    out = render_plain_text("a\r\nb\rc\n\nd")
    assert out == "a\nb\nc\n\nd"
    assert "<br" not in out


def test_plain_text_empty():
    assert render_plain_text("") == ""


@pytest.mark.parametrize(
    "text",
    [
        ("The quick brown fox https://ok.example/x, > not quoted\n> quoted\n" * 16000)[:1_000_000],
        "http://" + "a" * 1_000_000,
        "http://x" + ")" * 1_000_000,
        "www." * 250_000,
        ("> " * 100 + "\n") * 5000,
    ],
    ids=["mixed", "long-url", "many-parens", "www-repeat", "deep-quotes"],
)
def test_plain_text_one_megabyte_is_fast(text):
    start = time.perf_counter()
    render_plain_text(text)
    assert time.perf_counter() - start < 2
