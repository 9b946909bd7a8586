"""mailcore.pop3 against a real Dovecot, a fake POP3 server and a fault proxy."""

from __future__ import annotations

import errno
import socket
import ssl

import pytest

from mailcore import failures
from mailcore.pop3 import (
    ListingEntry,
    POP3AuthError,
    POP3ConnectionError,
    POP3ProtocolError,
    POP3Session,
    _read_multiline,
)
from mailcore.security import Security
from testkit.pop3_servers import CutProxy, DovecotServer, DovecotUser, FakePOP3Server

TIMEOUT = 5.0

MESSAGE = (
    b"From: Alice <alice@example.org>\n"
    b"To: Bob <bob@example.org>\n"
    b"Subject: Hello\n"
    b"\n"
    b"First line.\n"
    b"Second line.\n"
)


def session(
    server: DovecotServer, user: DovecotUser, security: Security = Security.NONE, **kwargs
) -> POP3Session:
    port = server.ssl_port if security is Security.SSL else server.port
    kwargs.setdefault("timeout", TIMEOUT)
    if security is not Security.NONE and "verify_tls" not in kwargs:
        kwargs.setdefault("ssl_context", server.ssl_context())
    return POP3Session(server.host, port, security, user.name, user.password, **kwargs)


def fake_session(server: FakePOP3Server, **kwargs) -> POP3Session:
    return POP3Session(
        server.host,
        server.port,
        Security.NONE,
        server.username,
        kwargs.pop("password", server.password),
        timeout=TIMEOUT,
        **kwargs,
    )


def is_tls(pop: POP3Session) -> bool:
    return isinstance(pop._conn.sock, ssl.SSLSocket)


