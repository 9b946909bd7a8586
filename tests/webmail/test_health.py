"""`/healthz`: database, Celery broker and media storage, answered without a login."""

import errno
import json

import pytest
from django.core.files.storage import FileSystemStorage, default_storage

from testkit.s3_server import use_s3
from tests.webmail.test_deploy_files import SERVICES

pytestmark = pytest.mark.django_db


def healthz(client, **extra):
    response = client.get("/healthz", **extra)
    return response, json.loads(response.content)


def test_healthz_answers_ok_without_a_login_when_everything_is_reachable(client):
    response, body = healthz(client)

    assert response.status_code == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
    }
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies  # no session, no CSRF cookie


def test_healthz_answers_a_probe_by_address_in_plain_http(client, settings):
    # A container healthcheck or a load balancer asks http://10.0.0.5:8000/healthz:
    # neither ALLOWED_HOSTS nor the HTTPS redirect may turn it away.
    settings.ALLOWED_HOSTS = ["mail.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response, body = healthz(client, HTTP_HOST="10.0.0.5:8000")

    assert response.status_code == 200
    assert body["status"] == "ok"
    assert client.get("/", HTTP_HOST="10.0.0.5:8000").status_code == 400  # the rest is not


def test_healthz_leaves_no_probe_object_behind(client):
    healthz(client)

    _dirs, files = default_storage.listdir("healthz")
    assert files == []


def test_healthz_with_the_broker_down_answers_503_naming_the_broker(client, monkeypatch):
    # A Redis that refuses connections, with a password in its URL.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:hunter2-secret@127.0.0.1:9/0")

    response, body = healthz(client)

    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["broker"].startswith("fail")
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"] == "ok"
    text = response.content.decode()
    assert "hunter2" not in text and "127.0.0.1" not in text and "redis://" not in text


def test_healthz_with_storage_full_answers_503_naming_storage(client, monkeypatch):
    def full(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device", name)

    monkeypatch.setattr(FileSystemStorage, "_save", full)

    response, body = healthz(client)

    assert response.status_code == 503
    assert body["checks"] == {"database": "ok", "broker": "ok", "storage": "fail: OSError"}


def test_healthz_with_a_read_only_media_directory_answers_503(client, settings, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "healthz").write_text("a file where the probe's directory should be")
    settings.MEDIA_ROOT = str(media)  # default_storage follows the setting

    response, body = healthz(client)

    assert response.status_code == 503
    assert body["checks"]["storage"].startswith("fail")


def test_healthz_with_the_database_down_answers_503_naming_the_database(client, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(self, sql, params=None):
        raise OperationalError("connection to server at db.internal failed")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)

    response, body = healthz(client)

    assert response.status_code == 503
    assert body["checks"]["database"] == "fail: OperationalError"
    assert "db.internal" not in response.content.decode()


def test_healthz_answers_head_with_the_status_alone(client, monkeypatch):
    assert client.head("/healthz").status_code == 200
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    response = client.head("/healthz")
    assert (response.status_code, response.content) == (503, b"")


def test_healthz_refuses_other_methods(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_compose_healthchecks_use_healthz_and_celerys_ping():
    web = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in web
    worker = " ".join(SERVICES["worker"]["healthcheck"]["test"])
    assert "celery -A webmail inspect ping" in worker
    assert "celery@$$HOSTNAME" in worker  # this container's worker, not any worker


def test_healthz_checks_s3_storage_and_leaves_no_probe_object(client, s3_media):
    response, body = healthz(client)

    assert response.status_code == 200
    assert body["checks"]["storage"] == "ok"
    assert s3_media.keys() == []  # the probe was written, found and deleted


def test_healthz_with_the_s3_endpoint_down_answers_503_naming_storage(
    client, s3_media, settings, unused_port
):
    server = s3_media.server
    down = f"http://127.0.0.1:{unused_port}"  # nothing listens there
    use_s3(settings, down, s3_media.bucket, server.access_key, server.secret_key)

    response, body = healthz(client)

    assert response.status_code == 503
    assert body["checks"]["storage"].startswith("fail")
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    text = response.content.decode()
    assert server.secret_key not in text and str(unused_port) not in text
