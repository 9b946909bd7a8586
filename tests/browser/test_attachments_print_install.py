"""Reading attachments, printing a message and installing the app, in Chromium.

- Image attachments show as thumbnails from our own ?preview=1 URL, under the page's
  CSP and the attachment's own `sandbox; default-src 'none'`; SVG and HTML never.
- "Preview" opens an image or a PDF in a dialog named after the file (Chromium's PDF
  viewer in a frame); Escape or Close closes it and the focus goes back to the link.
- "Download all (.zip)" gives every attachment, Korean names intact.
- Print (the More menu's item, and the print stylesheet): the message without the app.
- The web app manifest is linked, valid for Chromium, and its icons are served.
"""

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from testkit import mailfactory as mf
from tests.browser.conftest import (
    PlaywrightError,
    browser_required,
    csp_violations,
    devmail_user,
    expect,
    log_in,
    shot,
    store,
)

pytestmark = pytest.mark.browser

# Chromium's PDF viewer: the extension whose frame renders a PDF document.
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"
GIF_1X1 = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


def png(width: int, height: int, rgb: tuple[int, int, int] = (11, 87, 208)) -> bytes:
    """A real PNG of one colour, width × height."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf(text: str = "Quarterly report") -> bytes:
    """A one-page PDF that Chromium's viewer renders (valid xref offsets)."""
    stream = b"BT /F1 24 Tf 20 100 Td (" + text.encode("ascii") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
PHOTO = png(64, 48)
ATTACHMENTS = [
    ("사진 photo.png", "image/png", PHOTO),
    ("spinner.gif", "image/gif", GIF_1X1),
    ("1분기 보고서.pdf", "application/pdf", pdf()),
    ("logo.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ("notes.txt", "text/plain", "메모\n".encode()),
]


def read_files_message(new_page, devmail, **user_fields):
    """Bob logged in, reading a message with image, PDF, SVG and text attachments."""
    bob = devmail_user(devmail, "bob", **user_fields)
    account = bob.mail_accounts.get()
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("<p>Files for Friday.</p>", "html"),
            *(mf.attachment_part(data, name, ctype) for name, ctype, data in ATTACHMENTS),
        ),
        subject=mf.encoded_word("자료 모음 Files"),
    )
    message = store(account, raw)
    page = new_page()
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    page.downloads = downloads
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.goto(f"/mail/{message.pk}/")
    expect(page.get_by_role("heading", name="자료 모음 Files")).to_be_visible()
    return message, page


@pytest.fixture
def bob_reading(new_page, devmail):
    return read_files_message(new_page, devmail)


def attachments(page):
    return page.get_by_role("region", name="Attachments")


def test_image_thumbnails_load_under_the_csp_and_svg_is_never_shown(bob_reading):
    message, page = bob_reading
    attachments(page).scroll_into_view_if_needed()  # the thumbnails load lazily
    thumbs = attachments(page).locator("img.thumb")
    expect(thumbs).to_have_count(2)  # the PNG and the GIF; not the SVG
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.thumb')].every((i) => i.complete)"
    )
    sizes = thumbs.evaluate_all("(imgs) => imgs.map((i) => [i.naturalWidth, i.naturalHeight])")
    assert sizes == [[64, 48], [1, 1]]
    for src in thumbs.evaluate_all("(imgs) => imgs.map((i) => i.getAttribute('src'))"):
        assert re.fullmatch(rf"/mail/{message.pk}/attachments/\d+/\?preview=1", src)

    # SVG: no thumbnail, no preview, nothing of it fetched by the page.
    svg = attachments(page).locator(".attachment", has_text="logo.svg")
    expect(svg.locator("img")).to_have_count(0)
    expect(svg.get_by_role("link", name=re.compile("^Preview"))).to_have_count(0)
    svg_part = message.attachments.get(content_type="image/svg+xml")
    fetched = [u for _, u, _, _ in page.record.requests if f"/attachments/{svg_part.pk}/" in u]
    assert fetched == []
    # Previews exist for the images and the PDF only.
    previews = attachments(page).get_by_role("link", name=re.compile("^Preview"))
    expect(previews).to_have_count(3)

    assert csp_violations(page) == []
    assert page.record.foreign == [] and page.record.page_errors == []


