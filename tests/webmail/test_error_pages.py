"""Error pages (400, 403, the CSRF failure, 404, 429, 500) in the reader's language.

Tests run with DEBUG false, as production does, so these are the pages users see. Each
one uses the design system's stylesheet, names the error, and leads back home.
"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
HEADINGS = {
    400: {"ko": "잘못된 요청입니다", "en": "Bad request"},
    403: {"ko": "접근 권한이 없습니다", "en": "Access denied"},
    "csrf": {"ko": "양식을 보내지 못했습니다", "en": "The form could not be sent"},
    404: {"ko": "페이지를 찾을 수 없습니다", "en": "Page not found"},
    429: {"ko": "로그인 실패 횟수 초과", "en": "Too many failed logins"},
    500: {"ko": "문제가 발생했습니다", "en": "Something went wrong"},
}
BACK_HOME = {"ko": "받은편지함으로 돌아가기", "en": "Back to the inbox"}


def assert_error_page(response, status, kind, lang):
    html = response.content.decode()
    assert response.status_code == status
    assert f'<html lang="{lang}"' in html
    assert response["Content-Language"] == lang
    assert f'<h1 id="error-title">{HEADINGS[kind][lang]}</h1>' in html
    assert f"<title>{HEADINGS[kind][lang]} · " in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    other = "en" if lang == "ko" else "ko"
    assert HEADINGS[kind][other] not in html
    return html


@pytest.mark.parametrize("lang, headers", [("ko", KOREAN), ("en", ENGLISH)])
def test_an_unknown_address_is_a_404_page_in_the_readers_language(client, db, lang, headers):
    html = assert_error_page(client.get("/no/such/page/", **headers), 404, 404, lang)
    assert f'<a class="btn btn-primary" href="/">{BACK_HOME[lang]}</a>' in html


def test_a_404_inside_the_app_speaks_the_users_language(alice_client, alice):
    alice.language = "ko"
    alice.save()
    response = alice_client.get(reverse("folder", args=["spam"]), **ENGLISH)
    assert_error_page(response, 404, 404, "ko")


def test_a_404_keeps_the_users_theme(alice_client, alice):
    alice.theme = "dark"
    alice.save()
    html = alice_client.get("/no/such/page/").content.decode()
    assert 'data-theme="dark"' in html


@pytest.mark.parametrize("lang, headers", [("ko", KOREAN), ("en", ENGLISH)])
def test_a_request_for_another_host_is_a_400_page(client, db, lang, headers):
    response = client.get(reverse("login"), HTTP_HOST="evil.example", **headers)
    assert_error_page(response, 400, 400, lang)


@pytest.mark.urls("tests.webmail.error_urls")
@pytest.mark.parametrize("lang, headers", [("ko", KOREAN), ("en", ENGLISH)])
def test_a_forbidden_page_is_a_403_page(client, db, lang, headers):
    assert_error_page(client.get("/test-errors/403/", **headers), 403, 403, lang)


@pytest.mark.parametrize("lang, headers", [("ko", KOREAN), ("en", ENGLISH)])
def test_a_form_without_its_csrf_cookie_explains_what_to_allow(db, lang, headers):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "a", "password": "b"}, **headers)
    html = assert_error_page(response, 403, "csrf", lang)
    expected = {"ko": "이 사이트의 쿠키를 허용한", "en": "Allow cookies for this site"}
    assert expected[lang] in html


@pytest.mark.parametrize("lang, headers", [("ko", KOREAN), ("en", ENGLISH)])
def test_a_form_with_an_expired_token_says_to_reload(db, lang, headers):
    strict = Client(enforce_csrf_checks=True)
    strict.get(reverse("login"))  # sets the CSRF cookie
    response = strict.post(
        reverse("login"),
        {"username": "a", "password": "b", "csrfmiddlewaretoken": "x" * 64},
        **headers,
    )
    html = assert_error_page(response, 403, "csrf", lang)
    expected = {"ko": "보안 확인이 만료되었습니다", "en": "security check has expired"}
    assert expected[lang] in html


@pytest.mark.parametrize(
    "lang, headers, wait",
    [
        ("ko", KOREAN, "약 15분 후에 다시 시도할 수 있습니다."),
        ("en", ENGLISH, "You can try again in about 15 minutes."),
    ],
)
def test_a_locked_out_login_is_a_429_page_that_says_how_long(
    client, alice, settings, lang, headers, wait
):
    settings.AXES_COOLOFF_TIME = 0.25
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"}, **headers)
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, **headers)
    html = assert_error_page(response, 429, 429, lang)
    assert wait in html
    assert f'href="{reverse("login")}"' in html


@pytest.mark.urls("tests.webmail.error_urls")
@pytest.mark.parametrize("lang, headers", [("ko", KOREAN), ("en", ENGLISH)])
def test_a_crash_is_a_500_page_in_the_readers_language(db, lang, headers):
    client = Client(raise_request_exception=False)
    html = assert_error_page(client.get("/test-errors/500/", **headers), 500, 500, lang)
    assert f'<a class="btn btn-primary" href="/">{BACK_HOME[lang]}</a>' in html
    assert "a bug" not in html


@pytest.mark.urls("tests.webmail.error_urls")
def test_a_crash_speaks_the_signed_in_users_language(alice, settings):
    alice.language = "ko"
    alice.save()
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    assert_error_page(client.get("/test-errors/500/", **ENGLISH), 500, 500, "ko")
