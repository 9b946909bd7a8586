"""devmail, the development mail server: SMTP with smtplib, POP3 with poplib and raw sockets.

Every test runs its own devmail in-process on free loopback ports over a temporary
directory (see `make_devmail`). POP3 behaviour shared with Dovecot is also checked,
against both servers, in test_pop3_conformance.py.
"""

from __future__ import annotations

import json
import poplib
import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from devmail import DevMail, DevMailError, UserStore, parse_hostport
from mailcore.pop3 import POP3AuthError, POP3Session
from mailcore.security import Security

LOOPBACK = "127.0.0.1"
ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "s3cret pass"  # a space on purpose: PASS takes the rest of the line

MESSAGE = (
    b"From: Carol <carol@elsewhere.test>\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: dots\r\n"
    b"\r\n"
    b"first line\r\n"
    b".\r\n"
    b"..\r\n"
    b".leading dot\r\n"
    b"last line\r\n"
)


@pytest.fixture
def make_devmail(tmp_path: Path) -> Iterator[Callable[..., DevMail]]:
    """Factory: a started devmail with alice and bob, stopped at teardown."""
    servers: list[DevMail] = []

    def make(root: Path | None = None, **options) -> DevMail:
        options.setdefault("smtp", (LOOPBACK, 0))
        options.setdefault("pop3", (LOOPBACK, 0))
        options.setdefault("pop3_timeout", 10.0)
        server = DevMail(root or tmp_path / "devmail", "example.test", **options)
        server.add_user(ALICE, PASSWORD)
        server.add_user(BOB, PASSWORD)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def devmail(make_devmail) -> DevMail:
    return make_devmail()


def smtp(server: DevMail) -> smtplib.SMTP:
    client = smtplib.SMTP(*server.smtp_address, timeout=5)
    client.ehlo("client.test")
    return client


def pop3(server: DevMail) -> poplib.POP3:
    return poplib.POP3(*server.pop3_address, timeout=5)


def login(server: DevMail, user: str = ALICE) -> poplib.POP3:
    client = pop3(server)
    client.user(user)
    client.pass_(PASSWORD)
    return client


def session(server: DevMail, user: str = ALICE) -> POP3Session:
    host, port = server.pop3_address
    return POP3Session(host, port, Security.NONE, user, PASSWORD, timeout=5)


def without_received(stored: bytes) -> bytes:
    first, rest = stored.split(b"\r\n", 1)
    assert first.startswith(b"Received: from client.test ([127.0.0.1]) by example.test")
    return rest


class Wire:
    """A raw POP3 connection, to see the bytes on the wire."""

    def __init__(self, server: DevMail) -> None:
        self.sock = socket.create_connection(server.pop3_address, timeout=5)
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        return self.file.readline()

    def multiline(self) -> bytes:
        """Everything up to and including the terminating ".\\r\\n"."""
        data = b""
        while not (data.endswith(b"\r\n.\r\n") or data == b".\r\n"):
            line = self.line()
            assert line, f"EOF after {data!r}"
            data += line
        return data

    def close(self) -> None:
        self.file.close()
        self.sock.close()


# --------------------------------------------------------------------------- SMTP


def test_delivery_to_two_local_recipients_stores_one_copy_each(devmail):
    with smtp(devmail) as client:
        refused = client.sendmail("carol@elsewhere.test", [ALICE, BOB, ALICE.upper()], MESSAGE)
    assert refused == {}
    assert devmail.message_count(ALICE) == 1  # named twice, one copy
    assert devmail.message_count(BOB) == 1
    for address in (ALICE, BOB):
        (stored,) = devmail.messages(address)
        assert without_received(stored) == MESSAGE
        assert f"for <{address}>;".encode() in stored.split(b"\r\n", 1)[0]


def test_relaying_is_refused_at_rcpt(devmail):
    with smtp(devmail) as client:
        assert client.mail("alice@example.test")[0] == 250
        assert client.rcpt("someone@elsewhere.test") == (550, b"5.7.1 Relaying denied")
        assert client.rcpt(BOB)[0] == 250
        client.data(MESSAGE)
    assert devmail.message_count(BOB) == 1
    assert not (devmail.root / "someone@elsewhere.test").exists()


def test_unknown_local_user_is_refused(devmail):
    with smtp(devmail) as client:
        client.mail("carol@elsewhere.test")
        assert client.rcpt("nobody@example.test") == (550, b"5.1.1 User unknown")
        assert client.rcpt("no-domain") == (550, b"5.1.1 User unknown")


