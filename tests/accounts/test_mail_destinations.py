"""Where users' mail servers may be: the account form, the connection test and its limit.

The test settings allow loopback servers (the test servers live there); these tests turn
that off, as production is (`production`), and answer name lookups with a test resolver
(`resolver`), so no test depends on real DNS.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import destinations
from accounts.models import MailAccount
from tests.conftest import make_account

PUBLIC = "93.184.215.14"

FORM = {
    "email": "alice@example.test",
    "display_name": "Alice",
    "pop3_host": "pop.example.com",
    "pop3_port": "995",
    "pop3_security": "ssl",
    "pop3_login": "alice",
    "pop3_password": "pop-secret",
    "smtp_host": "smtp.example.com",
    "smtp_port": "587",
    "smtp_security": "starttls",
    "smtp_login": "alice",
    "smtp_password": "smtp-secret",
    "leave_on_server": "on",
    "poll_interval": "5",
    "enabled": "on",
}


@pytest.fixture
def production(settings):
    settings.WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS = False
    settings.WEBMAIL_MAIL_PORTS = ""
    settings.WEBMAIL_MAIL_HOSTS = []
    return settings


@pytest.fixture
def resolver(monkeypatch):
    """names: host -> addresses (a list, or a list of lists returned in turn)."""
    names: dict[str, list] = {}
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        answer = names.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if answer and isinstance(answer[0], list):
            return answer[0] if len(answer) == 1 else answer.pop(0)
        return answer

    monkeypatch.setattr(destinations, "resolver", resolve)
    resolve.names = names
    resolve.calls = calls
    names.update({"pop.example.com": [PUBLIC], "smtp.example.com": [PUBLIC]})
    return resolve


def field_errors(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


REFUSED_HOSTS = [
    ("127.0.0.1", "127.0.0.1", "this computer (loopback)"),
    ("2130706433", "127.0.0.1", "this computer (loopback)"),
    ("0177.0.0.1", "127.0.0.1", "this computer (loopback)"),
    ("0x7f.1", "127.0.0.1", "this computer (loopback)"),
    ("::1", "::1", "this computer (loopback)"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1", "this computer (loopback)"),
    ("10.0.0.5", "10.0.0.5", "a private network"),
    ("172.20.1.1", "172.20.1.1", "a private network"),
    ("192.168.0.10", "192.168.0.10", "a private network"),
    ("fd00::25", "fd00::25", "a private network"),
    ("169.254.1.1", "169.254.1.1", "a link-local network"),
    ("fe80::1", "fe80::1", "a link-local network"),
    ("224.0.0.251", "224.0.0.251", "a multicast address"),
    ("100.64.1.1", "100.64.1.1", "a carrier-grade NAT network"),
    ("0.0.0.0", "0.0.0.0", "an unspecified address"),
    ("240.1.2.3", "240.1.2.3", "a reserved address range"),
    ("169.254.169.254", "169.254.169.254", "a cloud metadata service"),
    ("fd00:ec2::254", "fd00:ec2::254", "a cloud metadata service"),
]


@pytest.mark.parametrize(("host", "address", "category"), REFUSED_HOSTS)
@pytest.mark.parametrize("proto", ["pop3", "smtp"])
def test_the_form_refuses_every_non_public_address_with_a_field_error(
    production, resolver, alice_client, alice, proto, host, address, category
):
    response = alice_client.post(reverse("account_create"), {**FORM, f"{proto}_host": host})
    assert response.status_code == 200
    assert field_errors(response, f"{proto}_host") == [
        f"The server {host} is at {address}, {category}: this webmail does not connect there."
    ]
    assert not MailAccount.objects.filter(user=alice).exists()


def test_the_form_refuses_a_name_that_resolves_to_a_private_address(
    production, resolver, alice_client, alice
):
    resolver.names["pop.corp.example"] = [PUBLIC, "10.1.2.3"]
    response = alice_client.post(
        reverse("account_create"), {**FORM, "pop3_host": "pop.corp.example"}
    )
    assert field_errors(response, "pop3_host") == [
        "The server pop.corp.example is at 10.1.2.3, a private network: "
        "this webmail does not connect there."
    ]
    assert not MailAccount.objects.exists()


def test_the_form_accepts_public_servers_and_names_that_do_not_resolve_yet(
    production, resolver, alice_client, alice
):
    response = alice_client.post(reverse("account_create"), FORM)
    assert response.status_code == 302
    assert resolver.calls == ["pop.example.com", "smtp.example.com"]
    # A name that does not resolve now is checked at every connection instead.
    form = {**FORM, "email": "b@example.test", "pop3_host": "new.example.net"}
    assert alice_client.post(reverse("account_create"), form).status_code == 302
    assert alice.mail_accounts.count() == 2


@pytest.mark.parametrize("port", ["22", "80", "3306", "6379", "8080"])
def test_the_form_refuses_a_port_that_is_not_a_mail_port(
    production, resolver, alice_client, alice, port
):
    response = alice_client.post(reverse("account_create"), {**FORM, "smtp_port": port})
    assert field_errors(response, "smtp_port") == [
        f"Port {port} is not allowed on this webmail. "
        "Use a mail port (25, 110, 143, 465, 587, 993, 995 or 2525)."
    ]
    production.WEBMAIL_MAIL_PORTS = f"{port}"
    assert (
        alice_client.post(reverse("account_create"), {**FORM, "smtp_port": port}).status_code == 302
    )


def test_the_form_refusal_is_in_korean_for_a_korean_reader(production, resolver, alice_client):
    response = alice_client.post(
        reverse("account_create"), {**FORM, "pop3_host": "127.0.0.1"}, HTTP_ACCEPT_LANGUAGE="ko"
    )
    assert field_errors(response, "pop3_host") == [
        "127.0.0.1 서버의 주소 127.0.0.1은(는) 이 컴퓨터(루프백)에 속합니다. "
        "이 웹메일은 그곳에 접속하지 않습니다."
    ]


def test_the_operators_allow_list_admits_only_its_hosts(production, resolver, alice_client, alice):
    production.WEBMAIL_MAIL_HOSTS = ["*.example.com", "198.51.100.0/24"]
    resolver.names["pop.elsewhere.net"] = [PUBLIC]
    response = alice_client.post(
        reverse("account_create"), {**FORM, "pop3_host": "pop.elsewhere.net"}
    )
    assert field_errors(response, "pop3_host") == [
        "The server pop.elsewhere.net is not on this webmail's list of allowed mail servers."
    ]
    form = {**FORM, "smtp_host": "198.51.100.7"}
    assert alice_client.post(reverse("account_create"), form).status_code == 302


def test_private_hosts_are_allowed_when_the_operator_allows_them(
    production, resolver, alice_client, alice
):
    production.WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS = True
    form = {**FORM, "pop3_host": "10.0.0.5", "smtp_host": "127.0.0.1"}
    assert alice_client.post(reverse("account_create"), form).status_code == 302
    form = {**FORM, "email": "m@example.test", "pop3_host": "169.254.169.254"}
    response = alice_client.post(reverse("account_create"), form)
    assert "a cloud metadata service" in field_errors(response, "pop3_host")[0]


def test_an_administrators_exception_lets_one_account_use_an_internal_relay(
    production, resolver, alice_client, alice, bob
):
    relay = make_account(alice, smtp_host="smtp.example.com", allowed_destinations="10.20.0.0/16")
    other = make_account(bob, smtp_host="smtp.example.com")
    form = {**FORM, "smtp_host": "10.20.0.25", "smtp_port": "2526", "pop3_password": ""}
    response = alice_client.post(reverse("account_edit", args=[relay.pk]), form)
    assert response.status_code == 302
    relay.refresh_from_db()
    assert (relay.smtp_host, relay.smtp_port) == ("10.20.0.25", 2526)
    # The user cannot set the exception: the form has no such field.
    form["allowed_destinations"] = "0.0.0.0/0"
    alice_client.post(reverse("account_edit", args=[relay.pk]), form)
    relay.refresh_from_db()
    assert relay.allowed_destinations == "10.20.0.0/16"
    # Another account without the exception is refused the same relay.
    alice_client.logout()
    alice_client.force_login(bob)
    response = alice_client.post(
        reverse("account_edit", args=[other.pk]), {**form, "smtp_port": "587"}
    )
    assert "a private network" in field_errors(response, "smtp_host")[0]
    response = alice_client.post(reverse("account_edit", args=[other.pk]), form)
    assert "Port 2526 is not allowed" in field_errors(response, "smtp_port")[0]


def test_the_exception_is_set_and_shown_in_the_admin(client, charlie, alice):
    account = make_account(alice)
    client.force_login(charlie)
    url = reverse("admin:accounts_mailaccount_change", args=[account.pk])
    html = client.get(url).content.decode()
    assert 'name="allowed_destinations"' in html
    assert "destination exceptions" in html.lower()
    page = client.get(reverse("admin:accounts_user_change", args=[alice.pk])).content.decode()
    assert "allowed_destinations" in page


def test_an_unreadable_exception_is_a_validation_error(alice):
    account = make_account(alice, allowed_destinations="not a host!")
    with pytest.raises(Exception, match="separated by commas or spaces"):
        account.full_clean()


# --- the connection test ----------------------------------------------------------------


def _test_connection(client, account, capture) -> str:
    with capture(execute=True):
        client.post(reverse("account_test", args=[account.pk]))
    account.refresh_from_db()
    return account.last_test_report


def test_the_connection_test_is_refused_by_the_policy_and_connects_nowhere(
    production,
    resolver,
    alice_client,
    alice,
    fake_pop3,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    pop3, smtp = fake_pop3([]), smtp_server()
    production.WEBMAIL_MAIL_PORTS = f"{pop3.port},{smtp.port}"
    resolver.names["pop.rebind.example"] = [pop3.host]
    account = make_account(
        alice,
        pop3_host="pop.rebind.example",
        pop3_port=pop3.port,
        pop3_security="none",
        smtp_host="0x7f.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
    )
    report = _test_connection(alice_client, account, django_capture_on_commit_callbacks)
    assert report == (
        "POP3 failed: The server pop.rebind.example is at 127.0.0.1, this computer "
        "(loopback): this webmail does not connect there.\n"
        "SMTP failed: The server 0x7f.0.0.1 is at 127.0.0.1, this computer (loopback): "
        "this webmail does not connect there."
    )
    assert pop3.commands == []
    assert smtp.events == []


@pytest.mark.parametrize(("host", "address", "category"), REFUSED_HOSTS)
def test_the_connection_test_refuses_every_non_public_address(
    production, alice_client, alice, host, address, category, django_capture_on_commit_callbacks
):
    account = make_account(alice, pop3_host=host, smtp_host=host)
    report = _test_connection(alice_client, account, django_capture_on_commit_callbacks)
    refusal = f"The server {host} is at {address}, {category}: this webmail does not connect there."
    assert report == f"POP3 failed: {refusal}\nSMTP failed: {refusal}"
    assert account.last_test_ok is False


def test_the_connection_test_reports_connected_and_greeted(
    alice_client, alice, fake_pop3, smtp_server, django_capture_on_commit_callbacks
):
    pop3, smtp = fake_pop3([b"Subject: x\r\n\r\ny\r\n"]), smtp_server()
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
        smtp_login="",
        smtp_password="",
    )
    report = _test_connection(alice_client, account, django_capture_on_commit_callbacks)
    assert report.startswith("POP3: logged in; 1 message")
    assert "SMTP: connected (no AUTH configured); the server said: 250" in report
    assert account.last_test_ok is True


def test_the_connection_test_reports_a_refused_login_with_the_servers_reply(
    alice_client, alice, fake_pop3, smtp_server, django_capture_on_commit_callbacks
):
    pop3, smtp = fake_pop3([]), smtp_server(auth={"alice": "right"})
    account = make_account(
        alice,
        pop3_host=pop3.host,
        pop3_port=pop3.port,
        pop3_security="none",
        pop3_login=pop3.username,
        pop3_password="wrong",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_login="alice",
        smtp_password="wrong",
    )
    report = _test_connection(alice_client, account, django_capture_on_commit_callbacks)
    pop3_line, smtp_line = report.splitlines()
    assert pop3_line.startswith("POP3 failed: -ERR")
    assert smtp_line.startswith("SMTP failed: 535")


class _NotMail(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: internal-admin/2.1\r\n\r\n")


@pytest.fixture
def not_a_mail_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _NotMail)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_closed_port_and_a_service_that_is_not_mail_read_the_same(
    alice_client, alice, unused_port, not_a_mail_server, django_capture_on_commit_callbacks
):
    closed = make_account(
        alice,
        pop3_port=unused_port,
        pop3_security="none",
        smtp_port=unused_port,
        smtp_security="none",
    )
    other = make_account(
        alice,
        email="other@example.test",
        pop3_port=not_a_mail_server,
        pop3_security="none",
        smtp_port=not_a_mail_server,
        smtp_security="none",
    )
    reports = []
    for account, port in [(closed, unused_port), (other, not_a_mail_server)]:
        report = _test_connection(alice_client, account, django_capture_on_commit_callbacks)
        answered = (
            f"No mail server answered at 127.0.0.1:{port}. "
            "Check the server name, the port and the security setting."
        )
        assert report == f"POP3 failed: {answered}\nSMTP failed: {answered}"
        reports.append(report.replace(str(port), "PORT"))
    assert reports[0] == reports[1]
    assert "HTTP" not in reports[1] and "internal-admin" not in reports[1]


# --- the limit on connection tests -------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    from accounts import views

    tests: list[int] = []
    monkeypatch.setattr(views.verify_connection, "delay_on_commit", tests.append)
    return tests


def test_connection_tests_are_limited_per_user_in_ten_minutes(
    settings, alice_client, alice, bob, queued
):
    settings.WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES = 3
    account = make_account(alice)
    url = reverse("account_test", args=[account.pk])
    for _ in range(3):
        alice_client.post(url)
    assert queued == [account.pk] * 3
    response = alice_client.post(url, follow=True)
    assert queued == [account.pk] * 3  # the fourth was not run
    assert (
        "You can test connections 3 times in 10 minutes. Try again in a few minutes."
        in response.content.decode()
    )
    # Bob has his own count.
    alice_client.logout()
    alice_client.force_login(bob)
    bob_account = make_account(bob)
    alice_client.post(reverse("account_test", args=[bob_account.pk]))
    assert queued[-1] == bob_account.pk
    # Ten minutes later Alice can test again.
    type(alice).objects.filter(pk=alice.pk).update(
        connection_tests_since=timezone.now() - timedelta(minutes=10, seconds=1)
    )
    alice_client.logout()
    alice_client.force_login(alice)
    alice_client.post(url)
    assert queued[-1] == account.pk and len(queued) == 5


def test_the_limit_message_is_in_korean(settings, alice_client, alice, queued):
    settings.WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES = 1
    account = make_account(alice)
    url = reverse("account_test", args=[account.pk])
    alice_client.post(url)
    response = alice_client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="ko")
    assert "연결 테스트는 10분에 1번까지 할 수 있습니다." in response.content.decode()
    assert queued == [account.pk]


def test_another_users_account_cannot_be_tested_nor_counted(client, bob, alice, queued):
    account = make_account(alice)
    client.force_login(bob)
    assert client.post(reverse("account_test", args=[account.pk])).status_code == 404
    assert queued == []
    bob.refresh_from_db()
    assert bob.connection_tests_count == 0
