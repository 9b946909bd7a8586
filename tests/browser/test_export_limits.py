"""A download past the export limits, in Chromium: the list's Download menu leads to the
list again with the reason (not to a file holding an error page), and the whole-account
links on Settings do the same; under the limits the same link downloads the file."""

import re

import pytest

from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, expect, log_in, shot, store
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser

REFUSED = re.compile(r"This download would hold 3 messages \(.*\); one download holds at most 2")


@pytest.fixture
def alice_with_three(db):
    account = make_account(make_user("alice"))
    for number in range(3):
        store(account, mf.plain(f"보고서 {number}", "본문\n", message_id=f"<lim-{number}@x.test>"))
    return account


def test_a_folder_past_the_limit_says_so_and_downloads_nothing(
    new_page, settings, alice_with_three
):
    settings.WEBMAIL_MAX_EXPORT_MESSAGES = 2
    page = new_page()
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    log_in(page, "alice")
    page.get_by_label("Download", exact=True).click()
    page.get_by_role("link", name="Folder as mbox").click()
    expect(page.get_by_text(REFUSED)).to_be_visible()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    shot(page, "01-folder-refused", "export-limits")

    page.goto("/settings/import-export/")
    page.get_by_role("link", name="All mail as mbox files").click()
    page.wait_for_url(re.compile(r"/settings/import-export/$"))
    expect(page.get_by_text(REFUSED)).to_be_visible()
    assert downloads == []
    assert csp_violations(page) == []
    assert page.record.page_errors == []


def test_under_the_limit_the_same_link_downloads(new_page, settings, alice_with_three):
    settings.WEBMAIL_MAX_EXPORT_MESSAGES = 3
    page = new_page()
    log_in(page, "alice")
    page.goto("/settings/import-export/")
    with page.expect_download() as info:
        page.get_by_role("link", name="All mail as mbox files").click()
    assert info.value.suggested_filename.endswith(".zip")
    expect(page.get_by_role("heading", name="Export mail")).to_be_visible()
