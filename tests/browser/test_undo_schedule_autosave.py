"""Undo send, Send later and autosave in Chromium, against a real SMTP server (aiosmtpd).

Tasks run eagerly (see conftest): Send's task runs at once, inside the undo window, so
it must find nothing to do; what reaches the SMTP server is what the user would get.
"""

import re

import pytest

from mailbox.models import Outgoing, OutgoingStatus
from tests.browser.conftest import csp_violations, expect, log_in, shot
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser


def sender(smtp_server, **extra):
    """alice, writing plain text, with her account's SMTP on the aiosmtpd server."""
    server = smtp_server()
    alice = make_user("alice", compose_format="plain", **extra)
    make_account(
        alice,
        display_name="Alice",
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )
    return alice, server


def write(page, subject: str, body: str) -> None:
    page.goto("/compose/")
    page.get_by_label("To:", exact=True).fill("Bob <bob@example.test>")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Body").fill(body)


def test_undo_in_the_toast_brings_the_message_back_and_sends_nothing(new_page, smtp_server):
    alice, server = sender(smtp_server, undo_send_seconds=10)
    page = new_page()
    log_in(page, "alice")
    write(page, "되돌릴 메일", "Sent too early.\n")
    page.get_by_label("Attach files").set_input_files(
        [{"name": "표.csv", "mimeType": "text/csv", "buffer": b"a,b\r\n1,2\r\n"}]
    )
    expect(page.locator("#upload-status")).to_contain_text("표.csv attached.")
    page.get_by_role("button", name="Send", exact=True).click()

    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    toast = page.locator("[data-undo]")
    expect(toast).to_contain_text("Sending in 10 seconds.")
    shot(page, "undo-send-toast")
    toast.get_by_role("button", name="Undo").click()

    expect(page.get_by_role("heading", name="Edit message")).to_be_visible()
    expect(page.get_by_text("Sending undone: the message is back in Drafts.")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("되돌릴 메일")
    expect(page.get_by_label("To:", exact=True)).to_have_value("Bob <bob@example.test>")
    expect(page.get_by_label("Body")).to_have_value(re.compile("Sent too early."))
    expect(page.locator("#upload-list")).to_contain_text("표.csv")
    outgoing = Outgoing.objects.get(owner=alice)
    assert outgoing.status == OutgoingStatus.DRAFT
    assert server.messages == []
    assert csp_violations(page) == []


def test_schedule_a_message_and_find_it_in_the_outbox(new_page, smtp_server):
    alice, server = sender(smtp_server)
    page = new_page()
    log_in(page, "alice")
    write(page, "Monday's report", "For Monday.\n")
    page.locator(".send-later-menu > summary").click()
    page.get_by_role("button", name=re.compile("^Tomorrow morning")).click()

    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    expect(page.get_by_text(re.compile("Scheduled to be sent: Tomorrow, 8:00"))).to_be_visible()
    outbox = page.locator("section.outbox")
    expect(outbox).to_contain_text("Scheduled")
    expect(outbox).to_contain_text("Monday's report")
    expect(outbox).to_contain_text("Will be sent: Tomorrow, 8:00")
    expect(outbox.get_by_role("button", name="Send now")).to_be_visible()
    shot(page, "send-later-outbox")
    outgoing = Outgoing.objects.get(owner=alice)
    assert (outgoing.status, outgoing.scheduled) == (OutgoingStatus.QUEUED, True)
    assert server.messages == []

    # Edit: back in compose as it was, and no longer scheduled.
    outbox.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Subject")).to_have_value("Monday's report")
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.send_after) == (OutgoingStatus.DRAFT, None)


def test_autosave_shows_saved_keeps_one_draft_and_warns_an_older_tab(new_page, smtp_server):
    alice, _ = sender(smtp_server)
    page = new_page()
    log_in(page, "alice")
    write(page, "Autosaved", "First words")
    status = page.locator("#autosave-status")
    expect(status).to_have_text(re.compile(r"^Saved at "))
    expect(page).to_have_url(re.compile(r"/compose/\d+/$"))
    draft = Outgoing.objects.get(owner=alice)
    assert (draft.subject, draft.body) == ("Autosaved", "First words")

    page.get_by_label("Body").press_sequentially(", and more")
    page.wait_for_function(
        "() => document.querySelector('input[name=version]').value === '2'", timeout=10_000
    )
    assert Outgoing.objects.filter(owner=alice).count() == 1
    draft.refresh_from_db()
    assert draft.body == "First words, and more"

    # The same draft in a second tab: it saves; the first tab, now behind, is told.
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_label("Body").fill("Newer text from the second tab")
    other.wait_for_function(
        "() => document.querySelector('input[name=version]').value === '3'", timeout=10_000
    )
    page.get_by_label("Body").press_sequentially(" (older tab)")
    expect(page.locator("#autosave-conflict")).to_be_visible()
    expect(page.locator("#autosave-conflict")).to_contain_text("changed in another tab")
    draft.refresh_from_db()
    assert draft.body == "Newer text from the second tab"
    assert Outgoing.objects.filter(owner=alice).count() == 1
    assert csp_violations(page) == []
