"""The login page's language switch, in a real browser: with JavaScript it applies on
change and its button hides; without JavaScript the button applies it."""

import re

import pytest

from tests.browser.conftest import csp_violations, expect, shot

pytestmark = pytest.mark.browser

LOGIN = "/auth/login/?next=/settings/accounts/"


def test_choosing_a_language_applies_at_once_and_stays_on_login(new_page, transactional_db):
    page = new_page(locale="ko-KR")
    page.goto(LOGIN)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="로그인")).to_be_visible()
    expect(page.get_by_role("button", name="언어 변경")).to_be_hidden()
    shot(page, "login-language-switch-ko", "language")

    page.get_by_label("언어").select_option("en")
    page.wait_for_url(re.compile(r"/auth/login/\?next=/settings/accounts/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Language")).to_have_value("en")
    assert csp_violations(page) == []
    assert page.record.page_errors == []


def test_without_javascript_the_button_applies_the_language(new_page, transactional_db):
    page = new_page(locale="en-US", java_script_enabled=False)
    page.goto(LOGIN)
    page.get_by_label("Language").select_option("ko")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # nothing happens by itself
    page.get_by_role("button", name="Change language").click()
    page.wait_for_url(re.compile(r"/auth/login/\?next=/settings/accounts/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="로그인")).to_be_visible()


def test_an_error_page_in_korean(new_page, transactional_db):
    page = new_page(locale="ko-KR")
    response = page.goto("/no/such/page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="페이지를 찾을 수 없습니다")).to_be_visible()
    shot(page, "404-ko", "language")
    page.get_by_role("link", name="받은편지함으로 돌아가기").click()
    page.wait_for_url(re.compile(r"/auth/login/"))
    assert csp_violations(page) == []
