"""POP3Session.retr_many: pipelined RETRs (RFC 2449 PIPELINING) against Dovecot, a server
that only answers pipelined clients, a server without PIPELINING, and cut connections."""

from __future__ import annotations

import socket
import threading

import pytest

from mailcore.pop3 import (
    POP3ConnectionError,
    POP3ProtocolError,
    POP3Session,
    _PipelineReader,
)
from testkit.pop3_servers import CutProxy, FakePOP3Server

TIMEOUT = 5.0

DOTTED = b"Subject: dots\n\n.\n..\n.leading dot\n...three\n" + b"x" * 100_000 + b"\n.\n"


def dovecot_session(server, user, **kwargs) -> POP3Session:
    return POP3Session(
        server.host, server.port, "none", user.name, user.password, timeout=TIMEOUT, **kwargs
    )


def numbered(count: int) -> list[bytes]:
    return [b"Subject: message %d\n\n" % n + b"line %d\n" % n * n * 50 for n in range(count)]


@pytest.mark.dovecot
class TestDovecot:
    def test_dovecot_advertises_pipelining(self, dovecot, pop3_user):
        with dovecot_session(dovecot, pop3_user) as pop:
            assert pop.pipelining

    def test_pipelined_retr_gives_every_message_byte_exact_in_order(self, dovecot, pop3_user):
        delivered = [pop3_user.deliver(raw) for raw in [DOTTED, b".dot first\n\nx\n"]]
        delivered += [pop3_user.deliver(raw) for raw in numbered(20)]
        with dovecot_session(dovecot, pop3_user) as pop:
            got = list(pop.retr_many(range(1, len(delivered) + 1)))
            pop.noop()  # the session is in step afterwards
        assert got == [(n, d.wire) for n, d in enumerate(delivered, 1)]

    @pytest.mark.parametrize("depth", [1, 2, 64])
    def test_any_depth_gives_the_same_messages(self, dovecot, pop3_user, depth):
        delivered = [pop3_user.deliver(raw) for raw in numbered(10)]
        with dovecot_session(dovecot, pop3_user) as pop:
            got = [raw for _, raw in pop.retr_many([3, 1, 10, 2], depth=depth)]
        assert got == [delivered[i].wire for i in (2, 0, 9, 1)]

    def test_err_mid_pipeline_yields_the_earlier_messages_then_raises_and_drops_the_session(
        self, dovecot, pop3_user
    ):
        delivered = [pop3_user.deliver(raw) for raw in numbered(3)]
        got = []
        with dovecot_session(dovecot, pop3_user) as pop:
            pop.dele(3)
            with pytest.raises(POP3ProtocolError) as excinfo:
                for number, raw in pop.retr_many([1, 2, 9, 3]):
                    got.append((number, raw))
            assert excinfo.value.reply.startswith("-ERR")
            with pytest.raises(POP3ConnectionError):
                pop.noop()  # dropped without QUIT
        assert got == [(1, delivered[0].wire), (2, delivered[1].wire)]
        assert pop3_user.server_message_count() == 3  # the DELE was never applied

    def test_leaving_the_loop_early_drops_the_session_without_quit(self, dovecot, pop3_user):
        [pop3_user.deliver(raw) for raw in numbered(5)]
        with dovecot_session(dovecot, pop3_user) as pop:
            pop.dele(5)
            downloads = pop.retr_many(range(1, 5))
            next(downloads)
            downloads.close()  # RETRs 2.. are in flight: their replies cannot be skipped
            with pytest.raises(POP3ConnectionError):
                pop.noop()
        assert pop3_user.server_message_count() == 5

    @pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
    def test_connection_cut_mid_pipeline_yields_what_arrived_then_connection_error(
        self, dovecot, pop3_user, cut_proxy, reset
    ):
        delivered = [
            pop3_user.deliver(b"Subject: big %d\n\n" % n + (b"y" * 998 + b"\n") * 40)
            for n in range(6)
        ]
        # About 40 KB a message: the cut falls inside the third one.
        proxy: CutProxy = cut_proxy(dovecot.host, dovecot.port, 100_000, reset=reset)
        pop = POP3Session(
            proxy.host, proxy.port, "none", pop3_user.name, pop3_user.password, timeout=TIMEOUT
        )
        got = []
        with pop:
            pop.dele(6)
            with pytest.raises(POP3ConnectionError):
                for number, raw in pop.retr_many(range(1, 6)):
                    got.append((number, raw))
        assert proxy.cuts == 1
        assert got == [(n, delivered[n - 1].wire) for n in range(1, len(got) + 1)]
        assert 1 <= len(got) < 5
        assert pop3_user.server_message_count() == 6  # no QUIT: the DELE was not applied


