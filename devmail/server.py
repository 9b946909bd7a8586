"""devmail: a development mail server (SMTP in, POP3 out, plain files). No Django here.

For trying the webmail on one machine and for tests. It is NOT a production MTA:
no TLS, it never relays, passwords sit in plain JSON, and it binds to loopback
only (unless explicitly told otherwise for a container whose ports are published
on the host's loopback).

`DevMail` here runs both servers over one mail directory; each part's contract
is in its module:

- SMTP (smtp.py, aiosmtpd, our own handler): accepts mail for the local domain(s)
  and stores one copy per local recipient; never relays; optional AUTH PLAIN/LOGIN.
- POP3 (pop3.py, asyncio, RFC 1939 + CAPA/RESP-CODES/PIPELINING of RFC 2449).
  Deletions are applied only by QUIT after a login; one session per mailbox.
- Storage and users (store.py): one ``.eml`` file per message and recipient,
  exactly as RETR serves it; ``users.json`` in plain text, re-read when changed.

File I/O runs on the event loop thread; fine for a development mailbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import UnthreadedController

from .pop3 import DEFAULT_POP3_TIMEOUT, POP3Service
from .smtp import DEFAULT_MAX_SIZE, smtp_controller
from .store import MailStore, StoredMessage, UserStore

__all__ = ["DevMail", "DevMailError", "check_bind_host", "parse_hostport"]

log = logging.getLogger(__name__)


class DevMailError(Exception):
    """Bad configuration or a server that could not start."""


def parse_hostport(value: str) -> tuple[str, int]:
    """ "127.0.0.1:2525" or "[::1]:2525" -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, not {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def check_bind_host(host: str, *, allow_any_address: bool = False) -> None:
    """Refuse anything but a loopback address: this server has no TLS and weak auth."""
    if allow_any_address or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name: can't promise it stays on loopback
    if not loopback:
        raise DevMailError(
            f"refusing to listen on {host!r}: devmail is a development server and binds "
            "to loopback addresses only (127.0.0.1, ::1, localhost)"
        )


class DevMail:
    """SMTP and POP3 over one mail directory, in a background thread with its own loop.

    Ports may be 0 (tests): the real ones are in `smtp_address` / `pop3_address`
    after `start()`. Use `start()`/`stop()` (or `with DevMail(...)`) in tests and
    `run_forever()` in the management command.
    """

    def __init__(
        self,
        root: Path | str,
        domain: str | Iterable[str] = "example.test",
        *,
        smtp: tuple[str, int] = ("127.0.0.1", 2525),
        pop3: tuple[str, int] = ("127.0.0.1", 1110),
        auth_required: bool = False,
        max_size: int = DEFAULT_MAX_SIZE,
        pop3_timeout: float = DEFAULT_POP3_TIMEOUT,
        smtp_timeout: float = 300.0,
        allow_any_address: bool = False,
    ) -> None:
        domains = [domain] if isinstance(domain, str) else list(domain)
        self.domains = frozenset(d.strip().lower() for d in domains if d.strip())
        if not self.domains:
            raise DevMailError("at least one local domain is needed")
        self.primary_domain = next(d.strip().lower() for d in domains if d.strip())
        for host, _ in (smtp, pop3):
            check_bind_host(host, allow_any_address=allow_any_address)
        if max_size <= 0:
            raise DevMailError("max_size must be a positive number of bytes")
        self.root = Path(root)
        self.smtp_address = smtp
        self.pop3_address = pop3
        self.auth_required = auth_required
        self.max_size = max_size
        self.pop3_timeout = pop3_timeout
        self.smtp_timeout = smtp_timeout
        self.users = UserStore(self.root)
        self.store = MailStore(self.root)
        self._pop3: POP3Service | None = None  # while running; only used on the loop thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # --- convenience API ------------------------------------------------------

    def add_user(self, address: str, password: str) -> bool:
        return self.users.add(address, password)

    def deliver(self, address: str, raw: bytes) -> StoredMessage:
        """Store `raw` for `address` as if received (no Received: line added)."""
        return self.store.deliver(address, raw)

    def message_count(self, address: str) -> int:
        return self.store.count(address)

    def messages(self, address: str) -> list[bytes]:
        """Stored messages, oldest first, as RETR would serve them."""
        return [p.read_bytes() for p in self.store.paths(address)]

    # --- lifecycle ----------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            raise DevMailError("devmail is already running")
        self.root.mkdir(parents=True, exist_ok=True)
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="devmail", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise DevMailError("devmail did not start in time")
        if self._startup_error is not None:
            error = self._startup_error
            self._thread.join(timeout)
            self._thread = None
            raise DevMailError(f"devmail could not start: {error}") from error

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> DevMail:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def run_forever(self, announce: Callable[[str], Any] | None = None) -> None:
        """Serve until Ctrl-C or SIGTERM, then stop cleanly."""
        stop = threading.Event()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        try:
            self.start()
            if announce:
                smtp_host, smtp_port = self.smtp_address
                pop3_host, pop3_port = self.pop3_address
                announce(
                    f"devmail (development only) for {', '.join(sorted(self.domains))}: "
                    f"SMTP {smtp_host}:{smtp_port}, POP3 {pop3_host}:{pop3_port}, "
                    f"mail in {self.root}; Ctrl-C to stop"
                )
            # Short waits so Ctrl-C is handled promptly, and a dead server thread noticed.
            while not stop.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        controller: UnthreadedController | None = None
        pop3_server: asyncio.AbstractServer | None = None
        try:
            controller = smtp_controller(
                loop,
                self.smtp_address,
                domains=self.domains,
                users=self.users,
                store=self.store,
                server_hostname=self.primary_domain,
                max_size=self.max_size,
                auth_required=self.auth_required,
                timeout=self.smtp_timeout,
            )
            controller.begin()
            assert controller.server is not None
            self.smtp_address = controller.server.sockets[0].getsockname()[:2]
            self._pop3 = POP3Service(self.users, self.store, self.pop3_timeout)
            pop3_server = loop.run_until_complete(self._pop3.listen(*self.pop3_address))
            self.pop3_address = pop3_server.sockets[0].getsockname()[:2]
        except Exception as exc:  # noqa: BLE001 - handed to start() in the caller's thread
            self._startup_error = exc
            self._shutdown(loop, controller, pop3_server)
            self._ready.set()
            return
        log.debug("devmail: SMTP %s:%s, POP3 %s:%s", *self.smtp_address, *self.pop3_address)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            self._shutdown(loop, controller, pop3_server)

    def _shutdown(
        self,
        loop: asyncio.AbstractEventLoop,
        controller: UnthreadedController | None,
        pop3_server: asyncio.AbstractServer | None,
    ) -> None:
        # Stop listening first, then end the sessions (POP3 sessions release their
        # lock without deleting anything, as for a dropped connection).
        if pop3_server is not None:
            pop3_server.close()
        if controller is not None and controller.server is not None:
            controller.server.close()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        if controller is not None and controller.server is not None:
            controller.end()
        if pop3_server is not None:
            loop.run_until_complete(pop3_server.wait_closed())
        loop.run_until_complete(asyncio.sleep(0))  # let closed transports finish
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        self._loop = None
        self._pop3 = None
