"""POP3 servers for tests: a real Dovecot, a scriptable fake, and a fault proxy.

Plain module of fixtures; `tests/conftest.py` does `from testkit.pop3_servers import *`.

- `dovecot` (session): a real Dovecot from a temporary config, loopback only.
  Needs Debian's dovecot-pop3d (`.ci/install-dovecot.sh`); skipped without it,
  failed instead when WEBMAIL_REQUIRE_DOVECOT=1 (CI). Mark tests @pytest.mark.dovecot.
- `pop3_user` (function): a fresh Dovecot user with an empty maildrop.
- `fake_pop3` (factory): a tiny threaded POP3 server for what Dovecot can't do
  (no UIDL, duplicate or 200-char UIDLs, 5 MB lines, trailing garbage).
- `cut_proxy` (factory): a TCP proxy that cuts the connection after N bytes from
  the server, to simulate a connection lost mid-RETR.
- `unused_port` (function): a loopback port nobody listens on.

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import secrets
import shutil
import socket
import socketserver
import ssl
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from testkit.certs import write_self_signed_cert

__all__ = [
    "CutProxy",
    "DeliveredMessage",
    "DovecotServer",
    "DovecotUser",
    "FakePOP3Server",
    "cut_proxy",
    "dovecot",
    "fake_pop3",
    "pop3_user",
    "unused_port",
]

DOVECOT_BINARY = "/usr/sbin/dovecot"
LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- Dovecot


@dataclass(frozen=True)
class DeliveredMessage:
    uid: str  # what UIDL reports (pop3_uidl_format = %f: the maildir base filename)
    wire: bytes  # what RETR returns for it (CRLF line endings)
    path: Path


@dataclass
class DovecotUser:
    """A Dovecot mail user with a maildir of its own."""

    name: str
    password: str
    maildir: Path
    _uid: int
    _gid: int
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def deliver(self, raw: bytes) -> DeliveredMessage:
        """Drop a message into the maildir's new/ (via tmp/, as an MDA would).

        Dovecot keeps LF line endings on disk and serves CRLF, so the message is
        stored with CRLF -> LF and RETR returns `raw` with every line ending turned
        into CRLF (returned as `.wire`; a missing final newline is added). Bare CRs
        are not supported. Messages are numbered in delivery order.
        """
        lf = raw.replace(b"\r\n", b"\n")
        if not lf.endswith(b"\n"):
            lf += b"\n"
        # Dovecot orders new mails by the "<secs>.M<usecs>" prefix: keep delivery order.
        base = f"{int(time.time())}.M{next(self._counter):06d}P{os.getpid()}.pop3test"
        tmp = self.maildir / "tmp" / base
        tmp.write_bytes(lf)
        if os.geteuid() == 0:
            os.chown(tmp, self._uid, self._gid)
        final = self.maildir / "new" / base
        tmp.rename(final)
        return DeliveredMessage(uid=base, wire=lf.replace(b"\n", b"\r\n"), path=final)

    def server_message_count(self) -> int:
        """How many messages are in the maildir now (new/ + cur/)."""
        return sum(len(os.listdir(self.maildir / sub)) for sub in ("new", "cur"))


class DovecotServer:
    """A running Dovecot: POP3 with STLS on `port`, POP3S on `ssl_port`, both on `host`."""

    host = LOOPBACK

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = 0
        self.ssl_port = 0
        self.cert_path, self.key_path = write_self_signed_cert(root)
        self.log_path = root / "dovecot.log"
        # One passwd-file per user: Dovecot re-reads a changed passwd-file at most
        # once a second, so users added to a shared file could be refused for a while.
        self.passwd_dir = root / "users"
        self.passwd_dir.mkdir()
        self._process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            # Dovecot refuses UID 0 for mail and root for its own processes.
            nobody = pwd.getpwnam("nobody")
            self.mail_uid, self.mail_gid = nobody.pw_uid, nobody.pw_gid
            self._internal_user = _first_user("dovecot", "nobody")
            self._login_user = _first_user("dovenull", "nobody")
            self._internal_group = grp.getgrgid(pwd.getpwnam(self._internal_user).pw_gid).gr_name
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(os.getuid()).pw_name
            self._internal_user = self._login_user = me
            self._internal_group = grp.getgrgid(os.getgid()).gr_name

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def add_user(self, name: str, password: str) -> DovecotUser:
        for value in (name, password):
            if not value or value[0] == "." or any(c in value for c in ":/%\n\r\t "):
                raise ValueError(f"unsupported user name or password: {value!r}")
        home = self.root / "home" / name
        maildir = home / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            for path in (home, maildir, *(maildir / s for s in ("new", "cur", "tmp"))):
                os.chown(path, self.mail_uid, self.mail_gid)
        passwd = self.passwd_dir / name
        if passwd.exists():
            raise ValueError(f"user {name!r} exists already")
        passwd.write_text(f"{name}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::{home}::\n")
        return DovecotUser(name, password, maildir, self.mail_uid, self.mail_gid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _config(self) -> str:
        root = self.root
        dh = Path("/usr/share/dovecot/dh.pem")
        return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_path}
protocols = pop3
listen = {LOOPBACK}
ssl = yes
ssl_cert = <{self.cert_path}
ssl_key = <{self.key_path}
{f"ssl_dh = <{dh}" if dh.exists() else ""}
disable_plaintext_auth = no
auth_mechanisms = plain login apop
auth_failure_delay = 0
auth_verbose = yes
default_internal_user = {self._internal_user}
default_login_user = {self._login_user}
default_internal_group = {self._internal_group}
first_valid_uid = {self.mail_uid}
first_valid_gid = {min(self.mail_gid, 1)}
mail_location = maildir:~/Maildir
mail_fsync = never
pop3_uidl_format = %f
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd_dir}/%u
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = {LOOPBACK}
    port = {self.port}
  }}
  inet_listener pop3s {{
    address = {LOOPBACK}
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No auth penalty (up to 15 s per login after failures from one IP): tests
  # fail logins on purpose, all from 127.0.0.1. Mode 0 keeps auth from using it.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def start(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            self.port, self.ssl_port = _free_port(), _free_port()
            while self.ssl_port == self.port:
                self.ssl_port = _free_port()
            config = self.root / "dovecot.conf"
            config.write_text(self._config())
            with (self.root / "dovecot.stderr").open("ab") as stderr:
                self._process = subprocess.Popen(
                    [DOVECOT_BINARY, "-F", "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            if self._wait_ready(timeout=15.0):
                return
            self.stop()
            if attempt == attempts - 1 or "Address already in use" not in self.log_tail():
                break
        stderr = (self.root / "dovecot.stderr").read_text(errors="replace")
        raise RuntimeError(f"Dovecot did not start.\n{stderr}\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                    if sock.recv(64).startswith(b"+OK"):
                        with socket.create_connection((self.host, self.ssl_port), timeout=1.0):
                            return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _first_user(*names: str) -> str:
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError(f"none of these system users exists: {', '.join(names)}")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A real Dovecot POP3 server for the whole test session (see DovecotServer)."""
    if not os.path.exists(DOVECOT_BINARY):
        message = "dovecot-pop3d is not installed; run .ci/install-dovecot.sh"
        if os.environ.get("WEBMAIL_REQUIRE_DOVECOT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    # Not pytest's tmp_path: that is mode 0700, and as root the mail user is `nobody`.
    root = Path(tempfile.mkdtemp(prefix="webmail-dovecot-"))
    root.chmod(0o755)
    server = DovecotServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pop3_user(dovecot: DovecotServer) -> DovecotUser:
    """A new Dovecot user with an empty maildrop, unique to this test."""
    return dovecot.add_user(f"u{secrets.token_hex(6)}", secrets.token_urlsafe(12))


@pytest.fixture
def unused_port() -> int:
    """A loopback port with nothing listening (connecting to it is refused)."""
    return _free_port()


# --------------------------------------------------------------------------- fault proxy


class CutProxy:
    """A threaded TCP proxy on 127.0.0.1 that cuts connections mid-stream.

    It forwards both ways and, after forwarding `cut_after_bytes` bytes from the
    server to the client, closes both sides (a FIN, or an RST when `reset`).
    `first_connection_only` cuts only the first connection; later ones are passed
    through untouched. `connections` and `cuts` count what happened.
    """

    host = LOOPBACK

    def __init__(
        self,
        target_host: str,
        target_port: int,
        cut_after_bytes: int,
        *,
        first_connection_only: bool = False,
        reset: bool = False,
    ) -> None:
        self.target = (target_host, target_port)
        self.cut_after_bytes = cut_after_bytes
        self.first_connection_only = first_connection_only
        self.reset = reset
        self.connections = 0
        self.cuts = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True, name="cut-proxy").start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                cut = not self.first_connection_only or self.connections == 0
                self.connections += 1
            threading.Thread(target=self._serve, args=(client, cut), daemon=True).start()

    def _serve(self, client: socket.socket, cut: bool) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.update((client, upstream))
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        forwarded = 0
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    client.shutdown(socket.SHUT_WR)
                    return
                if cut and forwarded + len(data) >= self.cut_after_bytes:
                    client.sendall(data[: self.cut_after_bytes - forwarded])
                    with self._lock:
                        self.cuts += 1
                    self._abort(client, upstream)
                    return
                client.sendall(data)
                forwarded += len(data)
        except OSError:
            self._abort(client, upstream)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _abort(self, *socks: socket.socket) -> None:
        for sock in socks:
            try:
                if self.reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)  # wakes the other pump without a FIN
                else:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            with self._lock:
                self._sockets.discard(sock)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            socks = list(self._sockets)
        self._abort(*socks)