def test_preview_of_an_image_opens_a_dialog_and_escape_gives_the_focus_back(bob_reading):
    _, page = bob_reading
    start_url = page.url
    link = attachments(page).get_by_role("link", name="Preview 사진 photo.png")
    link.click()
    dialog = page.get_by_role("dialog", name="사진 photo.png")
    expect(dialog).to_be_visible()
    image = dialog.get_by_role("img", name="사진 photo.png")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('.preview-image').complete")
    assert image.evaluate("(i) => [i.naturalWidth, i.naturalHeight]") == [64, 48]
    assert image.get_attribute("src").endswith(link.get_attribute("href"))
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    href = link.get_attribute("href")
    expect(dialog.get_by_role("link", name="Download")).to_have_attribute(
        "href", re.compile(re.escape(href.split("?")[0]) + "$")
    )
    shot(page, "attachment-preview-image")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()
    # No new tab, no navigation, no download: the dialog was the whole of it.
    assert page.url == start_url and page.record.popups == [] and page.downloads == []

    # The close button does the same; a click on the thumbnail opens the same preview.
    attachments(page).locator("img.thumb").first.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()
    assert csp_violations(page) == [] and page.record.page_errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_preview_dialog_is_axe_clean(new_page, devmail, theme):
    if not AXE.is_file():
        reason = f"axe-core is not installed at {AXE} (run .ci/install-browser.sh)"
        if browser_required():
            pytest.fail(reason)
        pytest.skip(reason)
    _, page = read_files_message(new_page, devmail, theme=theme)
    page.evaluate(AXE.read_text())  # DevTools evaluation: not governed by the page CSP
    for name in ("사진 photo.png", "1분기 보고서.pdf"):
        attachments(page).get_by_role("link", name=f"Preview {name}").click()
        dialog = page.get_by_role("dialog", name=name)
        expect(dialog).to_be_visible()
        violations = page.evaluate(
            """async () => (await axe.run("#preview-dialog", {iframes: false}))
                 .violations.map((v) => [v.id, v.impact, v.nodes.map((n) => n.html)])"""
        )
        assert violations == [], (name, violations)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()


def test_preview_of_a_pdf_shows_it_in_the_dialog(bob_reading):
    message, page = bob_reading
    part = message.attachments.get(content_type="application/pdf")
    link = attachments(page).get_by_role("link", name="Preview 1분기 보고서.pdf")
    with page.expect_event(
        "framenavigated", predicate=lambda f: f.url.startswith(PDF_VIEWER)
    ) as viewer:
        link.click()
    dialog = page.get_by_role("dialog", name="1분기 보고서.pdf")
    expect(dialog).to_be_visible()
    frame_element = dialog.locator("iframe.preview-frame")
    expect(frame_element).to_be_visible()
    url = f"/mail/{message.pk}/attachments/{part.pk}/?preview=1"
    assert frame_element.get_attribute("src").endswith(url)
    assert frame_element.get_attribute("sandbox") is None  # see mailbox.views.PREVIEW_CSP

    # The frame holds our PDF as a PDF document, and Chromium's viewer renders it there.
    frame = frame_element.element_handle().content_frame()
    assert frame.url.endswith(url)
    assert frame.evaluate("() => document.contentType") == "application/pdf"
    ancestors, ancestor = [], viewer.value.parent_frame
    while ancestor is not None:
        ancestors.append(ancestor)
        ancestor = ancestor.parent_frame
    assert frame in ancestors
    shot(page, "attachment-preview-pdf")

    assert page.downloads == [] and page.record.popups == []
    assert csp_violations(page) == []
    assert page.record.foreign == [] and page.record.page_errors == []

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()
    expect(dialog.locator("iframe")).to_have_count(0)  # the viewer is gone with it


