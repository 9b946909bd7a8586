"""Rules in Chromium: make a rule from a message on the read page, and the next poll
("Check mail now", over POP3 from devmail) obeys it. The rule pages pass axe."""

import re

import pytest

from mailbox.models import Folder, Message
from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, store
from tests.browser.test_accessibility import AXE, RUN_AXE, UNLABELLED_CONTROLS

pytestmark = pytest.mark.browser


def newsletter(subject: str) -> bytes:
    return mf.plain(
        subject,
        "This week's news.\n",
        from_="ACME News <news@acme.example>",
        to="Bob <bob@example.test>",
        message_id=f"<{abs(hash(subject))}@acme.example>",
    )


def test_a_rule_made_from_a_message_files_the_next_one(new_page, devmail, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 600  # only "Check mail now" brings mail in
    bob = devmail_user(devmail, "bob")
    first = store(bob.mail_accounts.get(), newsletter("News, week 1"))
    page = new_page()
    if AXE.is_file():
        page.context.add_init_script(path=str(AXE))
    log_in(page, "bob")

    page.goto(f"/mail/{first.pk}/")
    page.locator('.message-view summary[aria-label="More actions"]').click()
    page.get_by_role("link", name="Create a rule from this message").click()

    expect(page.get_by_role("heading", name="New rule")).to_be_visible()
    expect(page.get_by_role("textbox", name="Name:", exact=True)).to_have_value("ACME News")
    condition = page.get_by_role("group", name="Condition 1")
    expect(condition.get_by_label("Value")).to_have_value("news@acme.example")
    action = page.get_by_role("group", name="Action 1")
    # The folder box shows only for actions that take one (rules.js).
    expect(action.get_by_label("Folder or address")).to_be_hidden()
    action.get_by_label("Action").select_option(label="Move to folder")
    action.get_by_label("Folder or address").fill("Newsletters")
    if AXE.is_file():
        assert page.evaluate(RUN_AXE) == []
    # (The top bar's search options are another page's; only the editor's controls count.)
    editor = [c for c in page.evaluate(UNLABELLED_CONTROLS) if re.search(r'id="id_', c)]
    assert editor == []
    page.get_by_role("button", name="Save rule").click()

    expect(page).to_have_url(re.compile(r"/settings/rules/$"))
    expect(page.locator("#toasts")).to_contain_text("Rule “ACME News” added.")
    expect(page.locator(".rule-list")).to_contain_text("move to “Newsletters”")
    if AXE.is_file():
        assert page.evaluate(RUN_AXE) == []
        for link in ("Run on existing mail", "Import Sieve script"):
            page.get_by_role("link", name=link).first.click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert page.evaluate(RUN_AXE) == [], link
            page.go_back()

    devmail.deliver("bob@example.test", newsletter("News, week 2"))
    devmail.deliver(
        "bob@example.test",
        mf.plain("Lunch?", "Noodles?\n", from_="Carol <carol@example.test>", to="bob@example.test"),
    )
    page.goto("/")
    page.get_by_role("button", name="Check mail now").click()

    inbox = page.locator("#message-list")
    expect(inbox.get_by_role("link", name="Lunch?")).to_be_visible()
    expect(inbox.get_by_role("link", name="News, week 2")).to_have_count(0)
    filed = Message.objects.get(subject="News, week 2")
    assert (filed.folder, filed.user_folder.name) == (Folder.USER, "Newsletters")
    assert page.record.page_errors == []
    assert csp_violations(page) == []


def test_the_editor_adds_a_condition_row_without_javascript(new_page, devmail):
    devmail_user(devmail, "bob")
    page = new_page(java_script_enabled=False)
    log_in(page, "bob")
    page.goto("/settings/rules/new/")
    page.get_by_role("group", name="Condition 1").get_by_label("Value").fill("invoice")
    page.get_by_role("button", name="Add condition").click()
    expect(page.get_by_role("group", name="Condition 2")).to_be_visible()
    expect(page.get_by_role("group", name="Condition 1").get_by_label("Value")).to_have_value(
        "invoice"
    )
