"""The poller and the sender meet the destination policy at every connection.

Production settings (no private hosts, mail ports only, plus the test server's port) and a
test resolver: a refused poll or send records a clear error, fetches or sends nothing,
and the servers see no connection at all.
"""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse
from django.utils import translation

from accounts import destinations
from mailbox import ingest, outbox
from mailbox.models import Message, Outgoing, OutgoingStatus
from tests.conftest import make_account

PUBLIC = "93.184.215.14"
MESSAGE = b"From: a@example.com\r\nSubject: hello\r\n\r\nbody\r\n"


@pytest.fixture
def production(settings):
    settings.WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS = False
    settings.WEBMAIL_MAIL_PORTS = ""
    settings.WEBMAIL_MAIL_HOSTS = []
    return settings


@pytest.fixture
def resolver(monkeypatch):
    """names: host -> list of answers, returned in turn (the last one from then on)."""
    names: dict[str, list[list[str]]] = {}

    def resolve(host: str, port: int) -> list[str]:
        answers = names.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    monkeypatch.setattr(destinations, "resolver", resolve)
    resolve.names = names
    return resolve


def pop3_account(user, server, **fields):
    return make_account(
        user,
        **{
            "pop3_host": server.host,
            "pop3_port": server.port,
            "pop3_security": "none",
            "pop3_login": server.username,
            "pop3_password": server.password,
            **fields,
        },
    )


def smtp_account(user, server, **fields):
    return make_account(
        user,
        **{
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_security": "none",
            "smtp_login": "",
            "smtp_password": "",
            **fields,
        },
    )


def queue(account) -> Outgoing:
    outgoing = Outgoing.objects.create(
        owner=account.user, account=account, to="bob@example.test", subject="hi", body="secret"
    )
    outbox.queue_for_sending(outgoing)
    return outgoing


NON_PUBLIC = [
    ("127.0.0.2", "this computer (loopback)"),
    ("::1", "this computer (loopback)"),
    ("10.0.0.8", "a private network"),
    ("192.168.7.7", "a private network"),
    ("fd00::5", "a private network"),
    ("169.254.169.254", "a cloud metadata service"),
    ("fd00:ec2::254", "a cloud metadata service"),
    ("fe80::2", "a link-local network"),
    ("100.64.0.3", "a carrier-grade NAT network"),
    ("0.0.0.0", "an unspecified address"),
    ("224.0.0.9", "a multicast address"),
    ("240.0.0.1", "a reserved address range"),
    ("::ffff:10.9.8.7", "a private network"),
]
LOOPBACK_HOSTS = ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "::ffff:127.0.0.1"]


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_a_poll_of_a_loopback_server_is_refused_and_fetches_nothing(
    production, alice, fake_pop3, host
):
    server = fake_pop3([MESSAGE])
    production.WEBMAIL_MAIL_PORTS = str(server.port)
    account = pop3_account(alice, server, pop3_host=host)
    result = ingest.poll_account(account.pk)
    account.refresh_from_db()
    with translation.override("en"):
        assert "this webmail does not connect there" in account.last_poll_error_text
        assert "this computer (loopback)" in account.last_poll_error_text
    assert result.new == 0 and not Message.objects.filter(account=account).exists()
    assert server.commands == []
    assert account.auth_failures == 0  # no bad password: no back-off for it


@pytest.mark.parametrize(("address", "category"), NON_PUBLIC)
def test_a_poll_of_a_name_resolving_to_a_non_public_address_is_refused(
    production, resolver, alice, address, category
):
    resolver.names["pop.example.com"] = [[address]]
    account = make_account(alice, pop3_host="pop.example.com", pop3_port=995)
    ingest.poll_account(account.pk)
    account.refresh_from_db()
    with translation.override("en"):
        assert account.last_poll_error_text == (
            f"The server pop.example.com is at {address}, {category}: "
            "this webmail does not connect there."
        )


