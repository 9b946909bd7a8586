"""A real Celery worker process, on the configured broker (Redis in CI).

Eager tasks prove the functions; this proves the wiring: the task is registered
under its name, its arguments survive serialization, the worker reads our
settings and the same database, and a poll enqueued from the web side lands.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from mailbox.models import Message
from testkit.mailfactory import mail
from tests.conftest import dovecot_account

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.dovecot, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_process(tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL", "memory://")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WEBMAIL_TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),  # the same stored files
    }
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    if broker.startswith("memory://"):
        # No broker server on this machine: kombu's filesystem transport still
        # crosses processes, like Redis does.
        broker = "filesystem://"
        queue = tmp_path / "queue"
        queue.mkdir()
        env["CELERY_BROKER_URL"] = broker
        env["CELERY_BROKER_FOLDER"] = str(queue)
    else:
        env["CELERY_BROKER_URL"] = broker
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "webmail",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            f"--hostname=test-{os.getpid()}@localhost",
            "--queues",
            f"test-{os.getpid()}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield env
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output)


def _producer(env: dict, monkeypatch):
    """A producer configured like the web process (not eager), on the worker's broker."""
    from celery import Celery

    # Celery lets CELERY_BROKER_URL in the environment win over the argument.
    monkeypatch.setenv("CELERY_BROKER_URL", env["CELERY_BROKER_URL"])
    producer = Celery("webmail-test-producer", broker=env["CELERY_BROKER_URL"])
    if "CELERY_BROKER_FOLDER" in env:
        folder = env["CELERY_BROKER_FOLDER"]
        producer.conf.broker_transport_options = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "control_folder": os.path.join(os.path.dirname(folder), "control"),
        }
    return producer


def _poll_through_worker(producer, account) -> None:
    """Enqueue a poll and wait until the worker has recorded it on the account."""
    before = account.last_poll_at
    producer.send_task("mailbox.tasks.poll_account", args=[account.pk], queue=f"test-{os.getpid()}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        account.refresh_from_db()
        if account.last_poll_at != before:
            return
        time.sleep(0.2)
    raise AssertionError("the worker did not run the poll")


def test_check_mail_through_a_real_worker(
    alice, dovecot, pop3_user, celery_worker_process, monkeypatch
):
    pop3_user.deliver(mail(subject="via the worker"))
    account = dovecot_account(alice, dovecot, pop3_user)
    _poll_through_worker(_producer(celery_worker_process, monkeypatch), account)

    message = Message.objects.get(account=account)
    assert message.subject == "via the worker"
    assert account.last_poll_new == 1


def _other_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sorted(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="server connections are visible on PostgreSQL only"
)
def test_worker_keeps_its_database_connection_between_tasks(
    alice, dovecot, pop3_user, celery_worker_process, monkeypatch
):
    account = dovecot_account(alice, dovecot, pop3_user)
    producer = _producer(celery_worker_process, monkeypatch)
    _poll_through_worker(producer, account)
    after_first = _other_backends()
    _poll_through_worker(producer, account)
    # Celery alone would close it after each task; CONN_MAX_AGE keeps the same one.
    assert after_first and _other_backends() == after_first
