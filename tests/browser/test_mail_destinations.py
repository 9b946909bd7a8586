"""Under production settings (no private mail hosts), a user who types 127.0.0.1 as their
POP3 server sees the refusal on the form, in Chromium, and nothing is saved.

The live server runs in this process, so the `settings` fixture switches its policy."""

import pytest

from accounts.models import MailAccount
from tests.browser.conftest import csp_violations, expect, log_in
from tests.browser.test_accessibility import AXE, RUN_AXE
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_a_loopback_pop3_host_is_refused_on_the_form(new_page, settings):
    settings.WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS = False
    settings.WEBMAIL_MAIL_PORTS = ""
    settings.WEBMAIL_MAIL_HOSTS = []
    make_user("alice")
    page = new_page()
    if AXE.is_file():
        page.context.add_init_script(path=str(AXE))
    log_in(page, "alice")

    page.goto("/settings/accounts/new/")
    page.locator("#id_email").fill("alice@example.com")
    page.locator("#id_pop3_host").fill("127.0.0.1")
    page.locator("#id_pop3_login").fill("alice")
    page.locator("#id_pop3_password").fill("pop-secret")
    page.locator("#id_smtp_host").fill("0x7f.1")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Save").click()

    refusal = (
        "The server 127.0.0.1 is at 127.0.0.1, this computer (loopback): "
        "this webmail does not connect there."
    )
    expect(page.locator("#id_pop3_host_error")).to_have_text(f"POP3 host: {refusal}")
    expect(page.locator("#id_pop3_host")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_smtp_host_error")).to_contain_text(
        "The server 0x7f.1 is at 127.0.0.1, this computer (loopback)"
    )
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(f"POP3 host: {refusal}")
    summary.get_by_role("link", name=f"POP3 host: {refusal}").click()
    expect(page.locator("#id_pop3_host")).to_be_focused()
    if AXE.is_file():
        assert page.evaluate(RUN_AXE) == []
    assert not MailAccount.objects.exists()
    assert page.record.page_errors == []
    assert csp_violations(page) == []