def test_a_mislabelled_pdf_runs_nothing_in_the_dialog(new_page, devmail):
    """HTML sent as application/pdf: the dialog's frame (no sandbox attribute) gets it
    as a PDF (nosniff) in a sandboxed document; no script of it runs."""
    bob = devmail_user(devmail, "bob")
    html = (
        b"<script>alert(1); top.document.title = 'XSS'; fetch('/__xss__')</script>"
        b"<img src=x onerror=\"alert(2)\"><iframe src='/__xss__'></iframe>"
    )
    message = store(
        bob.mail_accounts.get(),
        mf.with_attachments(attachments=[("invoice.pdf", "application/pdf", html)]),
    )
    page = new_page()
    log_in(page, "bob")
    page.goto(f"/mail/{message.pk}/")
    title = page.title()
    with page.expect_event("framenavigated", predicate=lambda f: f.url.startswith(PDF_VIEWER)):
        page.get_by_role("link", name="Preview invoice.pdf").click()
    frame = page.locator("#preview-dialog iframe").element_handle().content_frame()
    assert frame.evaluate("() => document.contentType") == "application/pdf"
    assert page.title() == title
    assert page.record.dialogs == []
    assert [u for _, u, _, _ in page.record.requests if "__xss__" in u] == []
    assert csp_violations(page) == []


def test_preview_links_still_open_a_new_tab_without_the_dialog_script(new_page, devmail):
    bob = devmail_user(devmail, "bob")
    message = store(
        bob.mail_accounts.get(),
        mf.with_attachments(attachments=[("chart.png", "image/png", PHOTO)], subject="Chart"),
    )
    page = new_page(java_script_enabled=False)
    log_in(page, "bob")
    page.goto(f"/mail/{message.pk}/")
    link = page.get_by_role("link", name="Preview chart.png")
    assert link.get_attribute("target") == "_blank"
    with page.context.expect_page() as info:
        link.click()
    tab = info.value
    tab.wait_for_load_state()
    assert tab.url.endswith("?preview=1")
    assert tab.evaluate("() => document.contentType") == "image/png"
    assert page.url.endswith(f"/mail/{message.pk}/")


def test_download_all_gives_a_zip_of_every_attachment_with_korean_names(bob_reading):
    _, page = bob_reading
    with page.expect_download() as info:
        attachments(page).get_by_role("link", name="Download all (.zip)").click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert sorted(archive.namelist()) == sorted(name for name, _, _ in ATTACHMENTS)
    for name, _, data in ATTACHMENTS:
        assert archive.read(name) == data


