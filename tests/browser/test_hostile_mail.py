"""Hostile mail in a real engine: every payload is stored, opened in Chromium, and judged
by the browser's own instruments.

For each message: no script ran (no `alert` dialog, no request to the sentinel
path, `top.__xss` and the title untouched), no request left for another origin,
the read page's controls are still on top (elementFromPoint) and the body frame
stays inside the message, the top page did not navigate, and our own page
reported no CSP violation. The body frame's DOM, as Chromium built it, holds no
script, handler, plugin, form or positioned element. And the sanitizer alone
(the body document opened top-level, its CSP stripped, no sandbox) runs nothing.

Payloads are checked many per test with one page, and every failure is listed.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from testkit import mailfactory as mf
from testkit.payloads import HTML_PAYLOADS, RAW_PAYLOADS, SANITIZER_PAYLOADS, js
from tests.browser.conftest import (
    BROWSER_INTERNAL,
    PlaywrightError,
    csp_violations,
    devmail_user,
    expect,
    log_in,
    shot,
    store,
)

pytestmark = pytest.mark.browser

SENTINEL = "/__xss__"

# The read page: every control a message must never cover.
# What our own pages load besides the page itself: static files, the JavaScript translation
# catalog, the web app manifest and the new-mail status poll.
OWN_ASSETS = (
    r"/static/.+|/jsi18n/|/manifest\.webmanifest|/mail/status/(\?.*)?"
    # The open inbox refreshing its list when the test stores mail (new-mail polling).
    r"|/mail/folder/inbox/"
)

TOP_PAGE_CHECKS = """() => {
  const problems = [];
  const controls = document.querySelectorAll(
    "header a, header button, .sidebar a, .message-view .toolbar a, " +
    ".message-view .toolbar button, .remote-bar a, .remote-bar button, .attachments a");
  for (const el of controls) {
    if (!el.getClientRects().length || el.closest("details:not([open])")) continue;  // not shown
    el.scrollIntoView({block: "center", inline: "nearest"});
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!hit || !(hit === el || el.contains(hit))) {
      problems.push(`control "${el.textContent.trim()}" is covered by ` +
                    (hit ? hit.outerHTML.slice(0, 80) : "nothing"));
    }
  }
  window.scrollTo(0, 0);
  const frame = document.querySelector("iframe.body-frame");
  if (frame) {
    const f = frame.getBoundingClientRect();
    const a = frame.closest("article").getBoundingClientRect();
    if (f.left < a.left - 1 || f.right > a.right + 1) {
      problems.push("the body frame is wider than the message");
    }
    if (frame.getAttribute("sandbox") !== "allow-popups allow-popups-to-escape-sandbox") {
      problems.push("the frame's sandbox changed: " + frame.getAttribute("sandbox"));
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth}px)`);
  }
  if (window.__xss) problems.push("top.__xss was set");
  if (document.title === "XSS") problems.push("a script set the title");
  return problems;
}"""

# The body frame's DOM as the browser parsed it (mutation XSS shows up here).
FRAME_CHECKS = """(allowRemote) => {
  const problems = [];
  const banned = "script, iframe, frame, object, embed, applet, form, input, button, textarea, " +
    "select, base, meta, link, style, svg, math, video, audio, source, track, picture, dialog, " +
    "template, noscript, marquee, details, [popover]";
  for (const el of document.body.querySelectorAll(banned)) {
    problems.push("element in the body: " + el.outerHTML.slice(0, 80));
  }
  const urlAttr =
    /^(href|src|action|formaction|background|poster|srcset|xlink:href|data|ping|lowsrc|dynsrc)$/i;
  for (const el of document.body.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const value = attr.value.trim().toLowerCase();
      if (/^on/i.test(attr.name)) problems.push(`handler ${attr.name} on <${el.localName}>`);
      if (urlAttr.test(attr.name)) {
        const ok = /^(https?:|mailto:)/.test(value) ||
                   /^data:image\\/(png|gif|jpeg|webp)[;,]/.test(value);
        if (!ok) problems.push(`${attr.name}="${value.slice(0, 60)}" on <${el.localName}>`);
        if (!allowRemote && attr.name !== "href" && /^https?:/.test(value)) {
          problems.push(`remote ${attr.name} while images are blocked: ${value.slice(0, 60)}`);
        }
      }
      if (el.localName === "a" && attr.name === "target" && value !== "_blank") {
        problems.push("link target " + value);
      }
    }
    const position = getComputedStyle(el).position;
    if (position !== "static" && position !== "relative") {
      problems.push(`<${el.localName}> is position:${position}`);
    }
  }
  if (document.head.querySelectorAll("script, base, link, meta[http-equiv]").length) {
    problems.push("the head gained " + document.head.innerHTML.slice(0, 80));
  }
  if (origin !== "null") problems.push("the body frame is not sandboxed: origin " + origin);
  return problems;
}"""


def _path(url: str) -> str:
    return urlsplit(url).path


def request_problems(record, mark, allowed: re.Pattern) -> list[str]:
    problems = []
    for method, url, kind, _frame in record.since(mark, "requests"):
        if re.match(BROWSER_INTERNAL, url):
            continue
        if SENTINEL in url:
            problems.append(f"a script ran: it requested {url}")
        elif not record.is_ours(url):
            problems.append(f"a request left for another origin: {method} {url} ({kind})")
        elif not allowed.fullmatch(_path(url)):
            problems.append(f"an unexpected request to our origin: {method} {url} ({kind})")
    problems += [f"a dialog opened: {d}" for d in record.since(mark, "dialogs")]
    problems += [f"a popup opened: {p.url}" for p in record.since(mark, "popups")]
    problems += [f"console error: {text}" for text, _ in record.since(mark, "console_errors")]
    problems += [f"page error: {text}" for text in record.since(mark, "page_errors")]
    return problems


def check_read_page(page, message, *, images: bool = False) -> list[str]:
    """Open a message's read page and its body document; every problem found, as text."""
    record = page.record
    mark = record.mark()
    read_url = f"/mail/{message.pk}/" + ("?images=1" if images else "")
    page.goto(read_url)
    problems = page.evaluate(TOP_PAGE_CHECKS)
    frame = page.frame(url=re.compile(r"/body/"))
    if message.html_body:
        if frame is None:
            problems.append("the body frame is missing")
        else:
            problems += frame.evaluate(FRAME_CHECKS, images)
    problems += [f"CSP violation on our page: {v}" for v in csp_violations(page)]
    navigations = [url for p, url in record.since(mark, "navigations") if p is page]
    if len(navigations) != 1 or not page.url.endswith(read_url):
        problems.append(f"the top page navigated: {navigations}, now at {page.url}")
    allowed = re.compile(rf"/mail/{message.pk}/(body/)?|{OWN_ASSETS}")
    problems += request_problems(record, mark, allowed)
    return problems


def check_body_alone(bare, message) -> list[str]:
    """The sanitizer as the only defence: the body document top-level, no CSP, no sandbox."""
    record = bare.record
    mark = record.mark()
    bare.goto(f"/mail/{message.pk}/body/")
    problems = []
    if bare.evaluate("() => window.__xss || document.title === 'XSS'"):
        problems.append("a script ran in the bare body document")
    # Chromium asks for the site's icon for any top-level document: not the message's doing.
    favicon = r"/static/icons/app\.svg|/favicon\.ico"
    problems += request_problems(record, mark, re.compile(rf"/mail/{message.pk}/body/|{favicon}"))
    return [f"[no CSP, no sandbox] {p}" for p in problems]


def without_csp(route):
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


@pytest.fixture
def bob_in_browser(new_page, devmail):
    """Bob, logged in: a page for reading and a second one for bare body documents."""
    bob = devmail_user(devmail, "bob")
    page = new_page()
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    bare = page.context.new_page()
    bare.route(re.compile(r"/mail/\d+/body/$"), without_csp)
    return bob.mail_accounts.get(), page, bare


def run_payloads(bob_in_browser, messages: list[tuple[str, bytes]]) -> dict[str, list[str]]:
    account, page, bare = bob_in_browser
    stored = [(name, store(account, raw)) for name, raw in messages]
    failures = {}
    for name, message in stored:
        problems = check_read_page(page, message)
        if message.html_body:
            problems += check_body_alone(bare, message)
        if problems:
            failures[name] = problems
            shot(page, f"hostile-{name}", "failures")
    return failures


def as_html_message(name: str, html: str) -> bytes:
    return mf.html_only(html, subject=f"payload {name}")


def test_the_sanitizer_suite_is_inert_in_chromium(bob_in_browser):
    failures = run_payloads(
        bob_in_browser, [(name, as_html_message(name, html)) for name, html in SANITIZER_PAYLOADS]
    )
    assert failures == {}


def test_browser_payloads_are_inert_in_chromium(bob_in_browser):
    assert len(HTML_PAYLOADS) + len(RAW_PAYLOADS) >= 30
    failures = run_payloads(
        bob_in_browser,
        [(name, as_html_message(name, html)) for name, html in HTML_PAYLOADS] + RAW_PAYLOADS,
    )
    assert failures == {}


def test_hostile_headers_are_inert_in_the_message_list(bob_in_browser):
    account, page, _ = bob_in_browser
    for _, raw in RAW_PAYLOADS:
        store(account, raw)
    for name, html in HTML_PAYLOADS:
        store(account, as_html_message(name, html))
    record = page.record
    mark = record.mark()
    page.goto("/")
    pages = 1
    while True:
        expect(page.get_by_role("list", name="Messages")).to_be_visible()
        assert page.evaluate("() => !window.__xss && document.title !== 'XSS'")
        assert csp_violations(page) == []
        older = page.get_by_role("navigation", name="Pages").get_by_role("link", name="Older")
        if not older.count():
            break
        older.click()
        pages += 1
    shot(page, "hostile-inbox")
    assert request_problems(record, mark, re.compile(rf"/|/mail/folder/inbox/|{OWN_ASSETS}")) == []
    assert pages >= 1


def test_remote_images_load_only_when_asked_and_then_only_images(bob_in_browser):
    account, page, _ = bob_in_browser
    evil = "https://evil.invalid"
    newsletter = store(
        account,
        as_html_message(
            "newsletter",
            f'<table background="{evil}/table-bg.png"><tr><td>'
            f'<img src="{evil}/logo.png" alt="Logo" width=10 height=10>'
            f'<div style="background:url({evil}/div-bg.png);width:10px;height:10px">x</div>'
            f'<img src="{evil}/pixel.gif" width=1 height=1>'
            f'<a href="{evil}/unsubscribe">Unsubscribe</a>'
            f'<script src="{evil}/x.js"></script><link rel=stylesheet href="{evil}/x.css">'
            f'<audio src="{evil}/a.mp3" autoplay></audio><iframe src="{evil}/frame"></iframe>'
            f'<video poster="{evil}/poster.png"></video><object data="{evil}/o.swf"></object>'
            "</td></tr></table>",
        ),
    )
    record = page.record

    problems = check_read_page(page, newsletter)
    assert problems == []
    assert record.foreign == []
    expect(page.get_by_role("note")).to_contain_text("Remote images are blocked.")
    shot(page, "remote-images-blocked")

    record.allow_remote_images = True
    mark = record.mark()
    page.get_by_role("link", name="Show images").click()
    page.wait_for_url(re.compile(r"\?images=1$"))
    frame = page.frame(url=re.compile(r"/body/\?images=1$"))
    frame.wait_for_load_state("load")
    expect(frame.get_by_role("img", name="Logo")).to_be_visible()
    loaded = frame.evaluate("() => [...document.images].map((i) => i.naturalWidth)")
    assert loaded == [1, 1]  # both images, answered with our 1×1 PNG
    fetched = record.since(mark, "foreign")
    assert {url for _, url, _, _ in fetched} == {
        f"{evil}/logo.png",
        f"{evil}/pixel.gif",
        f"{evil}/table-bg.png",
        f"{evil}/div-bg.png",
    }
    assert {kind for _, _, kind, _ in fetched} == {"image"}
    assert {referer for _, _, _, referer in fetched} == {""}  # no-referrer: nothing leaks
    shot(page, "remote-images-shown")
    assert csp_violations(page) == []


def test_links_in_mail_open_a_new_tab_without_opener_or_referrer(bob_in_browser):
    account, page, _ = bob_in_browser
    message = store(
        account,
        as_html_message(
            "link", '<p><a href="https://ok.invalid/landing" target="_top">Read more</a></p>'
        ),
    )
    record = page.record
    page.goto(f"/mail/{message.pk}/")
    # Let the page's own first requests (the new-mail check, and the list refresh it may
    # start) finish, so nothing moves focus while the link is being clicked.
    page.wait_for_load_state("networkidle")
    read_url = page.url
    page.frame(url=re.compile(r"/body/")).wait_for_load_state()
    link = page.frame_locator("iframe[src*='/body/']").get_by_role("link", name="Read more")
    # On a loaded machine a click can land while the reading pane is being re-rendered
    # (the new-mail check refreshes it) and open nothing; a link that never opens a tab
    # still fails all three tries.
    for attempt in range(3):
        try:
            with page.context.expect_page(timeout=10_000) as popup_info:
                link.click()
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    popup = popup_info.value
    popup.wait_for_load_state()
    assert page.url == read_url  # the top page stayed where it was
    assert popup.evaluate("() => window.opener") is None
    assert [(url, referer) for _, url, _, referer in record.foreign] == [
        ("https://ok.invalid/landing", "")
    ]
    assert record.dialogs == []


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("page.html", "text/html", f"<script>{js('att-html')}</script><h1>x</h1>".encode()),
        (
            "picture.svg",
            "image/svg+xml",
            f"<svg xmlns='http://www.w3.org/2000/svg' onload='{js('att-svg')}'/>".encode(),
        ),
        ("trap.xhtml", "application/xhtml+xml", f"<script>{js('att-xhtml')}</script>".encode()),
    ],
    ids=["html", "svg", "xhtml"],
)
def test_html_and_svg_attachments_are_downloaded_never_rendered(
    bob_in_browser, filename, content_type, data
):
    account, page, _ = bob_in_browser
    message = store(
        account,
        mf.with_attachments(attachments=[(filename, content_type, data)], subject="attachment"),
    )
    record = page.record
    page.goto(f"/mail/{message.pk}/")
    read_url = page.url
    attachments = page.get_by_role("region", name="Attachments")
    expect(attachments.get_by_role("link", name="Preview")).to_have_count(0)
    link = attachments.get_by_role("link", name=filename)
    with page.expect_download() as info:
        link.click()
    assert Path(info.value.path()).read_bytes() == data
    assert info.value.suggested_filename == filename

    # Even asked for a preview by URL, the browser gets a download, not a document.
    href = link.get_attribute("href")
    with page.expect_download() as info:
        try:
            page.goto(f"{href}?preview=1")
        except PlaywrightError as exc:  # Chromium reports a navigation that became a download
            assert "Download is starting" in str(exc) or "ERR_ABORTED" in str(exc)
    assert Path(info.value.path()).read_bytes() == data
    assert page.url == read_url
    assert page.evaluate("() => !window.__xss && document.title !== 'XSS'")
    assert [u for _, u, _, _ in record.requests if SENTINEL in u] == []
    assert record.dialogs == [] and record.foreign == []


def test_a_preview_of_a_mislabelled_file_runs_nothing(bob_in_browser):
    """A "PDF" or "PNG" that is really HTML or SVG: previewed inline, nosniff, sandbox CSP."""
    account, page, _ = bob_in_browser
    html = f"<script>{js('fake-pdf')}</script><img src=x onerror={js('fake-pdf2')}>".encode()
    svg = f"<svg xmlns='http://www.w3.org/2000/svg' onload='{js('fake-png')}'/>".encode()
    message = store(
        account,
        mf.with_attachments(
            attachments=[("report.pdf", "application/pdf", html), ("logo.png", "image/png", svg)],
            subject="mislabelled",
        ),
    )
    record = page.record
    page.goto(f"/mail/{message.pk}/")
    previews = page.get_by_role("region", name="Attachments").get_by_role("link", name="Preview")
    hrefs = [a.get_attribute("href") for a in previews.all()]
    assert len(hrefs) == 2
    for href in hrefs:
        preview = page.context.new_page()
        try:
            preview.goto(href)
        except PlaywrightError:
            pass  # Chromium may refuse to show it at all; either way nothing may run
        try:
            ran = preview.evaluate("() => Boolean(window.__xss) || document.title === 'XSS'")
        except PlaywrightError:  # no document to ask (Chromium's PDF viewer, an error page)
            ran = False
        assert not ran, href
        preview.close()
    assert [u for _, u, _, _ in record.requests if SENTINEL in u] == []
    assert record.dialogs == [] and record.foreign == []


def test_the_instruments_see_a_script_when_the_sanitizer_is_gone(bob_in_browser, monkeypatch):
    """The checks above are not blind: with the sanitizer replaced by a no-op they fail."""
    from mailcore import sanitize

    monkeypatch.setattr(
        sanitize,
        "sanitize_email_html",
        lambda html, **_: sanitize.SanitizedHtml(html=html, remote_blocked=False, has_remote=False),
    )
    account, page, bare = bob_in_browser
    message = store(
        account,
        as_html_message(
            "unsanitized",
            f'<img src=x onerror="{js("canary")}"><div style="position:fixed;top:0">x</div>'
            '<img src="https://evil.invalid/tracker.gif">',
        ),
    )
    framed = "\n".join(check_read_page(page, message))
    assert "element in the body" not in framed  # an <img> is allowed...
    assert "handler onerror on <img>" in framed  # ...its handler is not
    assert "is position:fixed" in framed
    assert "remote src while images are blocked" in framed
    alone = "\n".join(check_body_alone(bare, message))
    assert f"a script ran: it requested {page.record.origin}{SENTINEL}/canary" in alone
    assert "a dialog opened" in alone
    assert "a request left for another origin: GET https://evil.invalid/tracker.gif" in alone
