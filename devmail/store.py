"""devmail's files: the users and the mail, as plain files under one root. No Django here.

- Storage: ``<root>/<address>/<nanoseconds>.<random>.eml``, written to a dot-file
  and renamed, so readers never see half a message and name order is arrival
  order. The UIDL is the file name without ``.eml``. Files hold exactly what RETR
  serves: CRLF line endings, ending with CRLF. A message received over SMTP is
  stored as one ``Received:`` line followed by the received bytes (dot-unstuffed,
  bare LFs taken as line ends and turned into CRLF, which changes nothing for a
  well-formed message);
  ``deliver()`` stores its bytes with only that line-ending normalisation.
- Users: ``<root>/users.json`` = {address: password}, plain text (a dev server);
  re-read whenever it changed, so users added while running work at once.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "USERS_FILE",
    "MailStore",
    "StoredMessage",
    "UserStore",
    "normalize_address",
    "to_crlf",
]

log = logging.getLogger(__name__)

USERS_FILE = "users.json"

_ADDRESS = re.compile(r"[^@\s/\\\x00-\x1f\x7f]+@[^@\s/\\\x00-\x1f\x7f]+")
_LINE_END = re.compile(rb"\r?\n")


def normalize_address(address: str) -> str:
    """Lower-case `address` and check it is safe as a directory name."""
    address = address.strip().lower()
    if not _ADDRESS.fullmatch(address) or address.startswith("."):
        raise ValueError(f"not a usable mail address: {address!r}")
    return address


def to_crlf(data: bytes) -> bytes:
    """Every line ending as CRLF and a final CRLF: what POP3 needs to frame a message."""
    data = _LINE_END.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    # A dot-file in the same directory, then rename: readers see all or nothing,
    # and dot-files are never listed as messages.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class UserStore:
    """`<root>/users.json`, {address: password} in plain text: a development server only.

    Re-read whenever its mtime, size or inode changed, so edits and `add()` from
    another process are picked up at the next login or RCPT.
    """

    def __init__(self, root: Path | str) -> None:
        self.path = Path(root) / USERS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, str] = {}

    def _current(self) -> dict[str, str]:
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._users = None, {}
                return self._users
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp != self._stamp:
                try:
                    loaded = json.loads(self.path.read_text(encoding="utf-8"))
                    if not isinstance(loaded, dict):
                        raise ValueError("not a JSON object")
                    users = {normalize_address(str(k)): str(v) for k, v in loaded.items()}
                except (OSError, ValueError) as exc:
                    # Half-edited by hand? Keep the last good copy rather than lock everyone out.
                    log.warning(
                        "devmail: cannot read %s (%s); keeping the previous users", self.path, exc
                    )
                    return self._users
                self._stamp, self._users = stamp, users
            return self._users

    def all(self) -> dict[str, str]:
        return dict(self._current())

    def exists(self, address: str) -> bool:
        try:
            return normalize_address(address) in self._current()
        except ValueError:
            return False

    def check(self, address: str, password: bytes | str) -> bool:
        """Constant-time password check; False for unknown users."""
        try:
            expected = self._current().get(normalize_address(address))
        except ValueError:
            return False
        if expected is None:
            return False
        if isinstance(password, str):
            password = password.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(expected.encode("utf-8"), password)

    def add(self, address: str, password: str) -> bool:
        """Add or update a user (and create the mailbox directory). True if new."""
        address = normalize_address(address)
        if not password or any(c in password for c in "\r\n\0"):
            raise ValueError("the password must be non-empty, without CR, LF or NUL")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                users = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                users = {}
            created = address not in users
            users[address] = password
            text = json.dumps(users, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            _atomic_write(self.path, text.encode("utf-8"), mode=0o600)
            self._stamp = None  # force a re-read
        (self.path.parent / address).mkdir(exist_ok=True)
        return created


@dataclass(frozen=True)
class StoredMessage:
    uid: str  # what UIDL reports: the file name without ".eml"
    data: bytes  # exactly what RETR serves (CRLF line endings)
    path: Path


class MailStore:
    """One directory of `.eml` files per address; name order is arrival order."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._last_ns = 0

    def directory(self, address: str) -> Path:
        return self.root / normalize_address(address)

    def _next_name(self) -> str:
        # Nanoseconds, strictly increasing within this process, zero-padded so
        # that sorting names sorts by arrival; the random part keeps names unique
        # across processes.
        with self._lock:
            self._last_ns = max(time.time_ns(), self._last_ns + 1)
            stamp = self._last_ns
        return f"{stamp:020d}.{secrets.token_hex(4)}"

    def deliver(self, address: str, data: bytes) -> StoredMessage:
        directory = self.directory(address)
        directory.mkdir(parents=True, exist_ok=True)
        data = to_crlf(data)
        uid = self._next_name()
        path = directory / f"{uid}.eml"
        _atomic_write(path, data)
        return StoredMessage(uid, data, path)

    def paths(self, address: str) -> list[Path]:
        try:
            directory = self.directory(address)
            names = os.listdir(directory)
        except (ValueError, FileNotFoundError):
            return []
        return [directory / n for n in sorted(names) if n.endswith(".eml") and n[0] != "."]

    def count(self, address: str) -> int:
        return len(self.paths(address))
