"""Two-factor login in Chromium: set it up from Settings by reading the secret off the
page (as someone typing it into an app would), log out, log in with the password and
a code, reach the inbox; the pages are axe-clean in the light and the dark theme."""

import base64
import re

import pytest
from django_otp.oath import totp

from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, log_out, shot
from tests.browser.test_accessibility import RUN_AXE, axe_source  # noqa: F401 - fixture
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def code_from(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app given `secret` (base32) shows, RFC 6238 defaults."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, step=30, digits=6, drift=steps_ahead):06d}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_set_up_two_factor_then_log_in_with_a_code(new_page, devmail, axe_source, scheme):  # noqa: F811
    devmail_user(devmail, "bob")
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(axe_source))

    def axe_clean(name: str) -> None:
        assert page.evaluate(RUN_AXE) == [], name
        assert csp_violations(page) == [], name

    log_in(page, "bob")
    page.goto("/settings/accounts/")
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", name="Two-factor authentication is off")).to_be_visible()
    axe_clean("two-factor settings, off")
    page.get_by_role("link", name="Set up two-factor authentication").click()
    expect(
        page.get_by_role("heading", name="Set up two-factor authentication", level=1)
    ).to_be_visible()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")  # drawn, not blocked
    axe_clean("set-up page")
    shot(page, f"two-factor-setup-{scheme}")

    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Code:", exact=True).fill(code_from(secret))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Recovery codes", level=1)).to_be_visible()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # JavaScript shows it
    axe_clean("recovery codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    assert not any(code in page.content() for code in codes)  # shown once
    axe_clean("two-factor settings, on")

    log_out(page)
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)  # nothing behind it
    axe_clean("code step")
    shot(page, f"two-factor-code-step-{scheme}")
    # The next step's code: the one just used to turn it on cannot be used again.
    page.get_by_label("Code:", exact=True).fill(code_from(secret, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert csp_violations(page) == []
    assert page.record.foreign == []
