"""The interface's language: the user's preference, then the login page's switch (the
language cookie), then the browser's Accept-Language, then English."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

KOREAN_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9,en;q=0.5"}
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
COOKIE = settings.LANGUAGE_COOKIE_NAME
PREFERENCES = {"theme": "system", "list_density": "comfortable", "keyboard_shortcuts": "on"}


def login_page(client, **headers):
    return client.get(reverse("login"), **headers)


def language_of(response) -> str:
    """The page's language, which <html lang> and Content-Language must both name."""
    html = response.content.decode()
    lang = html[html.index("<html lang=") :].split('"')[1]
    assert response["Content-Language"] == lang
    return lang


def assert_korean(response):
    assert language_of(response) == "ko"
    html = response.content.decode()
    assert "<h1>로그인</h1>" in html or ">받은편지함<" in html


def assert_english(response):
    assert language_of(response) == "en"
    html = response.content.decode()
    assert "<h1>Log in</h1>" in html or ">Inbox<" in html


def test_a_korean_browser_gets_the_login_page_in_korean(client, db):
    response = login_page(client, **KOREAN_BROWSER)
    assert_korean(response)
    assert "Log in" not in response.content.decode()


def test_an_english_browser_gets_the_login_page_in_english(client, db):
    response = login_page(client, **ENGLISH_BROWSER)
    assert_english(response)
    assert "로그인" not in response.content.decode()


@pytest.mark.parametrize("accept", ["fr-FR,fr;q=0.9", ""])
def test_a_browser_asking_for_neither_language_gets_english(client, db, accept):
    assert_english(login_page(client, HTTP_ACCEPT_LANGUAGE=accept))


def test_the_login_page_has_a_language_switch_that_keeps_the_reader_there(client, db):
    page = client.get(reverse("login") + "?next=/settings/accounts/", **KOREAN_BROWSER)
    html = page.content.decode()
    assert f'action="{reverse("set_language")}"' in html
    assert '<input type="hidden" name="next" value="/auth/login/?next=/settings/accounts/">' in html
    assert '<label for="language-switch">' in html and ">언어</span>" in html
    assert '<option value="ko" lang="ko" selected>한국어</option>' in html
    assert '<option value="en" lang="en">English</option>' in html
    assert "언어 변경</button>" in html  # the button for browsers without JavaScript
    assert "data-submit-on-change" in html  # app.js submits on change and hides the button


def test_the_switch_works_for_anonymous_visitors_and_returns_to_the_login_page(client, db):
    next_url = reverse("login") + "?next=/settings/accounts/"
    response = client.post(
        reverse("set_language"), {"language": "en", "next": next_url}, **KOREAN_BROWSER
    )
    assert response.status_code == 302
    assert response.url == next_url
    assert response.cookies[COOKIE].value == "en"


def test_the_switchs_cookie_wins_over_the_browser(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert_english(login_page(client, **KOREAN_BROWSER))
    client.post(reverse("set_language"), {"language": "ko", "next": reverse("login")})
    assert_korean(login_page(client, **ENGLISH_BROWSER))


def test_the_switch_refuses_to_send_the_reader_to_another_site(client, db):
    response = client.post(
        reverse("set_language"), {"language": "ko", "next": "https://evil.example/"}
    )
    assert not response.get("Location", "").startswith("https://evil.example")


def test_the_preferences_page_offers_the_language_choice(alice_client, alice):
    html = alice_client.get(reverse("account_list"), **ENGLISH_BROWSER).content.decode()
    assert '<legend class="field-label">Language</legend>' in html
    assert '<input type="radio" name="language" value="" id="id_language_0" checked>' in html
    assert " Follow the browser</label>" in html
    # Each language is named in itself, marked with its lang for screen readers.
    assert '<input type="radio" name="language" value="ko" id="id_language_1">' in html
    assert '<span lang="ko">한국어</span></label>' in html
    assert '<input type="radio" name="language" value="en" id="id_language_2">' in html
    assert '<span lang="en">English</span></label>' in html


def test_the_preferences_page_names_the_choice_in_korean_too(alice_client, alice):
    html = alice_client.get(reverse("account_list"), **KOREAN_BROWSER).content.decode()
    assert '<legend class="field-label">언어</legend>' in html
    assert " 브라우저 설정 따르기</label>" in html
    assert '<span lang="en">English</span></label>' in html


def test_a_users_language_wins_over_the_cookie_and_the_browser(alice_client, alice):
    alice.language = "ko"
    alice.save()
    alice_client.cookies[COOKIE] = "en"
    response = alice_client.get(reverse("home"), **ENGLISH_BROWSER)
    assert_korean(response)
    assert "Inbox" not in response.content.decode()


def test_the_language_depends_on_the_cookies_as_well_as_the_browser(alice_client, alice):
    vary = alice_client.get(reverse("home"))["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary


def test_saving_a_language_says_so_in_that_language_and_sets_the_cookie(alice_client, alice):
    response = alice_client.post(
        reverse("preferences"), {**PREFERENCES, "language": "ko"}, **ENGLISH_BROWSER
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.language == "ko"
    assert response.cookies[COOKIE].value == "ko"
    assert response.cookies[COOKIE]["max-age"] == settings.LANGUAGE_COOKIE_AGE
    page = alice_client.get(response.url, **ENGLISH_BROWSER)
    assert_korean(page)
    assert "환경설정을 저장했습니다." in page.content.decode()


def test_the_preference_persists_across_sessions_and_browsers(client, alice):
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    client.post(reverse("preferences"), {**PREFERENCES, "language": "ko"})
    client.post(reverse("logout"))
    # Another browser, which has no language cookie and asks for English.
    elsewhere = Client()
    elsewhere.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert COOKIE not in elsewhere.cookies
    assert_korean(elsewhere.get(reverse("home"), **ENGLISH_BROWSER))
    # That browser now keeps the language for its login page too.
    assert elsewhere.cookies[COOKIE].value == "ko"
    elsewhere.post(reverse("logout"))
    assert_korean(login_page(elsewhere, **ENGLISH_BROWSER))


def test_after_logging_out_the_login_page_keeps_the_chosen_language(client, alice):
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    client.post(reverse("preferences"), {**PREFERENCES, "language": "ko"})
    client.post(reverse("logout"))
    assert_korean(login_page(client, **ENGLISH_BROWSER))


def test_following_the_browser_clears_the_cookie(alice_client, alice):
    alice.language = "ko"
    alice.save()
    alice_client.cookies[COOKIE] = "ko"
    response = alice_client.post(
        reverse("preferences"), {**PREFERENCES, "language": ""}, **ENGLISH_BROWSER
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.language == ""
    assert response.cookies[COOKIE].value == ""
    assert response.cookies[COOKIE]["max-age"] == 0
    page = alice_client.get(response.url, **ENGLISH_BROWSER)
    assert_english(page)
    assert "Preferences saved." in page.content.decode()
    assert_korean(alice_client.get(reverse("home"), **KOREAN_BROWSER))


def test_an_unknown_language_is_a_form_error(alice_client, alice):
    response = alice_client.post(
        reverse("preferences"), {**PREFERENCES, "language": "xx"}, **ENGLISH_BROWSER
    )
    assert response.status_code == 400
    assert "Language: Select a valid choice." in response.content.decode()
    alice.refresh_from_db()
    assert alice.language == ""
