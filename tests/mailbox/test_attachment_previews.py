"""Attachments when reading: previews, thumbnails, "Download all", and the app manifest.

A preview (`?preview=1`) is served inline only for images and PDFs, never for HTML,
SVG or anything a browser could run, and always with nosniff and a sandboxing CSP;
everything else is a download of application/octet-stream.
"""

import io
import itertools
import json
import struct
import zipfile

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from mailbox import ingest, views
from mailbox.models import Message
from testkit import mailfactory as mf

_uidls = itertools.count(1)

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
SHOWN = [
    ("photo.png", "image/png"),
    ("photo.jpg", "image/jpeg"),
    ("anim.gif", "image/gif"),
    ("photo.webp", "image/webp"),
    ("report.pdf", "application/pdf"),
]
NEVER_SHOWN = [
    ("page.html", "text/html"),
    ("page.htm", "TEXT/HTML"),
    ("picture.svg", "image/svg+xml"),
    ("trap.xhtml", "application/xhtml+xml"),
    ("data.xml", "text/xml"),
    ("data2.xml", "application/xml"),
    ("script.js", "text/javascript"),
    ("notes.txt", "text/plain"),
    ("mail.eml", "message/rfc822"),
    ("icon.bmp", "image/bmp"),
    ("program.exe", "application/octet-stream"),
]
HOSTILE = b"<script>alert(1)</script><svg xmlns='http://www.w3.org/2000/svg' onload='alert(2)'/>"


def store(account, raw: bytes) -> Message:
    return ingest.store_message(account, raw, f"preview-{next(_uidls)}")


def with_files(account, files, subject="Files") -> Message:
    return store(
        account,
        mf.with_attachments(
            attachments=[(name, ctype, data) for name, ctype, data in files], subject=subject
        ),
    )


def get(client, message, part, **params):
    return client.get(reverse("download_attachment", args=[message.pk, part.pk]), params)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# Previews ----------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "content_type"), SHOWN)
def test_images_and_pdfs_are_previewed_inline_and_stay_inert(
    alice_client, alice_account, filename, content_type
):
    message = with_files(alice_account, [(filename, content_type, HOSTILE)])
    part = message.attachments.get()
    response = get(alice_client, message, part, preview="1")
    assert body(response) == HOSTILE
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    # Bytes that are really HTML or SVG stay what the label says (nosniff), and the
    # document, if a browser made one, is sandboxed: no script, nothing fetched.
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = [d.strip() for d in response["Content-Security-Policy"].split(";")]
    assert csp[0] == "sandbox"
    assert "default-src 'none'" in csp
    assert not any(d.startswith(("script-src", "object-src", "style-src")) for d in csp)
    # Framed by our own read page only (the preview dialog's PDF frame).
    assert "frame-ancestors 'self'" in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(("filename", "content_type"), NEVER_SHOWN)
@pytest.mark.parametrize(
    "params",
    [{}, {"preview": "1"}, {"preview": "true"}, {"preview": ["1", "1"]}, {"preview": "1 "}],
    ids=["download", "preview", "preview-true", "preview-twice", "preview-space"],
)
def test_html_svg_and_the_rest_are_only_ever_downloads(
    alice_client, alice_account, filename, content_type, params
):
    message = with_files(alice_account, [(filename, content_type, HOSTILE)])
    part = message.attachments.get()
    response = get(alice_client, message, part, **params)
    assert body(response) == HOSTILE
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (
        "sandbox; default-src 'none'; frame-ancestors 'none'"
    )
    assert response["X-Frame-Options"] == "DENY"


def test_a_download_of_a_previewable_type_is_still_a_download(alice_client, alice_account):
    message = with_files(alice_account, [("report.pdf", "application/pdf", b"%PDF-1.4")])
    response = get(alice_client, message, message.attachments.get())
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Frame-Options"] == "DENY"


def test_preview_types_hold_nothing_a_browser_could_run():
    allowed = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}
    assert views.PREVIEW_TYPES <= allowed
    assert views.THUMBNAIL_TYPES <= views.PREVIEW_TYPES
    assert views.INLINE_IMAGE_TYPES <= views.PREVIEW_TYPES
    assert not any("svg" in t or "html" in t or "xml" in t for t in views.PREVIEW_TYPES)


def test_previews_are_the_owners_only(alice_client, alice_account, bob_account):
    theirs = with_files(bob_account, [("photo.png", "image/png", PNG_1X1)])
    part = theirs.attachments.get()
    assert get(alice_client, theirs, part, preview="1").status_code == 404
    mine = with_files(alice_account, [("photo.png", "image/png", PNG_1X1)])
    # Alice's message with Bob's attachment id: still not hers.
    response = alice_client.get(
        reverse("download_attachment", args=[mine.pk, part.pk]), {"preview": "1"}
    )
    assert response.status_code == 404


def test_an_svg_inline_image_is_never_put_into_the_body(alice_client, alice_account):
    svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"
    related = mf.multipart(
        "related",
        mf.text_part('<p>Logo: <img src="cid:logo@x"></p>', "html"),
        mf.attachment_part(svg, None, "image/svg+xml", disposition=None, content_id="logo@x"),
    )
    message = store(alice_account, mf.message(related))
    html = alice_client.get(reverse("message_body", args=[message.pk])).content
    assert b"image/svg" not in html and b"onload" not in html


# The read page: thumbnails, preview links and the dialog ---------------------------------


