"""Kept SMTP sessions (mailcore.smtp_sessions): consecutive messages to one server share a
session, and a failure on a kept session never sends a message twice or loses one."""

import time

import pytest

from mailcore import destinations, smtp, smtp_sessions


@pytest.fixture
def cache():
    sessions = smtp_sessions.SessionCache(idle_seconds=30)
    yield sessions
    sessions.close_all()


def message(n: int) -> bytes:
    return f"Subject: message {n}\r\nMessage-ID: <{n}@example.test>\r\n\r\nbody {n}\r\n".encode()


def send(proxy, cache, n: int, **options):
    return smtp.send_message(
        proxy.host,
        proxy.port,
        "none",
        envelope_from="alice@example.test",
        recipients=["bob@example.test"],
        data=message(n),
        sessions=cache,
        **options,
    )


def connections(proxy) -> int:
    return proxy.steps_seen.count("greeting")


def copies(server) -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    for received in server.delivered:
        found[received.data] = found.get(received.data, 0) + 1
    return found


def test_consecutive_messages_share_one_session_which_is_closed_once_idle(proxied):
    server, proxy = proxied
    cache = smtp_sessions.SessionCache(idle_seconds=0.3)
    events = []

    for n in range(3):
        send(proxy, cache, n, on_step=events.append)

    assert connections(proxy) == 1
    assert events == [
        "connect",
        "ehlo",
        "mail",
        "rcpt",
        "data",
        "dot",
        *["mail", "rcpt", "data", "dot"] * 2,
    ]
    assert [m.data for m in server.delivered] == [message(n) for n in range(3)]
    assert server.verbs().count("QUIT") == 0 and cache.idle() == 1
    deadline = time.monotonic() + 5
    while server.verbs().count("QUIT") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.verbs().count("QUIT") == 1 and cache.idle() == 0  # closed politely

    send(proxy, cache, 3)
    assert connections(proxy) == 2


def test_without_a_cache_every_message_has_its_own_session(proxied):
    server, proxy = proxied
    for n in range(2):
        send(proxy, None, n)
    assert connections(proxy) == 2 and server.verbs().count("QUIT") == 2


def test_a_cut_at_mail_on_a_kept_session_sends_over_a_new_one_at_once(proxied, cache):
    # What a server that dropped the idle session looks like: nothing of the message
    # had reached it, so a new session sends it now, once.
    server, proxy = proxied
    send(proxy, cache, 1)
    proxy.cut("mail")
    marks = []

    outcome = send(proxy, cache, 2, before_dot=lambda: marks.append(1))

    assert outcome.accepted == ["bob@example.test"] and marks == [1]
    assert connections(proxy) == 2
    assert copies(server) == {message(1): 1, message(2): 1}


def test_a_421_to_mail_on_a_kept_session_sends_over_a_new_one_at_once(proxied, cache):
    server, proxy = proxied
    send(proxy, cache, 1)
    proxy.reply("mail", "421 4.4.2 Idle too long, closing")

    send(proxy, cache, 2)

    assert connections(proxy) == 2
    assert copies(server) == {message(1): 1, message(2): 1}


def test_a_421_to_mail_on_a_new_session_is_an_error_as_before(proxied, cache):
    server, proxy = proxied
    proxy.reply("mail", "421 4.3.2 Shutting down")
    with pytest.raises(smtp.SMTPSendError) as raised:
        send(proxy, cache, 1)
    assert raised.value.is_temporary and raised.value.step == "mail"
    assert connections(proxy) == 1 and server.delivered == [] and cache.idle() == 0


@pytest.mark.parametrize("step", ["rcpt", "data"])
def test_a_cut_later_in_a_kept_session_is_retried_by_the_caller_and_sent_once(proxied, cache, step):
    server, proxy = proxied
    send(proxy, cache, 1)
    proxy.cut(step)
    marks = []

    with pytest.raises(smtp.SMTPConnectionError) as raised:
        send(proxy, cache, 2, before_dot=lambda: marks.append(1))
    assert not isinstance(raised.value, smtp.SMTPDeliveryUnknown)
    assert raised.value.is_temporary and raised.value.step == step
    assert marks == [] and cache.idle() == 0  # a failed session is never kept
    assert copies(server) == {message(1): 1}

    send(proxy, cache, 2)  # the outbox's retry
    assert copies(server) == {message(1): 1, message(2): 1}


def test_a_cut_after_the_dot_on_a_kept_session_is_delivery_unknown_with_one_copy(proxied, cache):
    server, proxy = proxied
    send(proxy, cache, 1)
    proxy.cut_after_reply("dot")

    with pytest.raises(smtp.SMTPDeliveryUnknown):
        send(proxy, cache, 2)

    assert copies(server) == {message(1): 1, message(2): 1}  # the server has it, once
    assert cache.idle() == 0
    send(proxy, cache, 3)  # the next message goes over a new session
    assert connections(proxy) == 2


def test_a_refused_recipient_keeps_nothing_but_the_server_answer(proxied, cache):
    server, proxy = proxied
    proxy.reply("rcpt", "550 5.1.1 No such user")
    outcome = send(proxy, cache, 1)
    assert outcome.accepted == [] and cache.idle() == 0
    assert server.verbs()[-1] == "QUIT"


def test_sessions_are_kept_apart_by_login_server_and_destination_policy():
    def key(**changes):
        values = {
            "host": "smtp.example.com",
            "port": 587,
            "security": "starttls",
            "username": "alice",
            "password": "secret",
            "verify_tls": True,
            "local_hostname": None,
            "policy": destinations.Policy.build(),
        }
        values.update(changes)
        host, port, security, username, password = (
            values.pop(name) for name in ("host", "port", "security", "username", "password")
        )
        return smtp_sessions.session_key(host, port, security, username, password, **values)

    assert key() == key(host="SMTP.example.com")
    for change in [
        {"host": "smtp.example.org"},
        {"port": 465},
        {"security": "ssl"},
        {"username": "bob"},
        {"password": "other"},
        {"verify_tls": False},
        {"local_hostname": "client.example"},
        {"policy": destinations.Policy.build(allow_private=True)},
    ]:
        assert key(**change) != key(), change
    assert "secret" not in repr(key())


def test_a_forked_child_leaves_its_parents_sessions_alone(proxied, cache, monkeypatch):
    server, proxy = proxied
    send(proxy, cache, 1)
    parent = smtp_sessions.os.getpid()
    monkeypatch.setattr(smtp_sessions.os, "getpid", lambda: parent + 1)

    assert cache.idle() == 0  # the child does not see the parent's session
    send(proxy, cache, 2)  # nor use it: a session of its own

    assert connections(proxy) == 2
    assert server.verbs().count("QUIT") == 0  # the parent's session was not closed
    assert copies(server) == {message(1): 1, message(2): 1}
