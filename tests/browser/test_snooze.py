"""Snooze and junk in Chromium: snooze from the reading pane (and with the `b` key), find
the message in Snoozed with its wake time, unsnooze it; wake it at the top of the Inbox;
snooze a selection until a chosen date and time; report junk, blocking the sender, and
take it back with "Not junk"."""

import re

import pytest
from django.utils import timezone

from mailbox import tasks
from mailbox.models import BlockedSender, Folder, Message
from testkit import mailfactory as mf
from tests.browser.conftest import (
    browser_required,
    csp_violations,
    devmail_user,
    expect,
    log_in,
    shot,
    store,
)
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser


@pytest.fixture
def mailbox(devmail):
    bob = devmail_user(devmail, "bob")
    account = bob.mail_accounts.get()
    for i, (subject, sender) in enumerate(
        [
            ("Quarterly report", "Ann <ann@example.test>"),
            ("Cheap watches", "Deals <deals@spam.example>"),
            ("Lunch on Friday?", "Carol <carol@example.test>"),
        ]
    ):
        store(
            account,
            mf.plain(
                subject,
                f"Body of {subject}.\n",
                from_=sender,
                date=f"Mon, 2 Mar 2026 1{i}:00:00 +0900",
            ),
        )
    return bob


@pytest.fixture
def axe():
    if not AXE.is_file():
        reason = f"axe-core is not installed at {AXE} (run .ci/install-browser.sh)"
        if browser_required():
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE


def row(page, subject: str):
    return (
        page.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text=subject)
    )


def folder_link(page, name: str):
    return page.get_by_role("navigation", name="Folders").get_by_role("link", name=re.compile(name))