@pytest.fixture
def cut_proxy() -> Iterator[Callable[..., CutProxy]]:
    """Factory: cut_proxy(target_host, target_port, cut_after_bytes, *,
    first_connection_only=False, reset=False) -> CutProxy (see CutProxy)."""
    proxies: list[CutProxy] = []

    def make(
        target_host: str,
        target_port: int,
        cut_after_bytes: int,
        *,
        first_connection_only: bool = False,
        reset: bool = False,
    ) -> CutProxy:
        proxy = CutProxy(
            target_host,
            target_port,
            cut_after_bytes,
            first_connection_only=first_connection_only,
            reset=reset,
        )
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


# --------------------------------------------------------------------------- fake POP3


def _dot_stuff(message: bytes) -> bytes:
    if message and not message.endswith(b"\r\n"):
        message += b"\r\n"
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


class _FakeHandler(socketserver.StreamRequestHandler):
    server: _FakeTCPServer

    def handle(self) -> None:
        fake = self.server.fake
        self.wfile.write(b"+OK fake POP3 ready\r\n")
        user = None
        for raw in self.rfile:
            command, _, arg = raw.rstrip(b"\r\n").decode("utf-8", "replace").partition(" ")
            command = command.upper()
            fake.commands.append(command)
            if command == "QUIT":
                self.wfile.write(b"+OK bye\r\n")
                return
            if command == "CAPA":
                uidl = b"UIDL\r\n" if fake.uidls is not None else b""
                reply = b"+OK\r\nUSER\r\nTOP\r\n" + uidl + b".\r\n"
                self.wfile.write(reply if fake.capa else b"-ERR unknown command\r\n")
            elif command == "USER":
                user = arg
                self.wfile.write(b"+OK\r\n")
            elif command == "PASS":
                ok = (user, arg) == (fake.username, fake.password)
                self.wfile.write(b"+OK logged in\r\n" if ok else b"-ERR [AUTH] bad login\r\n")
            elif command == "STAT":
                size = sum(len(m) for m in fake.messages)
                self.wfile.write(f"+OK {len(fake.messages)} {size}\r\n".encode())
            elif command == "LIST":
                lines = "".join(f"{i} {len(m)}\r\n" for i, m in enumerate(fake.messages, 1))
                self.wfile.write(f"+OK\r\n{lines}.\r\n".encode())
            elif command == "UIDL" and fake.uidls is not None:
                lines = "".join(f"{i} {u}\r\n" for i, u in enumerate(fake.uidls, 1))
                self.wfile.write(f"+OK\r\n{lines}.\r\n".encode())
            elif command in ("RETR", "TOP") and arg.split()[0].isdigit():
                number = int(arg.split()[0])
                if not 1 <= number <= len(fake.messages):
                    self.wfile.write(b"-ERR no such message\r\n")
                    continue
                body = _dot_stuff(fake.messages[number - 1])
                self.wfile.write(b"+OK\r\n" + body + b".\r\n" + fake.trailing_garbage)
            elif command in ("DELE", "NOOP", "RSET"):
                self.wfile.write(b"+OK\r\n")
            else:
                self.wfile.write(b"-ERR unknown command\r\n")


