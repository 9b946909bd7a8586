"""Real (aiosmtpd) SMTP servers for tests, scriptable per test.

Plain module of fixtures; `tests/conftest.py` does `from testkit.smtp_servers import *`.

- `smtp_server` (factory): smtp_server(**options) -> SMTPTestServer, an aiosmtpd
  Controller on 127.0.0.1 (a free port), stopped at teardown. Options:
    tls="none" | "starttls" (required before MAIL) | "ssl" — a self-signed
        certificate for localhost/127.0.0.1; trust it with `server.client_context()`
        or `ssl.create_default_context(cafile=server.cert_path)`;
    auth={login: password} — AUTH PLAIN/LOGIN required (also without TLS);
    dsn=True — advertise DSN and accept RET/ENVID/NOTIFY/ORCPT;
    smtputf8=True — advertise SMTPUTF8;
    greeting_reply="421 4.3.2 busy" — say this instead of 220 and hang up;
    mail_replies / rcpt_replies={address: "550 5.1.1 no such user"};
    data_command_replies=[...] — replies to the DATA command itself, one per DATA;
    data_replies=[...] — replies after the final dot, one per DATA (default 250).
  The server records `messages`, one ReceivedMessage per completed DATA, refused or
  not: mail_from, rcpt_tos (accepted RCPTs), mail_options, rcpt_options (all RCPT
  options, flat, like aiosmtpd's envelope), rcpt_options_by_address, data (the bytes
  after dot-unstuffing), auth_login, accepted (the reply was 2xx) and reply;
  `delivered` is the accepted ones. `events` [(verb, argument)] logs
  MAIL/RCPT/DATA/RSET/QUIT. Options are kept as sent (aiosmtpd upper-cases them).
  `clear()` forgets messages and events.

aiosmtpd.handlers is never imported: it imports the standard library's `mailbox`,
which our app shadows. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from testkit.certs import write_self_signed_cert

__all__ = ["ReceivedMessage", "SMTPTestServer", "smtp_server"]

LOOPBACK = "127.0.0.1"
DSN_PARAMETERS = frozenset({"RET", "ENVID", "NOTIFY", "ORCPT"})


def free_port() -> int:
    """A loopback port nobody listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@functools.cache
def _certificate() -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, made once per process."""
    directory = Path(tempfile.mkdtemp(prefix="smtp-test-cert-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return write_self_signed_cert(directory)


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    rcpt_options: list[str]
    rcpt_options_by_address: dict[str, list[str]]
    data: bytes
    auth_login: str | None
    accepted: bool
    reply: str


@dataclass
class SMTPTestServer:
    host: str
    port: int
    tls: str
    cert_path: Path | None
    dsn: bool
    auth: dict[str, str] | None
    greeting_reply: str | None = None
    mail_replies: dict[str, str] = field(default_factory=dict)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_command_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    messages: list[ReceivedMessage] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)

    @property
    def delivered(self) -> list[ReceivedMessage]:
        return [message for message in self.messages if message.accepted]

    def clear(self) -> None:
        self.messages.clear()
        self.events.clear()

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate."""
        assert self.cert_path is not None, "this server has no TLS"
        return ssl.create_default_context(cafile=str(self.cert_path))

    def verbs(self) -> list[str]:
        return [verb for verb, _ in self.events]


class _Envelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.raw_mail_options: list[str] = []
        self.raw_rcpt_options: dict[str, list[str]] = {}


def _raw_options(arg: str | None, count: int) -> list[str]:
    # aiosmtpd hands hooks the options upper-cased; take the same ones as sent.
    return arg.split()[-count:] if arg and count else []


