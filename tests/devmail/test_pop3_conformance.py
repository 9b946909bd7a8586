"""The same POP3 client scenarios against devmail and a real Dovecot.

devmail stands in for a POP3 server in development; running our client's
scenarios against both keeps devmail from drifting from real server behaviour.
`pop3_target` yields a Target for each server; the Dovecot variant is marked
`dovecot` (skipped without dovecot-pop3d, required in CI).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from devmail import DevMail
from mailcore.pop3 import POP3AuthError, POP3Session
from mailcore.security import Security

LOOPBACK = "127.0.0.1"

MESSAGES = [
    b"From: a@example.test\r\nTo: b@example.test\r\nSubject: one\r\n\r\nhello\r\nworld\r\n",
    b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n...\r\nend\r\n",
    b"Subject: lf only\n\nline 1\nline 2\nline 3\n",
]


@dataclass
class Target:
    host: str
    port: int
    user: str
    password: str
    deliver: Callable[[bytes], bytes]  # stores a message, returns what RETR must return
    count: Callable[[], int]  # messages on the server now

    def session(self, password: str | None = None) -> POP3Session:
        return POP3Session(
            self.host,
            self.port,
            Security.NONE,
            self.user,
            self.password if password is None else password,
            timeout=10,
        )


@pytest.fixture(params=["devmail", pytest.param("dovecot", marks=pytest.mark.dovecot)])
def pop3_target(request, tmp_path) -> Iterator[Target]:
    if request.param == "dovecot":
        server = request.getfixturevalue("dovecot")
        user = request.getfixturevalue("pop3_user")
        yield Target(
            server.host,
            server.port,
            user.name,
            user.password,
            lambda raw: user.deliver(raw).wire,
            user.server_message_count,
        )
        return
    devmail = DevMail(tmp_path / "devmail", smtp=(LOOPBACK, 0), pop3=(LOOPBACK, 0))
    address, password = "user@example.test", secrets.token_urlsafe(12)
    devmail.add_user(address, password)
    devmail.start()
    try:
        host, port = devmail.pop3_address
        yield Target(
            host,
            port,
            address,
            password,
            lambda raw: devmail.deliver(address, raw).data,
            lambda: devmail.message_count(address),
        )
    finally:
        devmail.stop()


def deliver_all(target: Target) -> list[bytes]:
    return [target.deliver(raw) for raw in MESSAGES]


def test_login_and_empty_maildrop(pop3_target):
    with pop3_target.session() as pop:
        assert pop.welcome.startswith("+OK")
        assert {"USER", "UIDL", "TOP"} <= set(pop.capabilities)
        assert pop.stat() == (0, 0)
        assert pop.listing() == []


def test_listing_sizes_uids_and_retr(pop3_target):
    wires = deliver_all(pop3_target)
    with pop3_target.session() as pop:
        listing = pop.listing()
        assert [e.number for e in listing] == [1, 2, 3]
        assert pop.stat() == (3, sum(e.size for e in listing))
        uids = [e.uid for e in listing]
        assert None not in uids and len(set(uids)) == 3
        for entry, wire in zip(listing, wires, strict=True):
            data = pop.retr(entry.number)
            assert data == wire
            assert entry.size == len(data)
    with pop3_target.session() as pop:
        assert [e.uid for e in pop.listing()] == uids  # stable across sessions


def headers_of(wire: bytes) -> bytes:
    return wire[: wire.index(b"\r\n\r\n") + 4]


def test_top_headers(pop3_target):
    wires = deliver_all(pop3_target)
    with pop3_target.session() as pop:
        for number, wire in enumerate(wires, 1):
            assert pop.top(number, 0) == headers_of(wire)
        assert pop.top(1, 1) == headers_of(wires[0]) + b"hello\r\n"
        assert pop.top(2, 2) == headers_of(wires[1]) + b".\r\n..\r\n"


def test_dele_then_quit_removes(pop3_target):
    deliver_all(pop3_target)
    with pop3_target.session() as pop:
        kept = [e.uid for e in pop.listing()][1:]
        pop.dele(1)
        assert pop.stat()[0] == 2
        pop.quit()
    assert pop3_target.count() == 2
    with pop3_target.session() as pop:
        assert [e.uid for e in pop.listing()] == kept


def test_dele_without_quit_keeps(pop3_target):
    deliver_all(pop3_target)
    with pop3_target.session() as pop:
        pop.dele(1)
        pop.dele(2)
    # Leaving the block drops the connection without QUIT.
    assert pop3_target.count() == 3
    with pop3_target.session() as pop:
        assert pop.stat()[0] == 3


def test_dele_rset_quit_keeps(pop3_target):
    deliver_all(pop3_target)
    with pop3_target.session() as pop:
        pop.dele(1)
        pop.rset()
        assert pop.stat()[0] == 3
        pop.quit()
    assert pop3_target.count() == 3


def test_wrong_password(pop3_target):
    with pytest.raises(POP3AuthError) as excinfo:
        with pop3_target.session(password="not-" + pop3_target.password):
            pass
    assert excinfo.value.reply.startswith("-ERR")
    assert excinfo.value.response_code == "AUTH"
