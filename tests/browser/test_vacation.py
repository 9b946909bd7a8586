"""A vacation reply set in Chromium: Settings › the account's "Vacation reply", the
form (axe-clean), and the next "Check mail now" answers a new message once."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from mailbox.models import Outgoing
from rules.models import VacationReply
from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser


def test_set_a_vacation_reply_and_the_next_mail_is_answered(new_page, devmail, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 600  # only "Check mail now" brings mail in
    bob = devmail_user(devmail, "bob")
    page = new_page()
    if AXE.is_file():
        page.context.add_init_script(path=str(AXE))
    log_in(page, "bob")

    page.goto("/settings/accounts/")
    page.get_by_role("link", name="Vacation reply bob@example.test").click()
    expect(page.get_by_role("heading", name="Vacation reply", level=1)).to_be_visible()
    if AXE.is_file():
        assert page.evaluate(RUN_AXE) == []
    today = timezone.localdate()
    page.get_by_label("Send a vacation reply").check()
    page.get_by_label("Subject").fill("부재중 자동 응답")
    page.get_by_label("Message:", exact=True).fill("휴가 중입니다. 다음 주에 답장 드리겠습니다.")
    page.get_by_label("First day").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("Last day").fill((today + timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/settings/rules/vacation/\d+/$"))
    expect(page.locator("#toasts")).to_contain_text("Vacation reply is on for bob@example.test.")
    expect(page.get_by_role("status").filter(has_text="Your vacation reply is on.")).to_be_visible()
    if AXE.is_file():
        assert page.evaluate(RUN_AXE) == []
    saved = VacationReply.objects.get(account__user=bob)
    assert (saved.enabled, saved.subject) == (True, "부재중 자동 응답")

    devmail.deliver(
        "bob@example.test",
        mf.plain("Lunch?", "Noodles?\n", from_="Carol <carol@example.test>", to="bob@example.test"),
    )
    page.goto("/")
    page.get_by_role("button", name="Check mail now").click()
    expect(page.locator("#message-list").get_by_role("link", name="Lunch?")).to_be_visible()
    [reply] = Outgoing.objects.filter(owner=bob)
    assert reply.is_automatic_reply and reply.recipients == ["carol@example.test"]
    assert page.record.page_errors == []
    assert csp_violations(page) == []
