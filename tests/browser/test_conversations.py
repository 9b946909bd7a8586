"""Conversation view in Chromium: turn it on in Settings, see one row per conversation with
its count, open it, and expand an older message."""

import re

import pytest

from mailbox.models import Folder, Message
from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, shot, store
from tests.browser.test_accessibility import RUN_AXE, axe_source  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def _mail(message_id, subject, minute, *, parent=None, from_="Carol <carol@example.test>"):
    headers = [("In-Reply-To", f"<{parent}>"), ("References", f"<{parent}>")] if parent else []
    return mf.message(
        mf.text_part(f"Body {minute}: {subject}.\n"),
        subject=subject,
        from_=from_,
        to="Bob <bob@example.test>",
        date=f"Mon, 2 Mar 2026 10:{minute:02d}:00 +0900",
        message_id=f"<{message_id}>",
        headers=headers,
    )


@pytest.fixture
def conversation(devmail):
    bob = devmail_user(devmail, "bob")
    account = bob.mail_accounts.get()
    store(account, _mail("trip-1@x", "Trip to Busan", 1))
    store(
        account,
        _mail(
            "trip-2@x", "Re: Trip to Busan", 2, parent="trip-1@x", from_="Bob <bob@example.test>"
        ),
        folder=Folder.SENT,
        seen=True,
    )
    store(account, _mail("trip-3@x", "Re: Trip to Busan", 3, parent="trip-2@x"))
    store(account, _mail("other@x", "Something else", 4))
    return bob


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_conversation_view_groups_a_thread_and_opens_it_with_older_messages_collapsed(
    new_page,
    conversation,
    axe_source,  # noqa: F811 - the fixture
    scheme,
):
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(axe_source))
    log_in(page, "bob")
    page.goto("/settings/accounts/")
    page.get_by_label("Conversation view").check()
    page.get_by_role("button", name="Save preferences").click()

    page.goto("/")
    rows = page.get_by_role("list", name="Messages").get_by_role("listitem")
    expect(rows).to_have_count(2)
    trip = rows.filter(has_text="Trip to Busan")
    expect(trip.locator(".thread-count")).to_contain_text("3 messages in this conversation")

    trip.get_by_role("link").first.click()
    pane = page.locator("#reading-pane")
    thread = pane.get_by_role("list", name="Conversation")
    expect(thread.get_by_role("listitem")).to_have_count(3)
    first, sent, latest = (thread.get_by_role("listitem").nth(i) for i in range(3))
    expect(latest.locator(".text-body")).to_have_text("Body 3: Re: Trip to Busan.")
    expect(latest.locator(".text-body")).to_be_visible()
    expect(first.locator(".text-body")).to_be_hidden()
    expect(sent).to_contain_text("Sent")  # from another folder, and said so

    # The row, redrawn as read, keeps its count.
    expect(trip.locator(".thread-count")).to_be_visible()
    first.locator("summary").click()
    expect(first.locator(".text-body")).to_be_visible()
    expect(first.locator(".text-body")).to_have_text("Body 1: Trip to Busan.")
    expect(first.get_by_role("button", name="Reply all")).to_be_visible()
    shot(page, f"conversation-expanded-{scheme}")
    assert page.evaluate(RUN_AXE) == []

    # Opened from its oldest message, the conversation steps to the next conversation:
    # k (as Newer) skips the conversation's own newer message.
    trip_start = Message.objects.get(owner=conversation, subject="Trip to Busan")
    first.get_by_role("link", name="Open").click()
    expect(page).to_have_url(re.compile(rf"/mail/{trip_start.pk}/$"))
    # The conversation's row stays the current one while its oldest message is open.
    expect(trip).to_have_class(re.compile(r"\bcurrent\b"))
    expect(pane.locator(".message-nav a[rel=next]")).to_have_count(0)  # the last conversation
    expect(pane.locator("#subject")).to_have_text("Trip to Busan")
    page.wait_for_load_state("networkidle")  # the pane swapped in and settled: keys act on it
    page.keyboard.press("k")
    expect(pane.locator("#subject")).to_have_text("Something else")
    expect(pane.locator(".message-nav a[rel=prev]")).to_have_count(0)  # the first one
    page.wait_for_load_state("networkidle")
    page.keyboard.press("j")
    expect(pane.locator("#subject")).to_have_text("Re: Trip to Busan")
    assert csp_violations(page) == []