def test_users_added_while_running_work_at_once(devmail):
    UserStore(devmail.root).add("dave@example.test", "pw")  # as `devmail --add-user` would
    with smtp(devmail) as client:
        client.sendmail("carol@elsewhere.test", ["dave@example.test"], MESSAGE)
    with POP3Session(*devmail.pop3_address, "none", "dave@example.test", "pw") as pop:
        assert pop.stat()[0] == 1


def test_auth_required_plain_and_login(make_devmail):
    server = make_devmail(auth_required=True)
    with smtp(server) as client:
        assert "PLAIN" in client.esmtp_features["auth"]
        assert "LOGIN" in client.esmtp_features["auth"]
        code, reply = client.mail("alice@example.test")
        assert (code, reply) == (530, b"5.7.0 Authentication required")
        with pytest.raises(smtplib.SMTPAuthenticationError) as excinfo:
            client.login(ALICE, "wrong")
        assert excinfo.value.smtp_code == 535
    for mechanism in ("PLAIN", "LOGIN"):
        with smtp(server) as client:
            client.user, client.password = ALICE, PASSWORD
            authenticator = getattr(client, f"auth_{mechanism.lower()}")
            assert client.auth(mechanism, authenticator)[0] == 235
            client.sendmail(ALICE, [BOB], MESSAGE)
    assert server.message_count(BOB) == 2
    assert b"with ESMTPA" in server.messages(BOB)[0]


def test_auth_is_optional_by_default(devmail):
    with smtp(devmail) as client:
        assert client.login(BOB, PASSWORD)[0] == 235
        client.sendmail(BOB, [ALICE], MESSAGE)
    assert devmail.message_count(ALICE) == 1


def test_size_limit_is_advertised_and_enforced(make_devmail):
    server = make_devmail(max_size=1000)
    big = MESSAGE + b"x" * 78 + b"\r\n"
    big *= 20
    with smtp(server) as client:
        assert client.esmtp_features["size"] == "1000"
        # smtplib declares SIZE= in MAIL FROM: refused there.
        with pytest.raises(smtplib.SMTPSenderRefused) as excinfo:
            client.sendmail("carol@elsewhere.test", [ALICE], big)
        assert (excinfo.value.smtp_code, excinfo.value.smtp_error) == (
            552,
            b"5.3.4 Message too big",
        )
        # Without SIZE= the data is read and then refused.
        client.rset()
        client.mail("carol@elsewhere.test")
        client.rcpt(ALICE)
        assert client.data(big) == (552, b"5.3.4 Message too big")
        # The session goes on.
        client.sendmail("carol@elsewhere.test", [ALICE], MESSAGE)
    assert server.message_count(ALICE) == 1


def test_lines_starting_with_a_dot_arrive_intact(devmail):
    with smtp(devmail) as client:
        client.sendmail("carol@elsewhere.test", [ALICE], MESSAGE)
        # smtplib sends bytes as is, stuffing dots after bare LFs too: those are
        # line ends for devmail as well. (No final LF: smtplib would add a CRLF.)
        client.sendmail("carol@elsewhere.test", [BOB], MESSAGE.replace(b"\r\n", b"\n")[:-1])
    for address in (ALICE, BOB):
        (stored,) = devmail.messages(address)
        assert without_received(stored) == MESSAGE


def test_refuses_non_loopback_addresses(tmp_path):
    for host in ("0.0.0.0", "192.0.2.1", "example.com", "::"):
        with pytest.raises(DevMailError, match="loopback"):
            DevMail(tmp_path, smtp=(host, 0), pop3=(LOOPBACK, 0))
        with pytest.raises(DevMailError, match="loopback"):
            DevMail(tmp_path, smtp=(LOOPBACK, 0), pop3=(host, 0))
    DevMail(tmp_path, smtp=("0.0.0.0", 0), pop3=(LOOPBACK, 0), allow_any_address=True)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        DevMail(tmp_path, smtp=(host, 0), pop3=(host, 0))
    assert parse_hostport("[::1]:25") == ("::1", 25)
    assert parse_hostport("127.0.0.1:2525") == ("127.0.0.1", 2525)
    with pytest.raises(ValueError):
        parse_hostport("127.0.0.1")


# --------------------------------------------------------------------------- POP3


def test_greeting_and_capabilities(devmail):
    client = pop3(devmail)
    assert client.getwelcome() == b"+OK devmail ready"
    assert set(client.capa()) >= {"USER", "UIDL", "TOP", "RESP-CODES", "PIPELINING"}
    client.quit()


def test_mailbox_commands_need_a_login(devmail):
    client = pop3(devmail)
    for command in (client.stat, client.list, client.uidl, lambda: client.retr(1)):
        with pytest.raises(poplib.error_proto, match=r"^b'-ERR"):
            command()
    with pytest.raises(poplib.error_proto, match="Send USER first"):
        client.pass_(PASSWORD)
    client.quit()


