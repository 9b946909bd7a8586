"""Select all in Chromium, as in Gmail: ticking every row of a page shows the banner
"All 4 messages on this page are selected. Select all 10 messages in Inbox"; choosing
it and pressing Archive empties the whole folder (every page), from the server's count.
A message that arrives after the page was drawn stays. Pages here hold 4 rows."""

import re

import pytest

from mailbox import listing
from mailbox.models import Folder, Message
from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, expect, log_in, shot, store
from tests.browser.test_accessibility import AXE, RUN_AXE
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def full_inbox(monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 4)
    alice = make_user("alice")
    account = make_account(alice)
    for n in range(10):
        store(account, mf.plain(f"Report {n:02}", f"Body {n}.\n"))
    return account


def test_select_every_page_of_the_inbox_and_archive_it(new_page, full_inbox):
    page = new_page()
    page.context.add_init_script(path=str(AXE))
    log_in(page, "alice")
    rows = page.get_by_role("list", name="Messages").get_by_role("listitem")
    expect(rows).to_have_count(4)
    banner = page.locator("#select-all-banner")
    expect(banner).to_be_hidden()  # shown only once the whole page is ticked

    page.get_by_label("Select all on this page").check()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("All 4 messages on this page are selected.")
    offer = banner.get_by_label("Select all 10 messages in Inbox")
    expect(offer).to_be_visible()
    offer.check()
    expect(banner).to_contain_text("All 10 messages in Inbox are selected.")
    expect(banner.get_by_role("button", name="Clear selection")).to_be_visible()
    assert page.evaluate(RUN_AXE) == []
    shot(page, "select-all-banner", "screens")

    page.locator(".toolbar-group").get_by_role("button", name="Archive").click()
    expect(page.get_by_role("status").filter(has_text="10 messages archived.")).to_be_visible()
    expect(page.get_by_text(re.compile("No mail yet"))).to_be_visible()
    expect(rows).to_have_count(0)
    assert Message.objects.filter(folder=Folder.ARCHIVE).count() == 10
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_mail_that_arrives_after_the_page_stays_in_the_inbox(new_page, full_inbox):
    page = new_page()
    log_in(page, "alice")
    page.get_by_label("Select all on this page").check()
    page.locator("#select-all-banner").get_by_label("Select all 10 messages in Inbox").check()
    late = store(full_inbox, mf.plain("Arrived meanwhile", "Late.\n"))
    page.locator(".toolbar-group").get_by_role("button", name="Archive").click()
    expect(page.get_by_role("status").filter(has_text="10 messages archived.")).to_be_visible()
    rows = page.get_by_role("list", name="Messages").get_by_role("listitem")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Arrived meanwhile")
    assert list(Message.objects.filter(folder=Folder.INBOX)) == [late]


def test_unticking_a_row_takes_the_banner_away(new_page, full_inbox):
    page = new_page()
    log_in(page, "alice")
    page.get_by_label("Select all on this page").check()
    banner = page.locator("#select-all-banner")
    banner.get_by_label(re.compile("Select all 10 messages")).check()
    page.locator("#message-list input[name=ids]").first.uncheck()
    expect(banner).to_be_hidden()
    expect(banner.locator("input[name=select_all]")).not_to_be_checked()
    assert page.record.page_errors == []


def test_without_javascript_the_checkbox_selects_the_whole_folder(new_page, full_inbox):
    page = new_page(java_script_enabled=False)
    log_in(page, "alice")
    banner = page.locator("#select-all-banner")
    expect(banner).to_be_visible()
    banner.get_by_label("Select all messages in Inbox").check()  # not counted without scripts
    page.locator(".toolbar-group").get_by_role("button", name="Mark as read").click()
    expect(page.get_by_text("10 messages marked as read.")).to_be_visible()
    assert not Message.objects.filter(seen=False).exists()
