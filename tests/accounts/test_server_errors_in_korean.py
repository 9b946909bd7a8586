"""Why a check or a connection test failed reads in the viewer's language (Korean or
English), while whatever the server itself replied is quoted exactly as it was sent.

The failures are real: a closed loopback port, a server whose certificate is not
trusted, servers that offer no STARTTLS or no AUTH, a server refusing the password.
"""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import mail_errors
from mailbox import ingest
from mailcore import failures
from mailcore.pop3 import POP3AuthError
from tests.conftest import make_account


@pytest.fixture
def korean_client(alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    return alice_client


@pytest.fixture
def english_client(alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return alice_client


@pytest.fixture
def account_on_a_closed_port(alice, unused_port, db):
    account = make_account(
        alice, pop3_host="127.0.0.1", pop3_port=unused_port, pop3_security="none"
    )
    ingest.poll_account(account.pk)
    return account


def account_page(client) -> str:
    return client.get(reverse("account_list")).content.decode()


def poll_status_errors(client) -> list[str]:
    return [a["error"] for a in client.get(reverse("poll_status")).json()["accounts"]]


def test_every_failure_mailcore_reports_has_words():
    assert set(mail_errors.WORDING) == failures.ALL


def test_a_refused_connection_is_explained_in_korean_on_the_account_page(
    korean_client, account_on_a_closed_port, unused_port
):
    page = account_page(korean_client)
    assert f"서버(127.0.0.1:{unused_port})가 연결을 거부했습니다." in page
    assert "refused" not in page.lower()


def test_a_refused_connection_is_explained_in_english_for_an_english_viewer(
    english_client, account_on_a_closed_port, unused_port
):
    page = account_page(english_client)
    assert f"The server 127.0.0.1:{unused_port} refused the connection." in page


def test_check_mail_status_words_the_failure_in_the_viewers_language(
    alice_client, account_on_a_closed_port, unused_port
):
    korean = alice_client.get(reverse("poll_status"), HTTP_ACCEPT_LANGUAGE="ko").json()
    english = alice_client.get(reverse("poll_status"), HTTP_ACCEPT_LANGUAGE="en").json()
    assert [a["error"] for a in korean["accounts"]] == [
        f"서버(127.0.0.1:{unused_port})가 연결을 거부했습니다."
    ]
    assert [a["error"] for a in english["accounts"]] == [
        f"The server 127.0.0.1:{unused_port} refused the connection."
    ]


def test_the_inbox_notice_words_the_failure_in_korean(
    korean_client, account_on_a_closed_port, unused_port
):
    page = korean_client.get(reverse("home"), follow=True).content.decode()
    assert f"서버(127.0.0.1:{unused_port})가 연결을 거부했습니다." in page


def test_a_refused_login_shows_the_pop3_servers_reply_verbatim(korean_client, alice, fake_pop3):
    server = fake_pop3([])
    account = make_account(
        alice,
        pop3_host=server.host,
        pop3_port=server.port,
        pop3_security="none",
        pop3_login=server.username,
        pop3_password="not-the-password",
    )
    ingest.poll_account(account.pk)
    assert poll_status_errors(korean_client) == ["-ERR [AUTH] bad login"]
    assert "-ERR [AUTH] bad login" in account_page(korean_client)


def test_an_error_stored_as_plain_text_before_is_shown_as_it_was(korean_client, alice):
    make_account(alice, last_poll_at=timezone.now(), last_poll_error="Connection refused")
    assert "Connection refused" in account_page(korean_client)
    assert poll_status_errors(korean_client) == ["Connection refused"]


def test_a_server_reply_that_looks_like_one_of_our_records_stays_the_servers_reply():
    reply = json.dumps({"code": failures.TIMEOUT, "host": "evil.example"})
    stored = mail_errors.record(POP3AuthError(reply))
    assert mail_errors.describe(stored) == reply


def _test_connection(client, account, capture) -> str:
    with capture(execute=True):
        client.post(reverse("account_test", args=[account.pk]))
    return account_page(client)


@pytest.fixture
def account_without_starttls_or_a_trusted_certificate(alice, fake_pop3, smtp_server):
    pop3 = fake_pop3([])  # offers no STLS
    smtp = smtp_server(tls="ssl")  # a self-signed certificate
    return make_account(
        alice,
        pop3_host=pop3.host,
        pop3_port=pop3.port,
        pop3_security="starttls",
        pop3_login=pop3.username,
        pop3_password=pop3.password,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="ssl",
        smtp_login="",
        smtp_password="",
    )


def test_the_connection_test_explains_starttls_and_certificate_failures_in_korean(
    korean_client,
    account_without_starttls_or_a_trusted_certificate,
    django_capture_on_commit_callbacks,
):
    account = account_without_starttls_or_a_trusted_certificate
    page = _test_connection(korean_client, account, django_capture_on_commit_callbacks)
    # The POP3 server greeted us: what went wrong after is explained.
    assert "POP3 연결 실패: 서버가 STARTTLS를 지원하지 않습니다." in page
    # Implicit TLS fails before any greeting: the test only says no mail server answered
    # (accounts.connection's fixed outcomes), not what kind of service is there.
    where = f"{account.smtp_host}:{account.smtp_port}"
    assert f"SMTP 연결 실패: {where}에서 응답한 메일 서버가 없습니다." in page
    assert "signed certificate" not in page
    assert "STLS not supported" not in page
    assert "TLS with" not in page


def test_the_same_failures_read_in_english_for_an_english_viewer(
    english_client,
    account_without_starttls_or_a_trusted_certificate,
    django_capture_on_commit_callbacks,
):
    account = account_without_starttls_or_a_trusted_certificate
    page = _test_connection(english_client, account, django_capture_on_commit_callbacks)
    assert "POP3 failed: The server does not offer STARTTLS." in page
    assert f"SMTP failed: No mail server answered at {account.smtp_host}:" in page


def test_an_smtp_server_without_auth_is_explained_in_korean(
    korean_client, alice, fake_pop3, smtp_server, django_capture_on_commit_callbacks
):
    pop3, smtp = fake_pop3([]), smtp_server()  # this SMTP server offers no AUTH
    account = make_account(
        alice,
        pop3_host=pop3.host,
        pop3_port=pop3.port,
        pop3_security="none",
        pop3_login=pop3.username,
        pop3_password=pop3.password,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_login="alice",
        smtp_password="s3cret",
    )
    page = _test_connection(korean_client, account, django_capture_on_commit_callbacks)
    assert "SMTP 연결 실패: 서버가 로그인(AUTH)을 지원하지 않습니다." in page
    assert "does not offer" not in page


def test_the_admin_words_the_last_check_error_in_korean(client, charlie, account_on_a_closed_port):
    client.force_login(charlie)
    port = account_on_a_closed_port.pop3_port
    for url in [
        reverse("admin:accounts_mailaccount_changelist"),
        reverse("admin:accounts_mailaccount_change", args=[account_on_a_closed_port.pk]),
    ]:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert f"서버(127.0.0.1:{port})가 연결을 거부했습니다." in html
