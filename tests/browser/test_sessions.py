"""Sessions in Chromium: logged in from two browsers, the first signs the second out from
Settings › Sessions and activity, and the second is back at the login page; the pages
are axe-clean in the light and the dark theme."""

import re

import pytest

from tests.browser.conftest import csp_violations, expect, log_in, shot
from tests.browser.test_accessibility import RUN_AXE, axe_source  # noqa: F401 - fixture
from tests.conftest import make_user

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_sign_out_the_other_session(new_page, axe_source, scheme):  # noqa: F811
    make_user("bob")
    first = new_page(color_scheme=scheme)
    first.context.add_init_script(path=str(axe_source))
    second = new_page(color_scheme=scheme)  # another context: another browser, its own cookies

    def axe_clean(name: str) -> None:
        assert first.evaluate(RUN_AXE) == [], name
        assert csp_violations(first) == [], name

    first.goto("/auth/login/")
    axe_clean("login page with Remember me")
    shot(first, f"login-remember-me-{scheme}")
    log_in(first, "bob")
    log_in(second, "bob")
    first.goto("/settings/accounts/")
    first.get_by_role("link", name="Sessions and activity").click()
    expect(first.get_by_role("heading", name="Sessions and activity", level=1)).to_be_visible()
    expect(first.get_by_text("This session", exact=True)).to_have_count(1)
    expect(first.get_by_role("cell", name="Logged in", exact=True)).to_have_count(2)
    sign_out = first.get_by_role("button", name=re.compile(r"^Sign out this session"))
    expect(sign_out).to_have_count(1)
    axe_clean("sessions page, two sessions")
    shot(first, f"sessions-{scheme}")

    sign_out.click()
    expect(first.get_by_text("The session is signed out.")).to_be_visible()
    expect(first.get_by_text("You are not logged in anywhere else.")).to_be_visible()
    axe_clean("sessions page, one session")

    second.reload()
    expect(second).to_have_url(re.compile(r"/auth/login/"))
    expect(second.get_by_role("heading", name="Log in")).to_be_visible()
    first.goto("/")
    expect(first).not_to_have_url(re.compile(r"/auth/login/"))
    assert first.record.foreign == [] and second.record.foreign == []
