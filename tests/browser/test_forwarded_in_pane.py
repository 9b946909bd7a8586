"""A forwarded message opens in the reading pane (issue 24), in Chromium.

From the three-pane page: the message, then the message attached to it, then the one
attached to that, each in place of the last in the reading pane (no page load), with
its headers, its body in its own sandboxed frame and its own attachments downloadable;
the address bar and Back/Forward follow, and "Back to the message" returns to it.
"""

import re
from pathlib import Path

import pytest

from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, shot, store
from tests.browser.test_three_pane import marker, set_marker

pytestmark = pytest.mark.browser

CHART = b"\x89PNG\r\n\x1a\n not really a chart \x00\xff"


def forwarded_message() -> bytes:
    inner = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("<p>The <b>inner</b> message: 분기 실적</p>", "html"),
            mf.attachment_part(CHART, "chart.png", "image/png"),
            mf.header_block([("Content-Type", "message/rfc822")])
            + b"\r\n"
            + mf.plain("Deepest", "the bottom\n", from_="Lee Deep <deep@example.kr>"),
        ),
        subject="Quarterly figures",
        from_="Kim Minsoo <minsoo@example.kr>",
    )
    return mf.forwarded(inner)


def test_a_forwarded_message_opens_in_the_reading_pane_and_back(new_page, devmail):
    bob = devmail_user(devmail, "bob")
    message = store(bob.mail_accounts.get(), forwarded_message())
    attached = message.attachments.get(content_type="message/rfc822")
    message_url = re.compile(rf"/mail/{message.pk}/$")
    attached_url = re.compile(rf"/mail/{message.pk}/attachments/{attached.pk}/message/$")
    page = new_page()
    log_in(page, "bob")
    set_marker(page)
    pane = page.locator("#reading-pane")

    page.get_by_role("link", name=re.compile("Fwd: inner")).click()
    expect(pane.locator("#subject")).to_have_text("Fwd: inner")
    pane.get_by_role("link", name="Open Quarterly figures.eml").click()

    expect(pane.get_by_role("heading", name="Quarterly figures")).to_be_visible()
    expect(page).to_have_url(attached_url)
    expect(page).to_have_title(re.compile(r"Quarterly figures · Attached message"))
    expect(pane.get_by_text("minsoo@example.kr")).to_be_visible()
    frame = page.frame_locator("#reading-pane iframe.body-frame")
    expect(frame.locator("b")).to_have_text("inner")
    expect(frame.locator("body")).to_contain_text("분기 실적")
    assert pane.locator("iframe.body-frame").get_attribute("sandbox") == (
        "allow-popups allow-popups-to-escape-sandbox"
    )
    expect(page.get_by_role("list", name="Messages")).to_be_visible()  # the list stays
    expect(pane.get_by_role("link", name="Download .eml")).to_be_visible()
    shot(page, "forwarded-message-in-reading-pane", "screens")
    with page.expect_download() as info:
        pane.get_by_role("link", name="Download chart.png").click()
    assert info.value.suggested_filename == "chart.png"
    assert Path(info.value.path()).read_bytes() == CHART

    # One level deeper, and back up.
    pane.get_by_role("link", name="Open Deepest.eml").click()
    expect(pane.get_by_role("heading", name="Deepest")).to_be_visible()
    expect(pane.get_by_text("the bottom")).to_be_visible()
    expect(pane.get_by_text("deep@example.kr")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/message/\?in=2$"))
    pane.get_by_role("link", name="Back to the enclosing message").click()
    expect(pane.get_by_role("heading", name="Quarterly figures")).to_be_visible()
    expect(page).to_have_url(attached_url)

    assert marker(page) == "still here"  # every step so far in place, no page load

    # The browser's Back and Forward go through the same steps (htmx keeps no copy of
    # pages: each step is loaded again, as the whole page).
    for heading in ("Deepest", "Quarterly figures"):
        page.go_back()
        expect(pane.get_by_role("heading", name=heading)).to_be_visible()
        page.wait_for_load_state()
    page.go_back()
    expect(pane.locator("#subject")).to_have_text("Fwd: inner")
    expect(page).to_have_url(message_url)
    page.wait_for_load_state()
    page.go_forward()
    expect(pane.get_by_role("heading", name="Quarterly figures")).to_be_visible()
    expect(page).to_have_url(attached_url)
    page.wait_for_load_state()

    set_marker(page)
    pane.get_by_role("link", name=re.compile("^Back to the message")).click()
    expect(pane.locator("#subject")).to_have_text("Fwd: inner")
    expect(page).to_have_url(message_url)
    assert marker(page) == "still here"
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_without_javascript_the_forwarded_message_is_a_page_with_it_in_the_pane(new_page, devmail):
    bob = devmail_user(devmail, "bob")
    message = store(bob.mail_accounts.get(), forwarded_message())
    page = new_page(java_script_enabled=False)
    log_in(page, "bob")
    page.goto(f"/mail/{message.pk}/")
    page.get_by_role("link", name="Open Quarterly figures.eml").click()
    pane = page.locator("#reading-pane")
    expect(pane.get_by_role("heading", name="Quarterly figures")).to_be_visible()
    expect(page.get_by_role("list", name="Messages")).to_be_visible()
    pane.get_by_role("link", name=re.compile("^Back to the message")).click()
    expect(pane.locator("#subject")).to_have_text("Fwd: inner")
