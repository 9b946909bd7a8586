"""Search in Chromium: the "Search options" form under the search box builds an
operator query, and its results come from every folder, each row naming its folder."""

import re

import pytest

from mailbox.models import Folder
from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, expect, log_in, shot, store
from tests.browser.test_accessibility import AXE, RUN_AXE
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser


def _with_file(subject: str, sender: str) -> bytes:
    return mf.message(
        mf.multipart("mixed", mf.text_part("See the file.\n"), mf.attachment_part(b"x", "a.pdf")),
        subject=subject,
        from_=sender,
        message_id=f"<{subject.replace(' ', '-')}@example.test>",
    )


@pytest.fixture
def mailbox(db):
    bob = make_user("bob")
    account = make_account(bob)
    store(account, _with_file("Quarterly report", "Ann <ann@example.test>"), folder=Folder.ARCHIVE)
    store(account, mf.plain("Lunch?", from_="Ann <ann@example.test>", message_id="<l@x.test>"))
    store(account, _with_file("Carol's photos", "Carol <carol@example.test>"))
    return bob


def test_search_options_find_mail_with_attachments_from_a_sender_in_any_folder(new_page, mailbox):
    page = new_page()
    if AXE.is_file():
        page.context.add_init_script(path=str(AXE))
    log_in(page, "bob")
    page.get_by_text("Search options", exact=True).click()
    options = page.locator("#search-options form")
    expect(options).to_be_visible()
    if AXE.is_file():
        assert page.evaluate(RUN_AXE) == []
    shot(page, "search-options", "screens")
    options.get_by_label("From").fill("ann")
    options.get_by_label("Has attachment").check()
    options.get_by_role("button", name="Search").click()

    page.wait_for_url(re.compile(r"/mail/search/\?q=from%3Aann\+has%3Aattachment"))
    expect(page.locator("#q")).to_have_value("from:ann has:attachment")
    rows = page.get_by_role("list", name="Messages").get_by_role("listitem")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Quarterly report")
    expect(rows.first.locator(".row-folder")).to_have_text("Archive")
    shot(page, "search-results", "screens")
    rows.first.get_by_role("link").click()
    expect(page.locator("#reading-pane #subject")).to_have_text("Quarterly report")
    assert page.record.page_errors == [] and csp_violations(page) == []