def test_wrong_password_and_unknown_user(devmail):
    for user, password in ((ALICE, "wrong"), ("nobody@example.test", PASSWORD)):
        client = pop3(devmail)
        assert client.user(user).startswith(b"+OK")  # USER reveals nothing
        with pytest.raises(poplib.error_proto) as excinfo:
            client.pass_(password)
        assert excinfo.value.args[0] == b"-ERR [AUTH] Authentication failed"
        client.quit()
    with pytest.raises(POP3AuthError) as excinfo:
        POP3Session(*devmail.pop3_address, "none", ALICE, "wrong").__enter__()
    assert excinfo.value.response_code == "AUTH"


def test_empty_mailbox(devmail):
    client = login(devmail)
    assert client._shortcmd("STAT") == b"+OK 0 0"
    assert client.list()[1] == []
    assert client.uidl()[1] == []
    with pytest.raises(poplib.error_proto, match="No such message"):
        client.retr(1)
    client.quit()


def test_stat_list_uidl_and_stable_uids(devmail):
    first = devmail.deliver(ALICE, MESSAGE)
    second = devmail.deliver(ALICE, b"Subject: two\n\nbody\n")
    assert second.data == b"Subject: two\r\n\r\nbody\r\n"
    sizes = [len(first.data), len(second.data)]
    client = login(devmail)
    assert client.stat() == (2, sum(sizes))
    assert client.list()[1] == [f"1 {sizes[0]}".encode(), f"2 {sizes[1]}".encode()]
    assert client.list(2) == f"+OK 2 {sizes[1]}".encode()
    uids = client.uidl()[1]
    assert uids == [f"1 {first.uid}".encode(), f"2 {second.uid}".encode()]
    assert client.uidl(1) == f"+OK 1 {first.uid}".encode()
    client.quit()
    client = login(devmail)
    assert client.uidl()[1] == uids
    client.quit()


def test_retr_is_byte_exact_and_dot_stuffed_on_the_wire(devmail):
    stored = devmail.deliver(ALICE, MESSAGE)
    wire = Wire(devmail)
    wire.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode())
    assert wire.line().startswith(b"+OK")
    assert wire.line().startswith(b"+OK")
    wire.send(b"RETR 1\r\n")
    assert wire.line() == f"+OK {len(MESSAGE)} octets\r\n".encode()
    body = wire.multiline()
    assert body == MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\n"
    assert b"\r\n..\r\n" in body and b"\r\n...\r\n" in body and b"\r\n..leading" in body
    wire.close()
    with session(devmail) as pop:
        assert pop.retr(1) == MESSAGE == stored.data


def test_top(devmail):
    devmail.deliver(ALICE, MESSAGE)
    headers = MESSAGE[: MESSAGE.index(b"\r\n\r\n") + 4]
    with session(devmail) as pop:
        assert pop.top(1, 0) == headers
        assert pop.top(1, 2) == headers + b"first line\r\n.\r\n"
        assert pop.top(1, 1000) == MESSAGE


def test_dele_then_quit_removes(devmail):
    devmail.deliver(ALICE, b"Subject: one\r\n\r\n1\r\n")
    keep = devmail.deliver(ALICE, b"Subject: two\r\n\r\n2\r\n")
    client = login(devmail)
    assert client.dele(1) == b"+OK message 1 deleted"
    assert client.stat() == (1, len(keep.data))
    assert client.list()[1] == [f"2 {len(keep.data)}".encode()]
    assert client.uidl()[1] == [f"2 {keep.uid}".encode()]
    for command in (lambda: client.retr(1), lambda: client.dele(1), lambda: client.list(1)):
        with pytest.raises(poplib.error_proto) as excinfo:
            command()
        assert excinfo.value.args[0] == b"-ERR message 1 already deleted"
    assert devmail.message_count(ALICE) == 2  # nothing happens before QUIT
    assert client.quit().startswith(b"+OK")
    assert devmail.message_count(ALICE) == 1
    with session(devmail) as pop:
        assert [e.uid for e in pop.listing()] == [keep.uid]


def test_dele_then_dropped_connection_keeps(devmail):
    devmail.deliver(ALICE, MESSAGE)
    client = login(devmail)
    client.dele(1)
    client.close()  # no QUIT
    deadline = time.monotonic() + 5
    while True:  # the server notices the drop asynchronously
        try:
            with session(devmail) as pop:
                assert pop.stat()[0] == 1
            break
        except POP3AuthError:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert devmail.message_count(ALICE) == 1


