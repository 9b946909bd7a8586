"""devmail's SMTP side: an aiosmtpd server that stores mail for local users. No Django here.

Accepts mail for the local domain(s) and stores one copy per local recipient
(see store.py for the file format and the ``Received:`` line). Other domains:
``550 5.7.1 Relaying denied``; unknown local users: ``550 5.1.1 User unknown``
(both at RCPT). AUTH PLAIN/LOGIN against users.json, required for MAIL with
``auth_required``; SIZE is advertised, bigger mail gets ``552 5.3.4``. No TLS:
AUTH in plain text is accepted, which is only fine on loopback.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import UnthreadedController
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .store import MailStore, UserStore, normalize_address

__all__ = ["DEFAULT_MAX_SIZE", "smtp_controller"]

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 10 * 1024 * 1024

_BARE_LF_DOT = re.compile(rb"(?<!\r)\n\.")


class _DevSMTP(SMTP):
    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        # AUTH without TLS on loopback is the point of a dev server. Set after
        # __init__, which would otherwise warn about it.
        self._auth_require_tls = False

    async def push(self, status: Any) -> None:
        # aiosmtpd words both of its size refusals (MAIL SIZE=, and too much DATA)
        # its own way; answer with the standard enhanced code instead.
        if isinstance(status, str) and status.startswith("552 Error:"):
            status = "552 5.3.4 Message too big"
        await super().push(status)


class _Controller(UnthreadedController):
    def factory(self) -> SMTP:
        return _DevSMTP(self.handler, loop=self.loop, **self.SMTP_kwargs)


class _SMTPHandler:
    def __init__(self, domains: frozenset[str], users: UserStore, store: MailStore) -> None:
        self.domains = domains
        self.users = users
        self.store = store

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        _, at, domain = address.rpartition("@")
        if at and domain.lower() not in self.domains:
            return "550 5.7.1 Relaying denied"
        if not self.users.exists(address):
            return "550 5.1.1 User unknown"
        rcpt = normalize_address(address)
        if rcpt not in envelope.rcpt_tos:  # one copy per mailbox, even if named twice
            envelope.rcpt_tos.append(rcpt)
            envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = bytes(envelope.original_content or b"")
        # Bare LFs become line ends when stored, so undo the client's dot-stuffing
        # after them too (aiosmtpd only unstuffs after CRLF), as Postfix does.
        content = _BARE_LF_DOT.sub(b"\n", content)
        proto = "ESMTPA" if session.authenticated else "ESMTP" if session.extended_smtp else "SMTP"
        helo = "".join(c for c in (session.host_name or "unknown") if 32 < ord(c) < 127)[:64]
        peer = session.peer[0] if isinstance(session.peer, tuple) else "unknown"
        date = email.utils.format_datetime(datetime.now(UTC))
        uids = []
        for rcpt in envelope.rcpt_tos:
            received = (
                f"Received: from {helo or 'unknown'} ([{peer}]) by {server.hostname} "
                f"(devmail) with {proto} for <{rcpt}>; {date}\r\n"
            ).encode("utf-8", "surrogateescape")
            stored = self.store.deliver(rcpt, received + content)
            uids.append(stored.uid)
            log.info("devmail: delivered %s to %s", stored.uid, rcpt)
        return f"250 2.0.0 OK: delivered to {len(uids)} mailbox(es)"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("devmail: SMTP session failed")
        return "451 4.3.0 Local error in processing"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "surrogateescape")
            if self.users.check(login, auth_data.password):
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)  # -> 535 5.7.8


def smtp_controller(
    loop: asyncio.AbstractEventLoop,
    address: tuple[str, int],
    *,
    domains: frozenset[str],
    users: UserStore,
    store: MailStore,
    server_hostname: str,
    max_size: int,
    auth_required: bool,
    timeout: float,
) -> UnthreadedController:
    """The SMTP server on `loop`, not yet listening: `begin()` it, `end()` it."""
    handler = _SMTPHandler(domains, users, store)
    return _Controller(
        handler,
        loop=loop,
        hostname=address[0],
        port=address[1],
        server_hostname=server_hostname,
        ident="ESMTP devmail (development server, not an MTA)",
        data_size_limit=max_size,
        authenticator=handler.authenticate,
        auth_required=auth_required,
        timeout=timeout,
    )