@pytest.mark.dovecot
class TestDovecot:
    def test_plain_login_retr_is_byte_exact_crlf(self, dovecot, pop3_user):
        delivered = pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user) as pop:
            assert not is_tls(pop)
            raw = pop.retr(1)
        assert raw == MESSAGE.replace(b"\n", b"\r\n")
        assert raw == delivered.wire

    def test_capabilities_from_capa(self, dovecot, pop3_user):
        with session(dovecot, pop3_user) as pop:
            assert "UIDL" in pop.capabilities
            assert "TOP" in pop.capabilities
            assert "STLS" in pop.capabilities  # as announced before login

    def test_starttls_login_with_fixture_ca(self, dovecot, pop3_user):
        delivered = pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user, Security.STARTTLS) as pop:
            assert is_tls(pop)
            assert pop.retr(1) == delivered.wire

    def test_ssl_login_with_fixture_ca(self, dovecot, pop3_user):
        delivered = pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user, Security.SSL) as pop:
            assert is_tls(pop)
            assert pop.stat() == (1, len(delivered.wire))

    @pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
    def test_verify_tls_rejects_untrusted_self_signed_cert(self, dovecot, pop3_user, security):
        pop = session(dovecot, pop3_user, security, verify_tls=True)
        with pytest.raises(POP3ConnectionError) as excinfo, pop:
            pass
        error = excinfo.value
        assert (error.kind, error.reply) == (failures.TLS_CERTIFICATE, "")
        assert "self-signed" in error.values["detail"]
        assert (error.values["host"], error.values["port"]) == (dovecot.host, pop.port)
        assert str(error).startswith("TLS certificate verification failed: ")

    @pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
    def test_verify_tls_false_accepts_self_signed_cert(self, dovecot, pop3_user, security):
        pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user, security, verify_tls=False) as pop:
            assert is_tls(pop)
            assert pop.stat()[0] == 1

    def test_wrong_password_is_auth_error_with_server_reply(self, dovecot, pop3_user):
        wrong = "Wr0ng-" + pop3_user.password
        pop = POP3Session(
            dovecot.host, dovecot.port, "none", pop3_user.name, wrong, timeout=TIMEOUT
        )
        with pytest.raises(POP3AuthError) as excinfo, pop:
            pass
        assert excinfo.value.reply == "-ERR [AUTH] Authentication failed."
        assert excinfo.value.kind == failures.REPLY
        assert wrong not in str(excinfo.value)
        assert wrong not in repr(excinfo.value.args)
        assert wrong not in repr(pop)

    def test_apop_login_when_greeting_has_timestamp(self, dovecot, pop3_user):
        pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user, use_apop=True) as pop:
            assert "<" in pop.welcome
            assert pop.stat()[0] == 1
        assert f"user=<{pop3_user.name}>, method=APOP" in dovecot.log_tail(200)

    def test_closed_port_is_connection_error(self, dovecot, pop3_user, unused_port):
        pop = POP3Session(
            "127.0.0.1", unused_port, Security.NONE, pop3_user.name, pop3_user.password
        )
        with pytest.raises(POP3ConnectionError) as excinfo, pop:
            pass
        error = excinfo.value
        assert (error.kind, error.reply, str(error)) == (
            failures.CONNECTION_REFUSED,
            "",
            "Connection refused",
        )
        assert error.values == {"host": "127.0.0.1", "port": unused_port}

    def test_dele_then_quit_removes(self, dovecot, pop3_user):
        pop3_user.deliver(MESSAGE)
        pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user) as pop:
            pop.dele(1)
            assert pop.quit().startswith("+OK")
        assert pop3_user.server_message_count() == 1
        with session(dovecot, pop3_user) as pop:
            assert pop.stat()[0] == 1

    def test_dele_then_close_without_quit_keeps(self, dovecot, pop3_user):
        pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user) as pop:
            pop.dele(1)
            pop.close()
        with session(dovecot, pop3_user) as pop:
            pop.dele(1)  # leaving the block without quit() closes without QUIT too
        with pytest.raises(RuntimeError), session(dovecot, pop3_user) as pop:
            pop.dele(1)
            raise RuntimeError("boom")
        assert pop3_user.server_message_count() == 1
        with session(dovecot, pop3_user) as pop:
            assert pop.stat()[0] == 1

    def test_dele_then_rset_then_quit_keeps(self, dovecot, pop3_user):
        pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user) as pop:
            pop.dele(1)
            pop.noop()
            pop.rset()
            pop.quit()
        assert pop3_user.server_message_count() == 1

    def test_retr_100kb_line_and_lines_starting_with_dots(self, dovecot, pop3_user):
        long_line = b"x" * 100_000
        body = b"Subject: dots\n\n.\n..\n.leading dot\n...three\n" + long_line + b"\n.\n"
        first = pop3_user.deliver(body)
        second = pop3_user.deliver(b".starts with a dot\n\nbody\n")
        with session(dovecot, pop3_user) as pop:
            assert pop.retr(1) == first.wire
            assert pop.retr(2) == second.wire == b".starts with a dot\r\n\r\nbody\r\n"
        assert long_line + b"\r\n.\r\n" in first.wire

    def test_top_returns_headers_and_n_lines(self, dovecot, pop3_user):
        pop3_user.deliver(MESSAGE)
        with session(dovecot, pop3_user) as pop:
            assert pop.top(1, 0) == MESSAGE.split(b"\n\n")[0].replace(b"\n", b"\r\n") + b"\r\n\r\n"
            assert pop.top(1, 1).endswith(b"\r\n\r\nFirst line.\r\n")

    def test_listing_has_sizes_and_uids(self, dovecot, pop3_user):
        delivered = [pop3_user.deliver(MESSAGE + b"extra\n" * n) for n in range(3)]
        with session(dovecot, pop3_user) as pop:
            listing = pop.listing()
            assert pop.stat() == (3, sum(len(d.wire) for d in delivered))
        assert listing == [
            ListingEntry(number=n, size=len(d.wire), uid=d.uid) for n, d in enumerate(delivered, 1)
        ]

    def test_empty_maildrop_listing(self, dovecot, pop3_user):
        with session(dovecot, pop3_user) as pop:
            assert pop.listing() == []
            assert pop.stat() == (0, 0)

    def test_retr_missing_message_is_protocol_error(self, dovecot, pop3_user):
        with session(dovecot, pop3_user) as pop:
            with pytest.raises(POP3ProtocolError) as excinfo:
                pop.retr(7)
            assert excinfo.value.reply.startswith("-ERR")
            pop.noop()  # the session goes on

    @pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
    def test_connection_cut_mid_retr_is_connection_error(
        self, dovecot, pop3_user, cut_proxy, reset
    ):
        pop3_user.deliver(b"Subject: big\n\n" + (b"y" * 998 + b"\n") * 300)
        pop3_user.deliver(MESSAGE)
        proxy: CutProxy = cut_proxy(dovecot.host, dovecot.port, 100_000, reset=reset)
        pop = POP3Session(
            proxy.host, proxy.port, "none", pop3_user.name, pop3_user.password, timeout=TIMEOUT
        )
        with pop:
            pop.dele(2)
            with pytest.raises(POP3ConnectionError):
                pop.retr(1)
            with pytest.raises(POP3ConnectionError):
                pop.noop()  # the session is closed after a connection error
        assert proxy.cuts == 1
        assert pop3_user.server_message_count() == 2  # no QUIT reached the server: DELE undone


