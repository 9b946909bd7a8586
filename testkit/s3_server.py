"""An S3 API server for tests: moto's standalone server on a loopback port.

Plain module of fixtures; `tests/conftest.py` does `from testkit.s3_server import *`.

- `s3_server` (session): `python -m moto.server` (PyPI's moto, requirements-dev.txt) in a
  process of its own on 127.0.0.1, so the storage code talks HTTP to a real server, as
  it would to MinIO or AWS, and what a test measures of its own memory leaves the
  server's out. `stop()` and `start()` take it down and bring it back on the same port
  (objects stored before are gone: moto keeps them in memory).
- `s3_media` (function): the default storage switched to django-storages' S3 backend
  on a new, empty bucket of that server, configured as WEBMAIL_MEDIA_STORAGE=s3 does.
- `use_s3(settings, endpoint, bucket)`: the same switch for any endpoint (a closed
  port: an S3 endpoint that is down).

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["S3Media", "S3Server", "s3_media", "s3_server", "use_s3"]

LOOPBACK = "127.0.0.1"
ACCESS_KEY = "webmail-test-access-key"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class S3Server:
    """moto's S3-compatible server, a subprocess on a loopback port."""

    host = LOOPBACK

    def __init__(self, log_dir: Path) -> None:
        self.port = _free_port()
        self.log_path = log_dir / "moto-server.log"
        self.process: subprocess.Popen | None = None
        # Any key pair works with moto; a random secret lets tests check it is never logged.
        self.access_key = ACCESS_KEY
        self.secret_key = "s3-secret-" + secrets.token_hex(16)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)  # noqa: S310
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not start in {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
        )

    def create_bucket(self) -> str:
        name = f"webmail-test-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with tempfile.TemporaryDirectory(prefix="webmail-s3-") as log_dir:
        server = S3Server(Path(log_dir))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass(frozen=True)
class S3Media:
    server: S3Server
    bucket: str

    def object_bytes(self, name: str) -> bytes:
        """An object's bytes, read with a client of the test's own (not the app's)."""
        return self.server.client().get_object(Bucket=self.bucket, Key=name)["Body"].read()

    def keys(self) -> list[str]:
        pages = self.server.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))


def use_s3(settings, endpoint: str, bucket: str, access_key: str, secret_key: str) -> None:
    """Make the default storage django-storages' S3 backend, with the AWS_* settings and
    the client and transfer configuration that webmail/settings.py gives it."""
    from webmail import object_storage

    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_ACCESS_KEY_ID = access_key
    settings.AWS_SECRET_ACCESS_KEY = secret_key
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_S3_FILE_OVERWRITE = True
    settings.AWS_S3_MAX_MEMORY_SIZE = 2_621_440
    settings.AWS_S3_CLIENT_CONFIG = object_storage.client_config()
    settings.AWS_S3_TRANSFER_CONFIG = object_storage.transfer_config()
    # Last: changing STORAGES makes Django build the default storage anew, from the above.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
    }


@pytest.fixture
def s3_media(settings, s3_server: S3Server) -> S3Media:
    bucket = s3_server.create_bucket()
    use_s3(settings, s3_server.endpoint, bucket, s3_server.access_key, s3_server.secret_key)
    return S3Media(s3_server, bucket)