def test_dele_then_rset_then_quit_keeps(devmail):
    devmail.deliver(ALICE, MESSAGE)
    client = login(devmail)
    client.dele(1)
    assert client.rset() == f"+OK maildrop has 1 messages ({len(MESSAGE)} octets)".encode()
    assert client.retr(1)[2] == len(MESSAGE)
    client.quit()
    assert devmail.message_count(ALICE) == 1


def test_second_session_gets_in_use(devmail):
    first = login(devmail)
    other = login(devmail, BOB)  # other mailboxes are not affected
    second = pop3(devmail)
    second.user(ALICE)
    with pytest.raises(poplib.error_proto) as excinfo:
        second.pass_(PASSWORD)
    assert excinfo.value.args[0] == b"-ERR [IN-USE] Mailbox locked"
    first.quit()
    second.user(ALICE)
    assert second.pass_(PASSWORD).startswith(b"+OK")
    second.quit()
    other.quit()


def test_pipelined_commands_are_answered_in_order(devmail):
    devmail.deliver(ALICE, MESSAGE)
    wire = Wire(devmail)
    wire.send(f"USER {ALICE}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nNOOP\r\nQUIT\r\n".encode())
    assert wire.line() == b"+OK\r\n"
    assert wire.line().startswith(b"+OK Logged in")
    assert wire.line() == f"+OK 1 {len(MESSAGE)}\r\n".encode()
    assert wire.line().startswith(b"+OK 1 messages")
    assert wire.multiline() == f"1 {len(MESSAGE)}\r\n.\r\n".encode()
    assert wire.line() == b"+OK\r\n"
    assert wire.line().startswith(b"+OK devmail signing off")
    assert wire.line() == b""
    wire.close()


def test_long_command_lines_are_refused(devmail):
    wire = Wire(devmail)
    wire.send(b"USER " + b"a" * 5000 + b"\r\nNOOP\r\n")
    assert wire.line() == b"-ERR Command line too long (max 512 octets)\r\n"
    assert wire.line() == b"+OK\r\n"
    wire.close()


def test_idle_sessions_are_closed(make_devmail):
    server = make_devmail(pop3_timeout=0.2)
    wire = Wire(server)
    assert wire.line() == b"-ERR Disconnected for inactivity\r\n"
    assert wire.line() == b""
    wire.close()


def test_stopping_with_a_session_open_deletes_nothing(make_devmail, tmp_path, caplog):
    root = tmp_path / "stop"
    server = make_devmail(root)
    server.deliver(ALICE, MESSAGE)
    client = login(server)
    client.dele(1)
    server.stop()
    assert client.sock.recv(10) == b""  # the server hung up
    client.close()
    assert server.message_count(ALICE) == 1
    with session(make_devmail(root)) as pop:  # and the mailbox is not left locked
        assert pop.stat()[0] == 1
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_mail_survives_a_restart(make_devmail, tmp_path):
    root = tmp_path / "persist"
    server = make_devmail(root)
    with smtp(server) as client:
        client.sendmail("carol@elsewhere.test", [ALICE], MESSAGE)
    server.deliver(ALICE, b"Subject: second\r\n\r\n")
    with session(server) as pop:
        before = [(e.uid, pop.retr(e.number)) for e in pop.listing()]
    server.stop()
    again = make_devmail(root)
    with session(again) as pop:
        after = [(e.uid, pop.retr(e.number)) for e in pop.listing()]
    assert after == before
    assert len(after) == 2
    assert after[1][1] == b"Subject: second\r\n\r\n"  # arrival order kept


# --------------------------------------------------------------------------- command


def test_command_add_user_writes_users_json(tmp_path):
    root = tmp_path / "dm"
    call_command("devmail", "--add-user", "Erin@Example.test", "pw1", "--root", str(root))
    users_file = root / "users.json"
    assert json.loads(users_file.read_text()) == {"erin@example.test": "pw1"}
    assert users_file.stat().st_mode & 0o077 == 0
    assert (root / "erin@example.test").is_dir()
    call_command("devmail", "--add-user", "erin@example.test", "pw2", "--root", str(root))
    assert json.loads(users_file.read_text()) == {"erin@example.test": "pw2"}
    assert UserStore(root).check("ERIN@example.test", "pw2")
    with pytest.raises(CommandError):
        call_command("devmail", "--add-user", "../etc@x", "pw", "--root", str(root))


def test_command_refuses_non_loopback_and_says_it_is_for_development(tmp_path):
    with pytest.raises(CommandError, match="loopback"):
        call_command("devmail", "--smtp", "0.0.0.0:2525", "--root", str(tmp_path))
    from mailbox.management.commands.devmail import Command

    assert "DEVELOPMENT" in Command.help and "NOT a production MTA" in Command.help