class TestFakeServer:
    def test_no_uidl_support_gives_uid_none(self, fake_pop3):
        server = fake_pop3([b"a\r\n", b"bb\r\n"], uidls=None)
        with fake_session(server) as pop:
            assert "UIDL" not in pop.capabilities
            assert pop.listing() == [ListingEntry(1, 3, None), ListingEntry(2, 4, None)]
        assert "UIDL" in server.commands

    def test_duplicate_uidls_keep_first_and_mark_later_none(self, fake_pop3):
        uidls = ["a", "b", "a", "c", "b"]
        server = fake_pop3([b"m\r\n"] * 5, uidls=uidls)
        with fake_session(server) as pop:
            uids = [entry.uid for entry in pop.listing()]
        assert uids == ["a", "b", None, "c", None]

    def test_long_uidls_kept_as_is(self, fake_pop3):
        uidls = ["U" * 200, "v" * 199 + "!"]
        server = fake_pop3([b"m\r\n", b"n\r\n"], uidls=uidls)
        with fake_session(server) as pop:
            assert [entry.uid for entry in pop.listing()] == uidls

    def test_5mb_single_line(self, fake_pop3):
        message = b"Subject: huge\r\n\r\n" + b"." + b"q" * (5 * 1024 * 1024) + b"\r\n"
        server = fake_pop3([message])
        with fake_session(server) as pop:
            assert pop.listing()[0].size == len(message)
            assert pop.retr(1) == message

    def test_empty_message_terminator_right_after_status(self, fake_pop3):
        server = fake_pop3([b"", b"x\r\n"], uidls=["e", "x"])
        with fake_session(server) as pop:
            assert pop.retr(1) == b""
            assert pop.retr(2) == b"x\r\n"

    def test_no_capa_gives_empty_capabilities(self, fake_pop3):
        server = fake_pop3([b"m\r\n"], uidls=["m"], capa=False)
        with fake_session(server) as pop:
            assert pop.capabilities == {}
            assert pop.listing() == [ListingEntry(1, 3, "m")]

    def test_data_after_reply_is_protocol_error_and_closes(self, fake_pop3):
        server = fake_pop3([b"m\r\n"], uidls=["m"], trailing_garbage=b"+OK surprise\r\n")
        with fake_session(server) as pop:
            with pytest.raises(POP3ProtocolError):
                pop.retr(1)
            with pytest.raises(POP3ConnectionError):
                pop.noop()

    def test_wrong_password_auth_error(self, fake_pop3):
        server = fake_pop3([])
        with pytest.raises(POP3AuthError) as excinfo, fake_session(server, password="nope-123"):
            pass
        assert excinfo.value.reply == "-ERR [AUTH] bad login"

    def test_starttls_without_stls_refuses_to_log_in(self, fake_pop3):
        server = fake_pop3([])
        pop = POP3Session(
            server.host, server.port, "starttls", server.username, server.password, timeout=TIMEOUT
        )
        with pytest.raises(POP3ConnectionError) as excinfo, pop:
            pass
        assert excinfo.value.kind == failures.STARTTLS_UNSUPPORTED
        assert excinfo.value.reply == ""  # poplib's words, not the server's
        assert "STLS" in str(excinfo.value)
        assert "PASS" not in server.commands


