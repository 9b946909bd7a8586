"""Idle SMTP sessions kept for the next message to the same server. No Django here.

A session that has just delivered a message is left open for `idle_seconds`
(RFC 5321 §4.1.1.4: after the final dot's reply the server is ready for the next
MAIL), so consecutive messages of one account skip the connection, EHLO, STARTTLS and
AUTH, as a mail client does with one connection and as the bench's smtplib floor does.
`mailcore.smtp.send_message(..., sessions=cache)` takes a session from the cache and
gives it back after a successful transaction; a session that failed in any way is
closed, never kept.

Keys hold everything that made the session what it is: server, port, TLS mode and
verification, login (the password as a digest), local name and destination policy, so
a session is only reused for the same login to the same checked destination. One
process's cache: a forked child (Celery's prefork pool) forgets its parent's sessions,
whose sockets it shares, without touching them. A daemon thread closes (QUIT) the
sessions left idle for `idle_seconds`.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import smtplib
import threading
import time
from collections.abc import Hashable

IDLE_SECONDS = 10.0


def session_key(
    host: str,
    port: int,
    security: str,
    username: str,
    password: str,
    *,
    verify_tls: bool,
    local_hostname: str | None,
    policy: Hashable | None,
    ssl_context: object | None = None,
) -> tuple:
    secret = hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()
    return (
        host.lower(),
        port,
        str(security),
        username,
        secret,
        verify_tls,
        local_hostname,
        policy,
        id(ssl_context) if ssl_context is not None else None,
    )


QUIT_TIMEOUT = 5.0  # seconds: an idle session's QUIT never holds up a worker for long


def _quit(client: smtplib.SMTP) -> None:
    try:
        if client.sock is not None:
            client.sock.settimeout(QUIT_TIMEOUT)
        client.quit()
    except (OSError, smtplib.SMTPException):
        close(client)


def close(client: smtplib.SMTP | None) -> None:
    """Close the socket without QUIT (a failed session, or one this process must not
    talk to); the one way mailcore.smtp drops a session too."""
    if client is not None:
        with contextlib.suppress(OSError):
            client.close()


class SessionCache:
    """At most one idle session per key; `take` hands it out (or None), `give_back`
    keeps it for the next message."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._changed = threading.Condition()
        self._idle: dict[tuple, tuple[smtplib.SMTP, float]] = {}
        self._pid = os.getpid()
        self._reaper: threading.Thread | None = None
        atexit.register(self.close_all)

    def take(self, key: tuple) -> smtplib.SMTP | None:
        with self._changed:
            self._forget_after_fork()
            found = self._idle.pop(key, None)
        if found is None:
            return None
        client, since = found
        if time.monotonic() - since > self.idle_seconds:
            _quit(client)
            return None
        return client

    def give_back(self, key: tuple, client: smtplib.SMTP) -> None:
        if self.idle_seconds <= 0:
            _quit(client)
            return
        with self._changed:
            self._forget_after_fork()
            replaced = self._idle.pop(key, None)
            self._idle[key] = (client, time.monotonic())
            if self._reaper is None or not self._reaper.is_alive():
                self._reaper = threading.Thread(
                    target=self._reap, name="smtp-idle-sessions", daemon=True
                )
                self._reaper.start()
        if replaced is not None:
            _quit(replaced[0])

    def idle(self) -> int:
        """How many sessions are kept now (for tests and diagnostics)."""
        with self._changed:
            self._forget_after_fork()
            return len(self._idle)

    def close_all(self, *, polite: bool = True) -> None:
        """Close every kept session: with QUIT, or (`polite=False`) by closing the socket."""
        with self._changed:
            self._forget_after_fork()
            sessions = [client for client, _ in self._idle.values()]
            self._idle.clear()
        for client in sessions:
            (_quit if polite else close)(client)

    def _forget_after_fork(self) -> None:
        """In a forked child: drop the parent's sessions (their sockets are the parent's
        too: no QUIT, no close) and its reaper thread, which did not come along."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._idle = {}
            self._reaper = None

    def _reap(self) -> None:
        while True:
            with self._changed:
                if self._pid != os.getpid():
                    return
                now = time.monotonic()
                expired = [
                    k for k, (_, since) in self._idle.items() if now - since >= self.idle_seconds
                ]
                closing = [self._idle.pop(k)[0] for k in expired]
                if not closing:
                    oldest = min((since for _, since in self._idle.values()), default=now)
                    self._changed.wait(max(oldest + self.idle_seconds - now, 0.05))
                    continue
            for client in closing:  # outside the lock: a QUIT waits for the server
                _quit(client)