def test_print_shows_the_message_without_the_app_around_it(new_page, devmail):
    bob = devmail_user(devmail, "bob", theme="dark")
    account = bob.mail_accounts.get()
    message = store(
        account,
        mf.message(
            mf.multipart(
                "mixed",
                mf.text_part("<p>Paragraph one.</p>" * 40, "html"),
                mf.attachment_part(PHOTO, "plan.png", "image/png"),
                mf.attachment_part(b"%PDF-1.4", "plan.pdf", "application/pdf"),
            ),
            subject="Printable",
        ),
    )
    store(account, mf.plain("Another one"))
    page = new_page()
    log_in(page, "bob")
    page.goto(f"/mail/{message.pk}/")
    expect(page.get_by_role("heading", name="Printable")).to_be_visible()

    # The More menu's Print item (revealed by the script) asks the browser to print.
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed++; }; }")
    # By keyboard: at this width the toolbar wraps, the menu opens leftwards over the
    # list pane, and the reading pane's overflow clips it under the pointer.
    page.locator(".message-view details.menu > summary[aria-label='More actions']").press("Enter")
    print_item = page.get_by_role("button", name="Print", exact=True)
    expect(print_item).to_be_visible()
    print_item.press("Enter")
    assert page.evaluate("() => window.__printed") == 1

    page.emulate_media(media="print")
    for chrome in (
        ".topbar",
        ".sidebar",
        "#list-pane",
        ".message-view > .toolbar",
        ".attachment-actions",
        ".toasts",
    ):
        for element in page.locator(chrome).all():
            expect(element).to_be_hidden()
    expect(page.get_by_role("link", name="Download all (.zip)")).to_be_hidden()
    expect(page.get_by_role("heading", name="Printable")).to_be_visible()
    headers = page.locator(".headers")
    expect(headers).to_be_visible()
    expect(headers).to_contain_text("From")
    expect(page.locator(".attachment-name", has_text="plan.pdf")).to_be_visible()

    # The body frame fills the rest of the first page: not the 150px of a bare iframe.
    frame = page.locator("iframe.body-frame")
    expect(frame).to_be_visible()
    box = frame.bounding_box()
    height = page.viewport_size["height"]
    assert box["height"] >= height / 2, box
    assert box["y"] + box["height"] <= height, box

    # Dark theme on screen, black on white on paper.
    colours = page.evaluate(
        """() => [".message-subject", ".headers dt", ".headers dd"].map(
             (s) => getComputedStyle(document.querySelector(s)).color)"""
    )
    assert colours == ["rgb(0, 0, 0)", "rgb(61, 68, 77)", "rgb(0, 0, 0)"], colours
    shot(page, "print-message")
    assert csp_violations(page) == []


def test_the_manifest_is_linked_valid_and_its_icons_are_served(new_page, devmail):
    devmail_user(devmail, "bob")
    page = new_page()
    for path in ("/auth/login/", "/"):
        if path == "/":
            log_in(page, "bob")
            expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
        else:
            page.goto(path)
        href = page.locator("link[rel=manifest]").get_attribute("href")
        assert href == "/manifest.webmanifest"

    result = page.evaluate(
        """async () => {
          const link = document.querySelector("link[rel=manifest]");
          const response = await fetch(link.href);
          const manifest = await response.json();
          const icons = [];
          for (const icon of manifest.icons) {
            const url = new URL(icon.src, link.href);
            const r = await fetch(url);
            const image = new Image();
            image.src = url;
            await image.decode();
            icons.push({src: icon.src, sizes: icon.sizes, type: icon.type, status: r.status,
                        contentType: r.headers.get("content-type"),
                        width: image.naturalWidth, height: image.naturalHeight});
          }
          return {status: response.status, type: response.headers.get("content-type"),
                  manifest, icons};
        }"""
    )
    assert result["status"] == 200
    assert result["type"] == "application/manifest+json"
    manifest = result["manifest"]
    assert manifest["name"] and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = set()
    for icon in result["icons"]:
        assert icon["status"] == 200, icon
        assert icon["contentType"].split(";")[0] == icon["type"], icon
        if icon["type"] == "image/png":
            assert icon["sizes"] == f"{icon['width']}x{icon['height']}", icon
            sizes.add(icon["sizes"])
        else:
            assert icon["type"] == "image/svg+xml" and icon["width"] > 0, icon
    assert {"192x192", "512x512"} <= sizes

    # Chromium's own reading of it: parsed without errors, the icons it needs are there.
    cdp = page.context.new_cdp_session(page)
    parsed = cdp.send("Page.getAppManifest")
    assert parsed["url"].endswith("/manifest.webmanifest")
    assert parsed["errors"] == [], parsed["errors"]
    try:
        installability = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    except PlaywrightError:  # pragma: no cover - an older Chromium without the method
        installability = []
    # Playwright's contexts are incognito ones: that is the harness, not the app.
    problems = [e for e in installability if e["errorId"] != "in-incognito"]
    assert problems == [], problems