class _ScriptedSMTP(SMTP):
    """aiosmtpd's SMTP with a scripted greeting, DATA refusals and DSN parameters."""

    def __init__(self, handler: _Handler, *, auth_over_plain: bool = False, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # Set after __init__, which warns about AUTH without TLS (fine in a test).
        self._auth_require_tls = not auth_over_plain
        self.script = handler.script
        self.last_arg: str | None = None

    def _create_envelope(self) -> Envelope:
        return _Envelope()

    def _getparams(self, params: Any) -> Any:
        result = super()._getparams(params)
        if result is not None and self.script.dsn:
            for name in DSN_PARAMETERS:
                result.pop(name, None)
        return result

    async def _handle_client(self) -> None:
        if self.script.greeting_reply:
            await self.push(self.script.greeting_reply)
            assert self.transport is not None
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_MAIL(self, arg: str | None) -> None:
        self.last_arg = arg
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        self.last_arg = arg
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        self.script.events.append(("DATA", arg or ""))
        if self.script.data_command_replies and self.envelope and self.envelope.rcpt_tos:
            await self.push(self.script.data_command_replies.pop(0))
            return
        await super().smtp_DATA(arg)


class _Handler:
    def __init__(self, script: SMTPTestServer) -> None:
        self.script = script

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list
    ) -> list[str]:
        session.host_name = hostname
        if self.script.dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_MAIL(
        self, server: _ScriptedSMTP, session: Session, envelope: _Envelope, address: str, options
    ) -> str:
        raw = _raw_options(server.last_arg, len(options))
        self.script.events.append(("MAIL", " ".join([f"<{address}>", *raw])))
        if address in self.script.mail_replies:
            return self.script.mail_replies[address]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        envelope.raw_mail_options = raw
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: _ScriptedSMTP, session: Session, envelope: _Envelope, address: str, options
    ) -> str:
        raw = _raw_options(server.last_arg, len(options))
        self.script.events.append(("RCPT", " ".join([f"<{address}>", *raw])))
        if address in self.script.rcpt_replies:
            return self.script.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        envelope.raw_rcpt_options[address] = raw
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: _Envelope) -> str:
        messages = self.script.messages
        reply = self.script.data_replies.pop(0) if self.script.data_replies else ""
        reply = reply or f"250 2.0.0 Ok: queued as Q{len(messages) + 1}"
        login = session.auth_data
        messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                mail_options=list(envelope.raw_mail_options),
                rcpt_options=[o for opts in envelope.raw_rcpt_options.values() for o in opts],
                rcpt_options_by_address=dict(envelope.raw_rcpt_options),
                data=bytes(envelope.original_content or b""),
                auth_login=login.decode() if isinstance(login, bytes) else login,
                accepted=reply.startswith("2"),
                reply=reply,
            )
        )
        return reply

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.script.events.append(("RSET", ""))
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.script.events.append(("QUIT", ""))
        return "221 2.0.0 Bye"


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _ScriptedSMTP(self.handler, **self.SMTP_kwargs)


def _authenticator(accounts: dict[str, str]) -> Callable[..., AuthResult]:
    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in accounts and accounts[login] == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    return authenticate


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SMTPTestServer]]:
    """Factory: smtp_server(tls="none", auth=None, dsn=False, smtputf8=False,
    greeting_reply=None, mail_replies=None, rcpt_replies=None,
    data_command_replies=None, data_replies=None) -> SMTPTestServer."""
    controllers: list[Controller] = []

    def start(
        *,
        tls: str = "none",
        auth: dict[str, str] | None = None,
        dsn: bool = False,
        smtputf8: bool = False,
        greeting_reply: str | None = None,
        mail_replies: dict[str, str] | None = None,
        rcpt_replies: dict[str, str] | None = None,
        data_command_replies: list[str] | None = None,
        data_replies: list[str] | None = None,
    ) -> SMTPTestServer:
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError(f"tls must be none, starttls or ssl, not {tls!r}")
        cert_path: Path | None = None
        kwargs: dict[str, Any] = {
            "server_hostname": "localhost",
            "ready_timeout": 5.0,
            "timeout": 10,  # the server drops idle clients, so nothing hangs for long
            "enable_SMTPUTF8": smtputf8,
        }
        if tls != "none":
            cert_path, key_path = _certificate()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_path, key_path)
            if tls == "ssl":
                kwargs["ssl_context"] = context
            else:
                kwargs["tls_context"] = context
                kwargs["require_starttls"] = True
        if auth is not None:
            kwargs.update(
                authenticator=_authenticator(dict(auth)),
                auth_required=True,
                auth_over_plain=True,
            )
        server = SMTPTestServer(
            host=LOOPBACK,
            port=free_port(),
            tls=tls,
            cert_path=cert_path,
            dsn=dsn,
            auth=auth,
            greeting_reply=greeting_reply,
            mail_replies=dict(mail_replies or {}),
            rcpt_replies=dict(rcpt_replies or {}),
            data_command_replies=list(data_command_replies or []),
            data_replies=list(data_replies or []),
        )
        controller = _Controller(_Handler(server), hostname=LOOPBACK, port=server.port, **kwargs)
        controller.start()
        controllers.append(controller)
        return server

    yield start
    for controller in controllers:
        controller.stop()
