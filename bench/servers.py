"""The POP3 server a benchmark polls: a real Dovecot when installed, else devmail."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.locations import LOOPBACK, ROOT

DOVECOT_BINARY = "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class DevmailUser:
    """Same shape as testkit.pop3_servers.DovecotUser: a login and deliver(raw)."""

    def __init__(self, store, name: str, password: str) -> None:
        self._store = store
        self.name = name
        self.password = password

    def deliver(self, raw: bytes):
        return self._store.deliver(self.name, raw)


class DevmailServer:
    """devmail (`manage.py devmail`) in a subprocess, so it does not share our GIL."""

    kind = "devmail"
    host = LOOPBACK

    def __init__(self, root: Path) -> None:
        import devmail

        self.root = root
        self.port = 0
        self._users = devmail.UserStore(root)
        self._store = devmail.MailStore(root)
        self._process: subprocess.Popen[bytes] | None = None

    def add_user(self, name: str, password: str) -> DevmailUser:
        address = f"{name}@example.test"
        self._users.add(address, password)
        return DevmailUser(self._store, address, password)

    def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
        self._process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "devmail",
                "--root",
                str(self.root),
                "--pop3",
                f"{LOOPBACK}:{self.port}",
                "--smtp",
                f"{LOOPBACK}:{free_port()}",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"+OK"):
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("devmail did not start")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def pop3_server(kind: str = "auto") -> Iterator:
    """A running POP3 server: Dovecot when installed (or asked for), else devmail.

    The object has .kind, .host, .port and .add_user(name, password) -> user with
    .name, .password and .deliver(raw).
    """
    root = Path(tempfile.mkdtemp(prefix="webmail-bench-pop3-"))
    root.chmod(0o755)  # as root, Dovecot's mail user is `nobody`
    if kind == "dovecot" or (kind == "auto" and os.path.exists(DOVECOT_BINARY)):
        from testkit.pop3_servers import DovecotServer

        server = DovecotServer(root)
    else:
        server = DevmailServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def server_kind(server) -> str:
    """ "dovecot" or "devmail" (the tests' Dovecot fixture has no kind attribute)."""
    return getattr(server, "kind", "dovecot")


def dovecot_version() -> str | None:
    """The installed Dovecot's version line, or None without Dovecot."""
    if not os.path.exists(DOVECOT_BINARY):
        return None
    try:
        out = subprocess.run(
            [DOVECOT_BINARY, "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