def test_cut_proxy_first_connection_only(fake_pop3, cut_proxy):
    message = b"Subject: x\r\n\r\n" + b"z" * 50_000 + b"\r\n"
    server = fake_pop3([message], uidls=["x"])
    proxy = cut_proxy(server.host, server.port, 10_000, first_connection_only=True)
    first = POP3Session(proxy.host, proxy.port, "none", server.username, server.password)
    with first, pytest.raises(POP3ConnectionError):
        first.retr(1)
    second = POP3Session(proxy.host, proxy.port, "none", server.username, server.password)
    with second:
        assert second.retr(1) == message
    assert (proxy.connections, proxy.cuts) == (2, 1)


def test_response_codes_and_temporary_errors():
    assert POP3AuthError("-ERR [AUTH] Authentication failed.").response_code == "AUTH"
    assert not POP3AuthError("-ERR [AUTH] Authentication failed.").is_temporary
    assert POP3AuthError("-ERR [IN-USE] Mailbox locked").is_temporary
    assert POP3ProtocolError("-ERR no such message").response_code is None
    assert POP3ConnectionError("Connection refused").is_temporary


def test_silent_server_times_out():
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts, never greets
        port = listener.getsockname()[1]
        pop = POP3Session("127.0.0.1", port, "none", "u", "p", timeout=0.3)
        with pytest.raises(POP3ConnectionError) as excinfo, pop:
            pass
    assert excinfo.value.kind == failures.TIMEOUT
    assert "Timed out" in str(excinfo.value)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (OSError(errno.EHOSTUNREACH, "No route to host"), failures.UNREACHABLE),
        (
            ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
            failures.CONNECTION_CLOSED,
        ),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), failures.UNKNOWN_HOST),
        (OSError(errno.EACCES, "Permission denied"), failures.CONNECTION_FAILED),
    ],
)
def test_operating_system_errors_have_codes_and_keep_their_english_text(error, kind):
    pop = POP3Session("mail.example.test", 995, "ssl", "u", "p")
    translated = pop._translate_os(error)
    assert (translated.kind, translated.reply) == (kind, "")
    assert translated.values["host"] == "mail.example.test"
    assert error.strerror in str(translated)


def test_bad_security_value_rejected():
    with pytest.raises(ValueError):
        POP3Session("127.0.0.1", 110, "tls-please", "u", "p")


class _Chunks:
    """A stand-in for the socket file: read1 hands out the given chunks."""

    def __init__(self, data: bytes, size: int) -> None:
        self.chunks = [data[i : i + size] for i in range(0, len(data), size)]

    def read1(self, size: int = -1, /) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, 64])
@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b".\r\n", b""),
        (b"a\r\n.\r\n", b"a\r\n"),
        (b"..a\r\n..\r\n...\r\nb.\r\n.\r\n", b".a\r\n.\r\n..\r\nb.\r\n"),
        (b"x\r\n\r\n.x\r\n.\r\n", b"x\r\n\r\n.x\r\n"),
    ],
)
def test_read_multiline_across_chunk_boundaries(wire, expected, size):
    assert _read_multiline(_Chunks(wire, size)) == expected


def test_read_multiline_eof_is_connection_error():
    with pytest.raises(POP3ConnectionError):
        _read_multiline(_Chunks(b"a\r\nb\r\n.", 2))