class _FakeTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakePOP3Server


class FakePOP3Server:
    """A scriptable POP3 server on 127.0.0.1 (login: `username`/`password`).

    `messages` are served as given (wire form, CRLF; dot-stuffed on the way out;
    TOP returns the whole message).
    `uidls`: one per message, or None for a server answering -ERR to UIDL.
    `capa=False` answers -ERR to CAPA. `trailing_garbage` is sent after every
    RETR/TOP reply. `commands` records the command verbs received.
    """

    host = LOOPBACK
    username = "user"
    password = "fake-password"

    def __init__(
        self,
        messages: Sequence[bytes],
        uidls: Sequence[str] | None = None,
        *,
        capa: bool = True,
        trailing_garbage: bytes = b"",
    ) -> None:
        if uidls is not None and len(uidls) != len(messages):
            raise ValueError("one UIDL per message")
        self.messages = list(messages)
        self.uidls = list(uidls) if uidls is not None else None
        self.capa = capa
        self.trailing_garbage = trailing_garbage
        self.commands: list[str] = []
        self._server = _FakeTCPServer((LOOPBACK, 0), _FakeHandler)
        self._server.fake = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake_pop3() -> Iterator[Callable[..., FakePOP3Server]]:
    """Factory: fake_pop3(messages, uidls=None, *, capa=True, trailing_garbage=b"")."""
    servers: list[FakePOP3Server] = []

    def make(
        messages: Sequence[bytes],
        uidls: Sequence[str] | None = None,
        *,
        capa: bool = True,
        trailing_garbage: bytes = b"",
    ) -> FakePOP3Server:
        server = FakePOP3Server(messages, uidls, capa=capa, trailing_garbage=trailing_garbage)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
