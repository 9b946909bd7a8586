"""The destination policy (mailcore.destinations) and the sessions that enforce it."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from mailcore import destinations, failures, pop3, smtp
from mailcore.destinations import DestinationRefused, Policy

PUBLIC = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def resolving(*answers: list[str]):
    """A resolver returning each answer in turn (the last one from then on)."""
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return answers[min(len(calls), len(answers)) - 1]

    resolve.calls = calls
    return resolve


# Every class of address that is not public, with the category it is refused as.
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.5", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),
    ("fc00::1", "private"),
    ("169.254.10.10", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("100.64.0.1", "shared"),
    ("100.127.255.254", "shared"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.10", "reserved"),
    ("198.18.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("169.254.169.254", "metadata"),
    ("fd00:ec2::254", "metadata"),
    # IPv4 inside IPv6 is judged as the IPv4 it carries.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::a00:1", "private"),
    ("2002:7f00:1::", "loopback"),
]


@pytest.mark.parametrize(("address", "category"), REFUSED)
def test_every_non_public_literal_address_is_refused_with_its_category(address, category):
    with pytest.raises(DestinationRefused) as refused:
        destinations.check(address, 995, Policy())
    assert refused.value.reason == destinations.REASON_ADDRESS
    assert refused.value.category == category
    assert ipaddress.ip_address(refused.value.address) == ipaddress.ip_address(address)


@pytest.mark.parametrize(("address", "category"), REFUSED)
def test_every_non_public_resolved_address_is_refused(address, category):
    resolver = resolving([address])
    with pytest.raises(DestinationRefused) as refused:
        destinations.check("mail.example.com", 995, Policy(resolver=resolver))
    assert refused.value.category == category
    assert resolver.calls == [("mail.example.com", 995)]


@pytest.mark.parametrize(
    "spelling",
    ["2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.1", "017700000001", "[::1]"],
)
def test_numeric_spellings_of_loopback_are_read_as_addresses_and_refused(spelling):
    resolver = resolving([PUBLIC])  # never asked: a spelling is no name
    with pytest.raises(DestinationRefused) as refused:
        destinations.check(spelling, 995, Policy(resolver=resolver))
    assert refused.value.category == "loopback"
    assert resolver.calls == []


def test_one_private_address_among_public_ones_refuses_the_host():
    policy = Policy(resolver=resolving([PUBLIC, "10.0.0.7"]))
    with pytest.raises(DestinationRefused) as refused:
        destinations.check("mail.example.com", 995, policy)
    assert refused.value.address == "10.0.0.7"


def test_public_addresses_are_allowed_and_returned_in_order():
    policy = Policy(resolver=resolving([PUBLIC, PUBLIC_V6]))
    assert destinations.check("mail.example.com", 995, policy) == [PUBLIC, PUBLIC_V6]
    assert destinations.check(PUBLIC, 587, Policy()) == [PUBLIC]
    assert destinations.check("::ffff:93.184.215.14", 587, Policy()) == ["::ffff:5db8:d70e"]


@pytest.mark.parametrize("port", sorted(destinations.MAIL_PORTS))
def test_mail_ports_are_always_allowed(port):
    assert destinations.check(PUBLIC, port, Policy()) == [PUBLIC]


@pytest.mark.parametrize("port", [1, 22, 80, 443, 3306, 6379, 8080, 11211, 65535])
def test_other_ports_are_refused_unless_the_operator_allows_them(port):
    with pytest.raises(DestinationRefused) as refused:
        destinations.check(PUBLIC, port, Policy())
    assert refused.value.reason == destinations.REASON_PORT
    allowed = Policy.build(ports=f"{port}, 10000-10100")
    assert destinations.check(PUBLIC, port, allowed) == [PUBLIC]
    assert destinations.check(PUBLIC, 10050, allowed) == [PUBLIC]


def test_private_addresses_are_allowed_when_the_operator_allows_them_but_metadata_never():
    policy = Policy(allow_private=True)
    for address in ["127.0.0.1", "10.0.0.5", "::1", "fd12::1", "169.254.10.10"]:
        assert destinations.check(address, 995, policy) == [address]
    for address in ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"]:
        with pytest.raises(DestinationRefused) as refused:
            destinations.check(address, 995, policy)
        assert refused.value.category == "metadata"


def test_an_allow_list_admits_only_its_names_patterns_and_networks():
    policy = Policy.build(
        hosts="mail.example.com, *.corp.example, 203.0.113.0/24",
        resolver=resolving([PUBLIC]),
    )
    assert destinations.check("mail.example.com", 995, policy) == [PUBLIC]
    assert destinations.check("MAIL.Example.com.", 995, policy) == [PUBLIC]
    assert destinations.check("pop.eu.corp.example", 995, policy) == [PUBLIC]
    assert destinations.check("203.0.113.9", 995, policy) == ["203.0.113.9"]
    for host in ["corp.example", "evil.example.com", "mail.example.com.evil.test", "8.8.8.8"]:
        with pytest.raises(DestinationRefused) as refused:
            destinations.check(host, 995, policy)
        assert refused.value.reason == destinations.REASON_HOST


def test_a_listed_name_that_resolves_to_a_private_address_is_still_refused():
    policy = Policy.build(hosts="relay.corp.example", resolver=resolving(["10.1.2.3"]))
    with pytest.raises(DestinationRefused) as refused:
        destinations.check("relay.corp.example", 25, policy)
    assert refused.value.category == "private"


def test_a_listed_cidr_admits_its_private_addresses():
    policy = Policy.build(hosts="10.1.0.0/16, fd00:1::/32", resolver=resolving(["10.1.2.3"]))
    assert destinations.check("relay.corp.example", 25, policy) == ["10.1.2.3"]
    assert destinations.check("fd00:1::25", 25, policy) == ["fd00:1::25"]
    with pytest.raises(DestinationRefused):
        destinations.check("10.2.0.1", 25, policy)


def test_an_accounts_exception_admits_its_destination_on_any_port():
    policy = Policy.build(
        exceptions="relay.internal 10.9.0.0/24", resolver=resolving(["10.200.0.1"])
    )
    assert destinations.check("relay.internal", 2526, policy) == ["10.200.0.1"]
    assert destinations.check("10.9.0.4", 8025, policy) == ["10.9.0.4"]
    with pytest.raises(DestinationRefused):
        destinations.check("10.9.1.4", 25, policy)
    with pytest.raises(DestinationRefused):
        destinations.check("other.internal", 25, policy)


@pytest.mark.parametrize("bad", ["*", "exa mple!", "10.0.0.0/33", "http://x", "*.*.example"])
def test_unreadable_patterns_are_refused(bad):
    with pytest.raises(ValueError, match="not a host name"):
        destinations.parse_patterns([bad])


@pytest.mark.parametrize("bad", ["0", "70000", "25-", "abc", "100-50"])
def test_unreadable_ports_are_refused(bad):
    with pytest.raises(ValueError, match="port"):
        destinations.parse_ports(bad)


def test_a_name_that_does_not_resolve_raises_the_resolvers_error():
    with pytest.raises(socket.gaierror):
        destinations.check("mail.example.com", 995, Policy(resolver=resolving([])))


# --- the sessions check at connect time and connect to the checked address -------------


def test_pop3_connects_to_the_checked_address_not_to_a_new_lookup(fake_pop3):
    server = fake_pop3([b"Subject: x\r\n\r\nbody\r\n"])
    # "mail.invalid" resolves nowhere but through this resolver: connecting at all proves
    # the socket went to the address the policy checked.
    resolver = resolving([server.host])
    policy = Policy.build(allow_private=True, ports=[server.port], resolver=resolver)
    session = pop3.POP3Session(
        "mail.invalid", server.port, "none", server.username, server.password, policy=policy
    )
    with session as pop:
        assert pop.stat()[0] == 1
    assert resolver.calls == [("mail.invalid", server.port)]


def test_pop3_is_refused_before_connecting_and_the_error_is_permanent(fake_pop3):
    server = fake_pop3([])
    policy = Policy.build(ports=[server.port], resolver=resolving([server.host]))
    session = pop3.POP3Session(
        "mail.example.com", server.port, "none", server.username, server.password, policy=policy
    )
    with pytest.raises(pop3.POP3DestinationRefused) as refused, session:
        pass
    assert refused.value.kind == failures.DESTINATION_REFUSED
    assert refused.value.values["category"] == "loopback"
    assert refused.value.is_temporary is False
    assert server.commands == []


def test_dns_rebinding_between_the_form_and_the_connection_is_refused(fake_pop3, smtp_server):
    """A name that is public when the form checks it and loopback when a worker connects."""
    pop3_server, smtp_test_server = fake_pop3([]), smtp_server()
    for server in (pop3_server, smtp_test_server):
        resolver = resolving([PUBLIC], [server.host])
        policy = Policy.build(ports=[server.port], resolver=resolver)
        assert destinations.check("rebind.example", server.port, policy) == [PUBLIC]  # the form
        with pytest.raises((pop3.POP3DestinationRefused, smtp.SMTPDestinationRefused)) as refused:
            if server is pop3_server:
                with pop3.POP3Session(
                    "rebind.example", server.port, "none", "u", "p", policy=policy
                ):
                    pass
            else:
                smtp.send_message(
                    "rebind.example",
                    server.port,
                    "none",
                    envelope_from="a@example.com",
                    recipients=["b@example.com"],
                    data=b"Subject: x\r\n\r\nsecret body\r\n",
                    policy=policy,
                )
        assert refused.value.values["address"] == "127.0.0.1"
    assert pop3_server.commands == []
    assert smtp_test_server.events == []
    assert smtp_test_server.messages == []


def test_smtp_connects_to_the_checked_address_and_keeps_the_name_for_tls(smtp_server):
    server = smtp_server(tls="ssl")  # its certificate names "localhost" only
    policy = Policy.build(
        allow_private=True, ports=[server.port], resolver=resolving(["127.0.0.1"])
    )
    context = server.client_context()
    # The name goes to the certificate check, the socket to the checked address.
    client = smtp.open_session("localhost", server.port, "ssl", ssl_context=context, policy=policy)
    assert client.noop()[0] == 250
    client.quit()
    with pytest.raises(smtp.SMTPConnectionError) as wrong_name:
        smtp.open_session(
            "mail.invalid", server.port, "ssl", ssl_context=context, policy=policy
        ).close()
    assert wrong_name.value.kind == failures.TLS_CERTIFICATE


def test_smtp_refusal_is_permanent_and_nothing_is_sent(smtp_server):
    server = smtp_server()
    with pytest.raises(smtp.SMTPDestinationRefused) as refused:
        smtp.send_message(
            server.host,
            server.port,
            "none",
            envelope_from="a@example.com",
            recipients=["b@example.com"],
            data=b"Subject: x\r\n\r\nbody\r\n",
            policy=Policy.build(ports=[server.port]),
        )
    assert refused.value.is_temporary is False
    assert refused.value.values == {
        "host": "127.0.0.1",
        "port": server.port,
        "reason": "address",
        "address": "127.0.0.1",
        "category": "loopback",
    }
    assert server.events == []


def test_smtp_errors_after_the_greeting_say_so(smtp_server, unused_port):
    server = smtp_server()  # no STARTTLS
    with pytest.raises(smtp.SMTPError) as after:
        smtp.check_login(server.host, server.port, "starttls", "", "")
    assert after.value.greeted is True
    with pytest.raises(smtp.SMTPError) as closed:
        smtp.check_login("127.0.0.1", unused_port, "none", "", "")
    assert closed.value.greeted is False


def test_pop3_errors_after_the_greeting_say_so(fake_pop3, unused_port):
    server = fake_pop3([])  # offers no STLS
    with (
        pytest.raises(pop3.POP3Error) as after,
        pop3.POP3Session(server.host, server.port, "starttls", server.username, server.password),
    ):
        pass
    assert after.value.kind == failures.STARTTLS_UNSUPPORTED
    assert after.value.greeted is True
    with (
        pytest.raises(pop3.POP3Error) as closed,
        pop3.POP3Session("127.0.0.1", unused_port, "none", "u", "p"),
    ):
        pass
    assert closed.value.greeted is False
