"""Delivery unknown in Chromium: the connection is cut after the final dot (the server has
the message, the browser's user does not know), the Outbox says so, naming the server,
offers Send again and Mark as sent, and the delivery page shows each attempt.

Tasks run eagerly (see conftest): Send delivers through the fault proxy at once.
"""

import re

import pytest

from mailbox import outbox
from mailbox.models import Outgoing, OutgoingStatus
from testkit.smtp_faults import FaultProxy
from tests.browser.conftest import csp_violations, expect, log_in, shot
from tests.browser.test_accessibility import AXE, RUN_AXE
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def proxy(smtp_server):
    server = smtp_server()
    proxy = FaultProxy(server.host, server.port)
    proxy.server = server
    yield proxy
    proxy.close()


def test_delivery_unknown_offers_send_again_and_mark_as_sent_with_the_history(new_page, proxy):
    alice = make_user("alice", compose_format="plain")
    make_account(
        alice,
        display_name="Alice",
        smtp_host=proxy.host,
        smtp_port=proxy.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )
    proxy.reply("rcpt", "451 4.7.1 Greylisted")  # the first attempt: retried
    page = new_page()
    page.context.add_init_script(path=str(AXE))
    log_in(page, "alice")
    page.goto("/compose/")
    page.get_by_label("To:", exact=True).fill("Bob <bob@example.test>")
    page.get_by_label("Subject").fill("잘 도착했나요?")
    page.get_by_label("Body").fill("Did it arrive?\n")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    outgoing = Outgoing.objects.get(owner=alice)
    assert outgoing.status == OutgoingStatus.RETRYING

    # The retry is cut after the dot: the server took it, nobody heard back.
    proxy.cut_after_reply("dot")
    Outgoing.objects.filter(pk=outgoing.pk).update(next_attempt_at=outgoing.queued_at)
    outbox.deliver(outgoing.pk)
    assert len(proxy.server.delivered) == 1

    page.reload()
    outbox_card = page.locator(".outbox")
    expect(outbox_card).to_contain_text("Delivery unknown")
    expect(outbox_card).to_contain_text(f"the connection to 127.0.0.1:{proxy.port} was lost at")
    expect(outbox_card.get_by_role("button", name="Send again")).to_be_visible()
    expect(outbox_card.get_by_role("button", name="Mark as sent")).to_be_visible()
    assert page.evaluate(RUN_AXE) == []
    shot(page, "delivery-unknown-outbox")

    outbox_card.get_by_role("link", name="잘 도착했나요?").click()
    expect(page.get_by_role("heading", name="Delivery: Delivery unknown")).to_be_visible()
    history = page.locator("table.delivery-attempts tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("RCPT TO")
    expect(history.nth(0)).to_contain_text("451 4.7.1 Greylisted")
    expect(history.nth(0)).to_contain_text("Will be retried")
    expect(history.nth(1)).to_contain_text("End of message (the final dot)")
    expect(history.nth(1)).to_contain_text("Outcome unknown")
    expect(page.get_by_text("Refused for bob@example.test")).to_have_count(0)  # stale 451
    assert page.evaluate(RUN_AXE) == []
    shot(page, "delivery-unknown-page")

    page.get_by_role("button", name="Mark as sent").click()
    expect(page.get_by_text("Marked as sent.")).to_be_visible()
    expect(page.get_by_role("heading", name="Delivery: Sent")).to_be_visible()
    expect(page.get_by_text("Marked as sent by you for bob@example.test")).to_be_visible()
    assert len(proxy.server.delivered) == 1  # nothing sent again
    assert Outgoing.objects.get(pk=outgoing.pk).sent_message_id is not None
    assert csp_violations(page) == []
    assert page.record.page_errors == []
    assert re.search(r"/outbox/\d+/$", page.url)