def test_snooze_from_the_reading_pane_then_unsnooze_from_snoozed(new_page, mailbox, axe):
    page = new_page()
    page.context.add_init_script(path=str(axe))
    log_in(page, "bob")
    page.get_by_role("link", name=re.compile("Quarterly report")).click()
    reading = page.locator("#reading-pane")
    expect(reading.locator("#subject")).to_have_text("Quarterly report")

    reading.locator("summary[aria-label='Snooze']").click()
    menu = reading.locator(".snooze-menu .menu-panel")
    expect(menu.get_by_role("button", name=re.compile("^Tomorrow"))).to_be_visible()
    assert page.evaluate(RUN_AXE) == []
    shot(page, "snooze-menu", "screens")
    menu.get_by_role("button", name=re.compile("^Tomorrow")).click()

    toast = page.get_by_role("status").filter(has_text="1 message snoozed until Tomorrow, 8:00 AM.")
    expect(toast).to_be_visible()
    expect(row(page, "Quarterly report")).to_have_count(0)
    expect(reading.locator("#subject")).to_have_count(0)
    message = Message.objects.get(subject="Quarterly report")
    assert message.folder == Folder.SNOOZED
    assert timezone.localtime(message.snoozed_until).hour == 8

    folder_link(page, "Snoozed").click()
    expect(row(page, "Quarterly report")).to_contain_text("Tomorrow, 8:00 AM")
    page.get_by_role("link", name=re.compile("Quarterly report")).click()
    expect(reading.get_by_role("note")).to_contain_text("Snoozed until Tomorrow, 8:00 AM.")
    reading.get_by_role("button", name="Unsnooze").click()

    expect(page.get_by_role("status").filter(has_text="1 message moved to Inbox.")).to_be_visible()
    expect(row(page, "Quarterly report")).to_have_count(0)
    message.refresh_from_db()
    assert message.folder == Folder.INBOX
    folder_link(page, "Inbox").click()
    expect(row(page, "Quarterly report")).to_have_count(1)
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_a_woken_message_comes_back_to_the_top_of_the_inbox_unread(new_page, mailbox):
    page = new_page()
    log_in(page, "bob")
    rows = page.get_by_role("list", name="Messages").get_by_role("listitem")
    expect(rows.first).to_contain_text("Lunch on Friday?")  # the newest Date first
    page.get_by_role("link", name=re.compile("Quarterly report")).click()  # the oldest
    reading = page.locator("#reading-pane")
    expect(reading.locator("#subject")).to_have_text("Quarterly report")
    reading.locator("summary[aria-label='Snooze']").click()
    menu = reading.locator(".snooze-menu .menu-panel")
    menu.get_by_role("button", name=re.compile("^Tomorrow")).click()
    expect(row(page, "Quarterly report")).to_have_count(0)

    # Tomorrow morning: the task beat runs every minute wakes it.
    Message.objects.filter(subject="Quarterly report").update(snoozed_until=timezone.now())
    assert tasks.wake_snoozed() == 1

    folder_link(page, "Inbox").click()
    expect(rows.first).to_contain_text("Quarterly report")
    expect(rows.first).to_have_class(re.compile(r"\bunread\b"))
    rows.first.get_by_role("link", name=re.compile("Quarterly report")).click()
    expect(reading.locator("#subject")).to_have_text("Quarterly report")
    expect(reading.locator(".headers time")).to_contain_text("Mar 2, 2026")  # its own Date
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_the_b_key_opens_the_snooze_menu_on_its_first_choice(new_page, mailbox):
    page = new_page()
    log_in(page, "bob")
    page.get_by_role("link", name=re.compile("Lunch on Friday")).click()
    expect(page.locator("#reading-pane #subject")).to_have_text("Lunch on Friday?")
    page.locator("body").press("b")
    menu = page.locator("#reading-pane .snooze-menu")
    expect(menu).to_have_attribute("open", "")
    expect(menu.locator(".menu-panel button").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("status").filter(has_text=re.compile("1 message snoozed until"))
    ).to_be_visible()
    assert Message.objects.get(subject="Lunch on Friday?").folder == Folder.SNOOZED
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_snooze_a_selection_until_a_chosen_date_and_time(new_page, mailbox):
    page = new_page()
    log_in(page, "bob")
    row(page, "Quarterly report").get_by_role("checkbox").check()
    row(page, "Lunch on Friday").get_by_role("checkbox").check()
    toolbar = page.locator(".toolbar-sticky")
    toolbar.locator("summary[aria-label='Snooze']").click()
    toolbar.get_by_label("Pick a date and time").fill("2030-01-02T09:15")
    toolbar.locator(".snooze-menu").get_by_role("button", name="Snooze", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="2 messages snoozed until")).to_be_visible()
    expect(row(page, "Quarterly report")).to_have_count(0)
    snoozed = Message.objects.filter(folder=Folder.SNOOZED)
    assert sorted(snoozed.values_list("subject", flat=True)) == [
        "Lunch on Friday?",
        "Quarterly report",
    ]
    local = timezone.localtime(snoozed.first().snoozed_until)
    assert (local.year, local.month, local.day, local.hour, local.minute) == (2030, 1, 2, 9, 15)

    # Undo puts them back in the Inbox.
    page.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(row(page, "Quarterly report")).to_have_count(1)
    assert not Message.objects.filter(folder=Folder.SNOOZED).exists()
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_report_junk_blocks_the_sender_and_not_junk_takes_it_back(new_page, mailbox):
    page = new_page()
    log_in(page, "bob")
    page.get_by_role("link", name=re.compile("Cheap watches")).click()
    reading = page.locator("#reading-pane")
    expect(reading.locator("#subject")).to_have_text("Cheap watches")
    reading.locator("summary[aria-label='Report junk']").click()
    menu = reading.locator(".junk-menu .menu-panel")
    expect(menu.get_by_label("Also block the sender")).to_be_checked()
    shot(page, "report-junk-menu", "screens")
    menu.get_by_role("button", name="Report junk").click()

    expect(
        page.get_by_role("status").filter(
            has_text="1 message moved to Junk. Blocked: deals@spam.example."
        )
    ).to_be_visible()
    expect(row(page, "Cheap watches")).to_have_count(0)
    assert list(BlockedSender.objects.values_list("address", flat=True)) == ["deals@spam.example"]

    folder_link(page, "Junk").click()
    row(page, "Cheap watches").get_by_role("checkbox").check()
    page.locator(".toolbar-sticky").get_by_role("button", name="Not junk").click()
    expect(page.get_by_role("status").filter(has_text="1 message moved to Inbox.")).to_be_visible()
    assert Message.objects.get(subject="Cheap watches").folder == Folder.INBOX
    assert not BlockedSender.objects.exists()

    # The blocked-senders page in Settings.
    page.goto("/settings/blocked/")
    page.get_by_label("Address or domain").fill("@spam.example")
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_text("Mail from @spam.example will go to Junk.")).to_be_visible()
    page.get_by_role("button", name="Unblock @spam.example").click()
    expect(page.get_by_text("@spam.example is no longer blocked.")).to_be_visible()
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_without_javascript_snooze_and_report_junk_are_plain_forms(new_page, mailbox):
    page = new_page(java_script_enabled=False)
    log_in(page, "bob")
    row(page, "Quarterly report").get_by_role("checkbox").check()
    toolbar = page.locator(".toolbar-sticky")
    toolbar.locator("summary[aria-label='Snooze']").click()
    toolbar.locator(".snooze-menu").get_by_role("button", name=re.compile("^Tomorrow")).click()
    expect(page.get_by_text("1 message snoozed until Tomorrow, 8:00 AM.")).to_be_visible()
    assert Message.objects.get(subject="Quarterly report").folder == Folder.SNOOZED

    page.get_by_role("link", name=re.compile("Cheap watches")).click()
    reading = page.locator("#reading-pane")
    reading.locator("summary[aria-label='Report junk']").click()
    reading.locator(".junk-menu").get_by_role("button", name="Report junk").click()
    expect(page.get_by_text("1 message moved to Junk.")).to_be_visible()
    assert Message.objects.get(subject="Cheap watches").folder == Folder.JUNK
    assert list(BlockedSender.objects.values_list("address", flat=True)) == ["deals@spam.example"]
