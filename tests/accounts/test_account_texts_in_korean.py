"""The account pages, messages and admin speak the viewer's language (Korean or English),
and the connection-test report words each server's reply around it, never translating it."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import connection_report, outcomes
from tests.accounts.test_accounts import VALID_FORM
from tests.conftest import make_account

SERVER_REFUSES_LOGIN = "535 5.7.8 Authentication credentials invalid"


@pytest.fixture
def korean_client(alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    return alice_client


@pytest.fixture
def english_client(alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return alice_client


def test_account_form_errors_and_labels_are_korean_for_a_korean_browser(korean_client):
    form = {**VALID_FORM, "pop3_host": "bad host!", "pop3_password": ""}
    html = korean_client.post(reverse("account_create"), form).content.decode()
    assert "POP3 서버" in html
    assert "mail.example.com 같은 올바른 호스트 이름이나 IP 주소를 입력하세요." in html
    assert "POP3 서버 비밀번호를 입력하세요." in html
    assert "Enter a valid host name" not in html
    assert "Enter the password" not in html


def test_a_second_account_with_the_same_address_is_refused_in_korean(korean_client, alice):
    make_account(alice, email=VALID_FORM["email"])
    html = korean_client.post(reverse("account_create"), VALID_FORM).content.decode()
    assert "이 주소로 등록한 계정이 이미 있습니다." in html


def test_the_edit_form_says_in_korean_that_an_empty_password_keeps_the_saved_one(
    korean_client, alice_account
):
    html = korean_client.get(reverse("account_edit", args=[alice_account.pk])).content.decode()
    assert "저장된 비밀번호를 그대로 쓰려면 비워 두세요." in html
    assert "Leave empty to keep" not in html


def test_adding_an_account_is_confirmed_in_korean(korean_client):
    response = korean_client.post(reverse("account_create"), VALID_FORM, follow=True)
    assert "alice@example.test 계정을 추가했습니다." in response.content.decode()


def _test_connection(client, account, capture) -> str:
    """Press "Test connection" (its task runs at once) and return the settings page."""
    with capture(execute=True):
        client.post(reverse("account_test", args=[account.pk]))
    return client.get(reverse("account_list")).content.decode()


@pytest.fixture
def account_with_a_wrong_smtp_password(alice, fake_pop3, smtp_server):
    pop3 = fake_pop3([b"Subject: one\r\n\r\nx\r\n", b"Subject: two\r\n\r\ny\r\n"])
    smtp = smtp_server(auth={"alice": "s3cret"})
    return make_account(
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
        smtp_password="wrong",
    )


def test_the_connection_test_report_is_korean_around_the_servers_own_reply(
    korean_client, account_with_a_wrong_smtp_password, django_capture_on_commit_callbacks
):
    page = _test_connection(
        korean_client, account_with_a_wrong_smtp_password, django_capture_on_commit_callbacks
    )
    assert "alice@example.test 계정의 서버 연결을 테스트하고 있습니다…" in page
    assert "POP3: 로그인했습니다. 서버에 메일 2개" in page
    assert f"SMTP 연결 실패: {SERVER_REFUSES_LOGIN}" in page
    assert "logged in" not in page
    assert "failed:" not in page


def test_the_same_report_is_english_for_an_english_viewer(
    english_client, account_with_a_wrong_smtp_password, django_capture_on_commit_callbacks
):
    page = _test_connection(
        english_client, account_with_a_wrong_smtp_password, django_capture_on_commit_callbacks
    )
    assert "POP3: logged in; 2 messages" in page
    assert f"SMTP failed: {SERVER_REFUSES_LOGIN}" in page


def test_a_successful_smtp_login_quotes_the_servers_reply_in_korean(korean_client, alice):
    make_account(
        alice,
        last_test_at=timezone.now(),
        last_test_ok=True,
        last_test_result=connection_report.record(
            {"ok": True, "messages": 1, "size": 2048},
            {"ok": True, "auth": True, "reply": "235 2.7.0 Authentication successful"},
        ),
    )
    page = korean_client.get(reverse("account_list")).content.decode()
    assert "SMTP: 로그인했습니다. 서버 응답: 235 2.7.0 Authentication successful" in page


def test_a_report_stored_as_plain_text_before_is_shown_as_it_was(korean_client, alice):
    old = "POP3: logged in; 0 messages (0 bytes) on the server.\nSMTP failed: 421 busy"
    make_account(alice, last_test_at=timezone.now(), last_test_ok=False, last_test_result=old)
    page = korean_client.get(reverse("account_list")).content.decode()
    assert old in page


def test_only_records_of_ours_are_worded():
    wording = {"greeting": lambda name: f"Hello {name}"}
    assert outcomes.describe(outcomes.record("greeting", name="김지현"), wording) == "Hello 김지현"
    for stored in ["550 5.1.1 User unknown", "{not json", '{"code": "other"}', "[1, 2]", ""]:
        assert outcomes.describe(stored, wording) == stored


def test_the_admin_shows_mail_account_fields_and_the_report_in_korean(client, charlie, alice):
    account = make_account(
        alice,
        last_test_ok=False,
        last_test_result=connection_report.record(
            {"ok": False, "reply": "-ERR [AUTH] bad login"},
            {"ok": False, "reply": SERVER_REFUSES_LOGIN},
        ),
    )
    client.force_login(charlie)
    url = reverse("admin:accounts_mailaccount_change", args=[account.pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "웹메일 관리" in html
    assert "POP3 서버" in html
    assert "자체 서명 인증서 허용" in html
    assert "서버에 메일 남겨 두기" in html
    assert "POP3 연결 실패: -ERR [AUTH] bad login" in html
    assert f"SMTP 연결 실패: {SERVER_REFUSES_LOGIN}" in html
    assert "accept self-signed certificates" not in html.lower()