def test_the_read_page_offers_thumbnails_and_previews_only_for_safe_types(
    alice_client, alice_account
):
    files = [(name, ctype, HOSTILE) for name, ctype in SHOWN + NEVER_SHOWN]
    message = with_files(alice_account, files)
    html = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    for part in message.attachments.all():
        preview = reverse("download_attachment", args=[message.pk, part.pk]) + "?preview=1"
        thumbnail = f'<img class="thumb" src="{preview}"'
        if part.content_type in views.PREVIEW_TYPES:
            assert f'href="{preview}"' in html, part.content_type
            assert f'data-preview="{part.content_type}"' in html
            assert f'data-preview-name="{part.safe_name}"' in html
        else:
            assert preview not in html, part.content_type
        expected = part.content_type in {"image/png", "image/jpeg", "image/gif", "image/webp"}
        assert (thumbnail in html) is expected, part.content_type
    # One dialog, named by its heading, filled in by the script.
    assert html.count('id="preview-dialog"') == 1
    assert 'aria-labelledby="preview-title"' in html
    assert 'aria-label="Close"' in html


def test_the_preview_link_opens_a_new_tab_without_javascript(alice_client, alice_account):
    message = with_files(alice_account, [("photo.png", "image/png", PNG_1X1)])
    part = message.attachments.get()
    html = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    preview = reverse("download_attachment", args=[message.pk, part.pk]) + "?preview=1"
    link = html[html.index(f'<a href="{preview}"') :].split(">", 1)[0]
    assert 'target="_blank"' in link and 'rel="noopener noreferrer"' in link


# Download all ------------------------------------------------------------------------


def test_download_all_zips_every_attachment_but_the_inline_images(alice_client, alice_account):
    related = mf.multipart(
        "related",
        mf.text_part('<p><img src="cid:logo@x"></p>', "html"),
        mf.attachment_part(PNG_1X1, "logo.png", "image/png", disposition=None, content_id="logo@x"),
    )
    raw = mf.message(
        mf.multipart(
            "mixed",
            related,
            mf.attachment_part(b"%PDF-1.4 one", "보고서.pdf", "application/pdf"),
            mf.attachment_part(b"two", "견적서 2026.xlsx", "application/vnd.ms-excel"),
        ),
        subject=mf.encoded_word("3월 자료"),
    )
    message = store(alice_account, raw)
    assert message.attachments.filter(inline=True).count() == 1
    response = alice_client.get(reverse("download_all", args=[message.pk]))
    assert response["Content-Type"] == "application/zip"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''3%EC%9B%94%20%EC%9E%90%EB%A3%8C.zip" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert archive.namelist() == ["보고서.pdf", "견적서 2026.xlsx"]
    assert archive.read("보고서.pdf") == b"%PDF-1.4 one"
    assert archive.read("견적서 2026.xlsx") == b"two"
    # Names flagged UTF-8, so every unzip tool shows the Korean, not mojibake.
    assert all(info.flag_bits & 0x800 for info in archive.infolist())
    assert archive.testzip() is None


def test_download_all_makes_duplicate_names_unique_even_ignoring_case(alice_client, alice_account):
    message = with_files(
        alice_account,
        [
            ("보고서.pdf", "application/pdf", b"1"),
            ("보고서.pdf", "application/pdf", b"2"),
            ("Report.PDF", "application/pdf", b"3"),
            ("report.pdf", "application/pdf", b"4"),
            ("README", "text/plain", b"5"),
            ("readme", "text/plain", b"6"),
        ],
    )
    response = alice_client.get(reverse("download_all", args=[message.pk]))
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    names = archive.namelist()
    assert names == [
        "보고서.pdf",
        "보고서 (2).pdf",
        "Report.PDF",
        "report (2).pdf",
        "README",
        "readme (2)",
    ]
    assert len({n.casefold() for n in names}) == len(names)
    assert [archive.read(n) for n in names] == [b"1", b"2", b"3", b"4", b"5", b"6"]


def test_download_all_names_cannot_leave_the_folder(alice_client, alice_account):
    message = with_files(
        alice_account,
        [("../../etc/passwd", "text/plain", b"x"), ("a/b\\c.txt", "text/plain", b"y")],
    )
    response = alice_client.get(reverse("download_all", args=[message.pk]))
    names = zipfile.ZipFile(io.BytesIO(body(response))).namelist()
    assert names == ["passwd", "c.txt"]


def test_download_all_without_attachments_or_of_someone_else_is_404(
    alice_client, alice_account, bob_account
):
    plain = store(alice_account, mf.plain())
    assert alice_client.get(reverse("download_all", args=[plain.pk])).status_code == 404
    theirs = with_files(bob_account, [("a.txt", "text/plain", b"a")])
    assert alice_client.get(reverse("download_all", args=[theirs.pk])).status_code == 404


# The installable app -----------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_manifest_describes_an_installable_app(client, db):
    response = client.get("/manifest.webmanifest")  # no login: the browser fetches it so
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    png_sizes, svg = set(), False
    for icon in manifest["icons"]:
        assert icon["src"].startswith("/static/icons/"), icon
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon
        with open(path, "rb") as f:
            data = f.read()
        if icon["type"] == "image/png":
            width, height = png_size(data)
            assert icon["sizes"] == f"{width}x{height}", icon
            png_sizes.add(icon["sizes"])
        else:
            assert icon["type"] == "image/svg+xml" and icon["sizes"] == "any", icon
            assert data.lstrip().startswith(b"<svg"), icon
            svg = True
    assert {"192x192", "512x512"} <= png_sizes and svg


def test_every_page_links_the_manifest(client, alice_client, alice_account):
    link = '<link rel="manifest" href="/manifest.webmanifest">'
    assert link in client.get(reverse("login")).content.decode()
    message = store(alice_account, mf.plain())
    for url in (
        reverse("home"),
        reverse("read_message", args=[message.pk]),
        reverse("compose"),
        reverse("account_list"),
    ):
        assert link in alice_client.get(url).content.decode(), url
