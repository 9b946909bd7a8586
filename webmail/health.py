"""`/healthz`: is this process able to work? Database, Celery broker and media storage.

GET or HEAD `/healthz` answers 200 and `{"status": "ok", "checks": {...}}` when all
three answer, 503 naming the ones that failed (`"broker": "fail: OperationalError"`).
The body names a check and an exception's class, never its message: a broker or
database error can quote a URL with its password or a host name. The details go to the
server's log.

It is served by a middleware at the top of MIDDLEWARE, before anything reads the Host
header or redirects to HTTPS: a container's healthcheck or a load balancer probes
`http://127.0.0.1:8000/healthz`, by address and in plain HTTP, which ALLOWED_HOSTS and
SECURE_SSL_REDIRECT would otherwise refuse. No login, no session, no CSRF (GET only),
nothing that needs the database beyond its own check.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpResponse

from .celery import app

log = logging.getLogger(__name__)

PATHS = {"/healthz", "/healthz/"}
BROKER_TIMEOUT = 1.5  # seconds, per attempt (two at most); the compose healthcheck allows 5
STORAGE_PROBE_PREFIX = "healthz/"


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    """Connect to Celery's broker (Redis, or the filesystem transport of `make run`)."""
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as conn:
        # One attempt, no retry loop: a down broker answers "fail" within the timeout.
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)


def check_storage() -> None:
    """Write, find and delete a tiny object through the Storage API (a local directory
    or S3 alike): a full disk or a read-only media directory fails here."""
    name = default_storage.save(
        f"{STORAGE_PROBE_PREFIX}{uuid.uuid4().hex}.probe", ContentFile(b"ok")
    )
    try:
        if not default_storage.exists(name):
            raise OSError("the probe written to storage cannot be found")
    finally:
        default_storage.delete(name)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


def run_checks() -> dict[str, str]:
    """{check: "ok" | "fail: ExceptionClass"}, every check run even after a failure."""
    outcome = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            log.warning("healthz: the %s check failed", name, exc_info=True)
            outcome[name] = f"fail: {type(exc).__name__}"
        else:
            outcome[name] = "ok"
    return outcome


def healthz(request) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    checks = run_checks()
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "fail", "checks": checks}
    response = HttpResponse(
        json.dumps(body), content_type="application/json", status=200 if healthy else 503
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if request.method == "HEAD":
        response.content = b""  # the status code is the answer
    return response


class HealthCheckMiddleware:
    """Answers `/healthz` itself (see the module's docstring); first in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info in PATHS:
            return healthz(request)
        return self.get_response(request)