@pytest.mark.parametrize(("address", "category"), NON_PUBLIC)
def test_a_send_to_a_name_resolving_to_a_non_public_address_fails(
    production, resolver, alice, address, category
):
    resolver.names["smtp.example.com"] = [[address]]
    outgoing = queue(make_account(alice, smtp_host="smtp.example.com", smtp_port=587))
    outbox.deliver(outgoing.pk)
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    with translation.override("en"):
        assert outgoing.last_error_text == (
            f"The server smtp.example.com is at {address}, {category}: "
            "this webmail does not connect there."
        )


def test_a_name_rebound_to_loopback_after_the_form_is_refused_at_poll_time(
    production, resolver, alice_client, alice, fake_pop3
):
    server = fake_pop3([MESSAGE])
    production.WEBMAIL_MAIL_PORTS = str(server.port)
    # Public while the form checks it, loopback (where the server is) from then on.
    resolver.names["pop.rebind.example"] = [[PUBLIC], [server.host]]
    resolver.names["smtp.example.com"] = [[PUBLIC]]
    form = {
        "email": "alice@example.test",
        "pop3_host": "pop.rebind.example",
        "pop3_port": str(server.port),
        "pop3_security": "none",
        "pop3_login": server.username,
        "pop3_password": server.password,
        "smtp_host": "smtp.example.com",
        "smtp_port": "587",
        "smtp_security": "starttls",
        "poll_interval": "5",
        "enabled": "on",
    }
    assert alice_client.post(reverse("account_create"), form).status_code == 302
    account = alice.mail_accounts.get()
    ingest.poll_account(account.pk)
    account.refresh_from_db()
    with translation.override("en"):
        assert "is at 127.0.0.1, this computer (loopback)" in account.last_poll_error_text
    assert server.commands == []
    assert not Message.objects.filter(account=account).exists()


def test_an_accounts_exception_lets_its_poll_through(production, alice, fake_pop3):
    server = fake_pop3([MESSAGE])
    account = pop3_account(alice, server, allowed_destinations="127.0.0.0/8")
    result = ingest.poll_account(account.pk)
    assert result.error == "" and result.new == 1
    assert server.commands


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_a_send_to_a_loopback_server_fails_at_once_and_sends_nothing(
    production, alice, smtp_server, host
):
    server = smtp_server()
    production.WEBMAIL_MAIL_PORTS = str(server.port)
    outgoing = queue(smtp_account(alice, server, smtp_host=host))
    outbox.deliver(outgoing.pk)
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED  # not retried: the policy won't change
    assert outgoing.attempts == 1
    with translation.override("en"):
        assert "this webmail does not connect there" in outgoing.last_error_text
    assert server.events == [] and server.messages == []


def test_a_send_on_a_port_that_is_not_allowed_fails_with_the_reason(
    production, resolver, alice, smtp_server
):
    resolver.names["smtp.example.com"] = [[PUBLIC]]
    outgoing = queue(make_account(alice, smtp_host="smtp.example.com", smtp_port=8025))
    outbox.deliver(outgoing.pk)
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    with translation.override("en"):
        assert outgoing.last_error_text.startswith("Port 8025 is not allowed on this webmail.")


def test_a_name_rebound_to_loopback_is_refused_at_send_time(
    production, resolver, alice, smtp_server
):
    server = smtp_server()
    production.WEBMAIL_MAIL_PORTS = str(server.port)
    resolver.names["smtp.rebind.example"] = [[PUBLIC], [server.host]]
    account = smtp_account(alice, server, smtp_host="smtp.rebind.example")
    from mailcore import destinations as rules

    assert rules.check("smtp.rebind.example", server.port, destinations.policy(account)) == [PUBLIC]
    outgoing = queue(account)
    outbox.deliver(outgoing.pk)
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    assert server.events == [] and server.messages == []


def test_an_accounts_exception_lets_its_relay_send(production, alice, smtp_server):
    server = smtp_server()
    account = smtp_account(alice, server, allowed_destinations="127.0.0.1")
    outgoing = queue(account)
    assert outbox.deliver(outgoing.pk) == "sent"
    assert len(server.delivered) == 1
