"""Mail from the real world in Chromium (issue 24): the PDF inside a winmail.dat is
downloaded from the read page, and a forwarded message opens with its own attachment
downloadable; its body in the sandboxed frame, nothing violating the page's CSP."""

from pathlib import Path

import pytest

from testkit import mailfactory as mf
from testkit import tnef
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, store
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"
CHART = b"\x89PNG\r\n\x1a\n not really a chart"


def test_the_pdf_inside_a_winmail_dat_downloads_from_the_read_page(new_page, devmail):
    bob = devmail_user(devmail, "bob")
    data = tnef.build([("견적서.pdf", PDF)], html="<p>Outlook의 본문</p>")
    message = store(
        bob.mail_accounts.get(),
        mf.message(
            mf.multipart("mixed", mf.attachment_part(data, "winmail.dat", "application/ms-tnef")),
            subject="Outlook",
        ),
    )
    page = new_page()
    log_in(page, "bob")
    page.goto(f"/mail/{message.pk}/")
    frame = page.frame_locator("iframe.body-frame")
    expect(frame.locator("body")).to_contain_text("Outlook의 본문")
    region = page.get_by_role("region", name="Attachments")
    expect(region.get_by_text("winmail.dat", exact=True)).to_be_visible()
    expect(region.get_by_text("Original winmail.dat from Outlook")).to_be_visible()
    with page.expect_download() as info:
        region.get_by_role("link", name="Download 견적서.pdf").click()
    download = info.value
    assert download.suggested_filename == "견적서.pdf"
    assert Path(download.path()).read_bytes() == PDF
    assert csp_violations(page) == []


def test_a_forwarded_message_opens_and_its_attachment_downloads(new_page, devmail):
    bob = devmail_user(devmail, "bob")
    inner = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("<p>The <b>inner</b> message</p>", "html"),
            mf.attachment_part(CHART, "chart.png", "image/png"),
        ),
        subject="Quarterly figures",
        from_="Kim Minsoo <minsoo@example.kr>",
    )
    message = store(bob.mail_accounts.get(), mf.forwarded(inner))
    page = new_page()
    log_in(page, "bob")
    page.goto(f"/mail/{message.pk}/")
    page.get_by_role("link", name="Open Quarterly figures.eml").click()
    expect(page.get_by_role("heading", name="Quarterly figures")).to_be_visible()
    expect(page.get_by_text("minsoo@example.kr")).to_be_visible()
    frame = page.frame_locator("iframe.body-frame")
    expect(frame.locator("b")).to_have_text("inner")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download chart.png").click()
    download = info.value
    assert download.suggested_filename == "chart.png"
    assert Path(download.path()).read_bytes() == CHART
    assert csp_violations(page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_on_an_opened_forwarded_message_and_an_invitation(
    new_page, devmail, scheme
):
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}")
    bob = devmail_user(devmail, "bob")
    account = bob.mail_accounts.get()
    forwarded = store(account, mf.forwarded(mf.plain("Inner", "inner text\n")))
    calendar = mf.text_part(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:1@x\r\n"
        "DTSTAMP:20260301T000000Z\r\nDTSTART:20260310T010000Z\r\nDTEND:20260310T020000Z\r\n"
        "SUMMARY:Planning\r\nLOCATION:Room 3\r\nORGANIZER;CN=Kim:mailto:kim@example.kr\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        "calendar",
    )
    invitation = store(
        account,
        mf.message(
            mf.multipart(
                "signed",
                mf.multipart("mixed", mf.text_part("Come.\n"), calendar),
                mf.attachment_part(b"sig", "signature.asc", "application/pgp-signature"),
            ),
            subject="Planning",
        ),
    )
    attached = forwarded.attachments.get()
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(AXE))
    log_in(page, "bob")
    for url in (
        f"/mail/{forwarded.pk}/attachments/{attached.pk}/message/",
        f"/mail/{invitation.pk}/",
    ):
        page.goto(url)
        assert page.evaluate(RUN_AXE) == [], url
        assert csp_violations(page) == [], url
    expect(page.get_by_role("region", name="Invitation")).to_contain_text("Room 3")
    expect(page.get_by_text("Signed (OpenPGP), not verified")).to_be_visible()