class TestWithoutPipelining:
    def test_a_server_without_pipelining_gets_one_retr_at_a_time(self, fake_pop3):
        messages = [b"Subject: a\r\n\r\n.a\r\n", b"Subject: b\r\n\r\nb\r\n"]
        server: FakePOP3Server = fake_pop3(messages, uidls=["a", "b"])
        with POP3Session(
            server.host, server.port, "none", server.username, server.password, timeout=TIMEOUT
        ) as pop:
            assert not pop.pipelining
            assert list(pop.retr_many([1, 2])) == [(1, messages[0]), (2, messages[1])]
            pop.quit()
        assert server.commands.count("RETR") == 2

    def test_data_after_the_last_reply_is_still_a_protocol_error(self, fake_pop3):
        server = fake_pop3([b"m\r\n"], uidls=["m"], trailing_garbage=b"+OK surprise\r\n")
        with POP3Session(
            server.host, server.port, "none", server.username, server.password, timeout=TIMEOUT
        ) as pop:
            with pytest.raises(POP3ProtocolError):
                list(pop.retr_many([1]))


class _OnlyPipelined:
    """A POP3 server that advertises PIPELINING and answers a RETR only once the client
    has `hold` RETRs unanswered (or has asked for the last message): a client with fewer
    in flight would wait for ever. Records the most RETRs it held unanswered."""

    def __init__(self, messages: list[bytes], hold: int) -> None:
        self.messages = messages
        self.hold = hold
        self.most_in_flight = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn, conn.makefile("rb") as commands:
            conn.sendall(b"+OK ready\r\n")
            waiting: list[int] = []
            for line in commands:
                verb, _, arg = line.strip().decode().partition(" ")
                if verb == "CAPA":
                    conn.sendall(b"+OK\r\nUSER\r\nPIPELINING\r\n.\r\n")
                elif verb in {"USER", "PASS", "NOOP"}:
                    conn.sendall(b"+OK\r\n")
                elif verb == "RETR":
                    waiting.append(int(arg))
                    self.most_in_flight = max(self.most_in_flight, len(waiting))
                    last_asked = len(self.messages) in waiting
                    while waiting and (len(waiting) >= self.hold or last_asked):
                        body = self.messages[waiting.pop(0) - 1].replace(b"\r\n.", b"\r\n..")
                        conn.sendall(b"+OK\r\n" + body + b".\r\n")
                elif verb == "QUIT":
                    conn.sendall(b"+OK bye\r\n")
                    return

    def close(self) -> None:
        self._listener.close()


def test_retrs_are_sent_ahead_of_the_replies_on_a_pipelining_server():
    messages = [b"Subject: %d\r\n\r\n.body %d\r\n" % (n, n) for n in range(1, 8)]
    server = _OnlyPipelined(messages, hold=3)
    try:
        with POP3Session("127.0.0.1", server.port, "none", "u", "p", timeout=TIMEOUT) as pop:
            assert list(pop.retr_many(range(1, 8), depth=3)) == list(enumerate(messages, 1))
            pop.noop()
            pop.quit()
    finally:
        server.close()
    assert server.most_in_flight == 3


class _Chunks:
    def __init__(self, data: bytes, size: int) -> None:
        self.chunks = [data[i : i + size] for i in range(0, len(data), size)]

    def read1(self, size: int = -1, /) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7, 64, 4096])
def test_pipelined_replies_split_anywhere_are_read_apart(size):
    wire = (
        b"+OK 3 octets\r\n.\r\n"
        b"+OK\r\n..a\r\n..\r\n...\r\nb.\r\n.\r\n"
        b"-ERR no such message\r\n"
        b"+OK\r\nx\r\n\r\n.x\r\n.\r\n"
    )
    reader = _PipelineReader(_Chunks(wire, size))
    assert (reader.status(), reader.body()) == (b"+OK 3 octets", b"")
    assert (reader.status(), reader.body()) == (b"+OK", b".a\r\n.\r\n..\r\nb.\r\n")
    assert reader.status() == b"-ERR no such message"
    assert (reader.status(), reader.body()) == (b"+OK", b"x\r\n\r\n.x\r\n")
    assert reader.rest == b""
    with pytest.raises(POP3ConnectionError):
        reader.status()
