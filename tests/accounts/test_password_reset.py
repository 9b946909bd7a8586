"""Password reset: absent without system mail; with it, throttled, the same answer for
known and unknown addresses, links valid at most an hour, sent through a real SMTP server."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.conftest import PASSWORD

_capture = None
RESET_URLS = [
    "/auth/password_reset/",
    "/auth/password_reset/done/",
    "/auth/reset/MQ/set-password/",
    "/auth/reset/done/",
]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def system_mail(settings, smtp_server):
    server = smtp_server()
    settings.WEBMAIL_SYSTEM_MAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "webmail@example.test"
    return server


@pytest.fixture(autouse=True)
def _committed(django_capture_on_commit_callbacks):
    """The mail is queued after commit: run those callbacks as a real commit would."""
    global _capture
    _capture = django_capture_on_commit_callbacks


def ask(client, email, **extra):
    with _capture(execute=True):
        return client.post(reverse("password_reset"), {"email": email}, **extra)


@pytest.mark.parametrize("url", RESET_URLS)
def test_without_system_mail_the_reset_pages_are_not_served(client, db, settings, url):
    settings.WEBMAIL_SYSTEM_MAIL = False
    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "alice@example.test"}).status_code == 404


def test_without_system_mail_the_login_page_does_not_link_to_reset(client, db, settings):
    settings.WEBMAIL_SYSTEM_MAIL = False
    assert "/auth/password_reset/" not in client.get(reverse("login")).content.decode()


def test_with_system_mail_the_login_page_links_to_reset(client, db, system_mail):
    assert 'href="/auth/password_reset/"' in client.get(reverse("login")).content.decode()


def test_nothing_is_sent_before_the_request_commits(client, alice, system_mail):
    client.post(reverse("password_reset"), {"email": "alice@example.test"})
    assert system_mail.messages == []  # the test's transaction never commits


def test_the_mail_speaks_the_language_of_the_request(client, alice, system_mail):
    ask(client, "alice@example.test", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9")
    [message] = system_mail.delivered
    text = parse_text(message.data)
    assert "비밀번호" in text


def parse_text(data: bytes) -> str:
    from email import policy
    from email.parser import BytesParser

    return BytesParser(policy=policy.default).parsebytes(data).get_body(("plain",)).get_content()


def test_settings_never_allow_a_link_longer_than_an_hour(settings):
    assert settings.PASSWORD_RESET_TIMEOUT <= 3600


def test_a_reset_mail_goes_out_and_its_link_sets_a_new_password(client, alice, system_mail):
    response = ask(client, "alice@example.test")
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    [message] = system_mail.delivered
    assert message.rcpt_tos == ["alice@example.test"]
    link = re.search(rb"https?://[^/\s]+(/auth/reset/\S+/)", message.data).group(1).decode()
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    new = "a brand new long passphrase 7"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new, "new_password2": new},
    )
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new)


def test_known_and_unknown_addresses_get_the_same_answer(client, alice, system_mail):
    known = ask(client, "alice@example.test")
    unknown = ask(client, "nobody@example.test")
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert [m.rcpt_tos for m in system_mail.delivered] == [["alice@example.test"]]


def test_a_link_older_than_the_timeout_is_refused(client, alice, system_mail, settings):
    ask(client, "alice@example.test")
    link = re.search(rb"(/auth/reset/\S+/)", system_mail.delivered[0].data).group(1).decode()
    from django.contrib.auth.tokens import default_token_generator

    real_now = default_token_generator._now
    default_token_generator._now = lambda: real_now() + timedelta(seconds=3601)
    try:
        page = client.get(link, follow=True)
    finally:
        default_token_generator._now = real_now
    assert "This link has expired or was already used" in page.content.decode()
    assert alice.check_password(PASSWORD)


def test_requests_for_one_address_are_throttled_with_the_same_answer(
    client, alice, system_mail, settings
):
    settings.WEBMAIL_PASSWORD_RESET_PER_ADDRESS = 2
    answers = [ask(client, "alice@example.test", REMOTE_ADDR=f"192.0.2.{i}") for i in range(4)]
    assert [a.status_code for a in answers] == [302] * 4
    assert {a.url for a in answers} == {reverse("password_reset_done")}
    assert len(system_mail.delivered) == 2


def test_requests_from_one_client_are_throttled(client, alice, system_mail, settings):
    settings.WEBMAIL_PASSWORD_RESET_PER_CLIENT = 3
    for i in range(3):
        assert ask(client, f"x{i}@example.test", REMOTE_ADDR="203.0.113.5").status_code == 302
    refused = ask(client, "alice@example.test", REMOTE_ADDR="203.0.113.5")
    assert refused.status_code == 429
    assert system_mail.delivered == []
    assert ask(client, "alice@example.test", REMOTE_ADDR="198.51.100.5").status_code == 302
    assert len(system_mail.delivered) == 1
