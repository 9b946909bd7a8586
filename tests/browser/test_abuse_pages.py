"""The password reset pages and the 413 page: axe-clean, labelled, no CSP violations."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import csp_violations, log_in
from tests.browser.test_accessibility import AXE, RUN_AXE, UNLABELLED_CONTROLS

pytestmark = pytest.mark.browser


def assert_clean(page, name):
    assert page.evaluate(RUN_AXE) == [], name
    assert page.evaluate(UNLABELLED_CONTROLS) == [], name
    assert csp_violations(page) == [], name


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_reset_pages_are_accessible(new_page, alice, settings, scheme):
    settings.WEBMAIL_SYSTEM_MAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(AXE))
    page.goto("/auth/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert_clean(page, "reset-form")
    page.get_by_label("Email").fill("alice@example.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    assert_clean(page, "reset-done")
    page.goto("/auth/reset/MQ/bad-token/")
    expect(page.get_by_text("This link has expired or was already used")).to_be_visible()
    assert_clean(page, "reset-invalid-link")


def test_the_413_page_is_accessible_and_leads_back(new_page, alice):
    page = new_page()
    page.context.add_init_script(path=str(AXE))
    log_in(page, "alice")
    page.goto("/settings/accounts/")
    # A form post far beyond the limit, as a browser sends it (urlencoded).
    page.evaluate(
        """() => {
          const form = document.querySelector("form[action='/settings/accounts/preferences/']");
          const big = document.createElement("input");
          big.type = "hidden"; big.name = "padding"; big.value = "x".repeat(3 * 1024 * 1024);
          form.appendChild(big);
          form.removeAttribute("enctype");
          form.submit();
        }"""
    )
    expect(page.get_by_role("heading", name="Too much at once")).to_be_visible()
    assert_clean(page, "413")
    page.get_by_role("link", name="Back to the inbox").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
