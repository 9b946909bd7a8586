"""The admin's System status page: workers, beat, outbox and each account, staff only."""

import os
import time
from datetime import timedelta

import pytest
from celery import signals
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from mailbox.models import BeatDispatch, Outgoing, OutgoingStatus
from tests.conftest import make_account, make_user
from tests.mailbox.test_celery_worker import _producer, celery_worker_process  # noqa: F401
from webmail import celery as celery_module
from webmail.health_status import answering_workers

pytestmark = pytest.mark.django_db
URL = "/admin/status/"


def outgoing(account, status, **fields):
    return Outgoing.objects.create(owner=account.user, account=account, status=status, **fields)


def test_the_status_page_is_for_staff_only(client, alice, charlie):
    assert reverse("system-status") == URL

    response = client.get(URL)
    assert response.status_code == 302  # anonymous: to a login page

    client.force_login(alice)  # a user, not staff
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

    staff = make_user("dave", is_staff=True)  # staff without the right to see accounts
    client.force_login(staff)
    assert client.get(URL).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_mailaccount"))
    client.force_login(staff)
    assert client.get(URL).status_code == 200

    client.force_login(charlie)
    assert client.get(URL).status_code == 200


def test_the_admin_index_links_to_the_status_page(client, charlie, alice):
    client.force_login(charlie)
    html = client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in html

    staff = make_user("dave", is_staff=True)
    client.force_login(staff)
    assert f'href="{URL}"' not in client.get(reverse("admin:index")).content.decode()


def test_the_page_shows_an_accounts_error_and_back_off(client, charlie, alice, bob):
    now = timezone.now()
    failing = make_account(
        alice,
        last_poll_at=now - timedelta(minutes=3),
        last_poll_error="-ERR [AUTH] Authentication failed.",  # the server's reply
        auth_failures=2,
        next_poll_at=now + timedelta(minutes=20),
    )
    healthy = make_account(bob, last_poll_at=now, next_poll_at=now + timedelta(minutes=5))
    client.force_login(charlie)

    html = client.get(URL).content.decode()

    assert "-ERR [AUTH] Authentication failed." in html
    assert "2 failed logins in a row" in html
    assert "backing off until" in html
    assert html.index(failing.email) < html.index(healthy.email)  # trouble first
    assert "2 mail accounts" in html and "1 failing" in html
    assert failing.pop3_password not in html and healthy.smtp_password not in html


def test_the_page_counts_the_outbox_by_state_with_the_oldest_waiting(client, charlie, alice):
    account = make_account(alice)
    now = timezone.now()
    outgoing(account, OutgoingStatus.QUEUED, queued_at=now - timedelta(hours=2))
    outgoing(account, OutgoingStatus.QUEUED, queued_at=now, send_after=now + timedelta(days=1))
    outgoing(account, OutgoingStatus.RETRYING, queued_at=now - timedelta(minutes=5))
    outgoing(account, OutgoingStatus.FAILED)
    outgoing(account, OutgoingStatus.FAILED)
    outgoing(account, OutgoingStatus.DRAFT)
    client.force_login(charlie)

    response = client.get(URL)

    states = dict(response.context["outbox"]["states"])
    assert states == {
        "Queued": 2,
        "Sending": 0,
        "Retrying": 1,
        "Failed": 2,
        "Delivery unknown": 0,
    }
    assert response.context["outbox"]["scheduled"] == 1
    age = response.context["outbox"]["oldest_age"]
    assert timedelta(hours=2) <= age < timedelta(hours=2, minutes=1)
    assert "due for 2\xa0hours" in response.content.decode()


def test_with_no_worker_answering_the_page_says_so_quickly(client, charlie, settings):
    settings.WEBMAIL_STATUS_INSPECT_TIMEOUT = 0.3
    client.force_login(charlie)

    started = time.monotonic()
    response = client.get(URL)
    elapsed = time.monotonic() - started

    assert response.context["workers"] == []
    assert "No worker answered within 0.3 s" in response.content.decode()
    assert elapsed < 5


def test_with_the_broker_down_the_page_says_so_without_asking_workers(client, charlie, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:hunter2@127.0.0.1:9/0")
    client.force_login(charlie)

    html = client.get(URL).content.decode()

    assert "The Celery broker cannot be reached" in html
    assert "hunter2" not in html


def test_beat_records_each_dispatch_and_the_page_shows_it(client, charlie, monkeypatch):
    client.force_login(charlie)
    assert "Never recorded" in client.get(URL).content.decode()

    # Outside beat (a web process, a worker), publishing a task records nothing.
    signals.after_task_publish.send(sender="mailbox.tasks.dispatch_polls", headers={}, body=())
    assert not BeatDispatch.objects.exists()

    monkeypatch.setattr(celery_module, "_in_beat", False)
    signals.beat_init.send(sender=None)  # what `celery beat` sends as it starts
    before = timezone.now()
    signals.after_task_publish.send(sender="mailbox.tasks.dispatch_polls", headers={}, body=())
    signals.after_task_publish.send(sender="mailbox.tasks.sweep_outbox", headers={}, body=())

    recorded = dict(BeatDispatch.objects.values_list("task", "dispatched_at"))
    assert set(recorded) == {"mailbox.tasks.dispatch_polls", "mailbox.tasks.sweep_outbox"}
    assert all(when >= before for when in recorded.values())
    response = client.get(URL)
    html = response.content.decode()
    assert "mailbox.tasks.dispatch_polls" in html and "Never recorded" not in html
    assert response.context["beat_late"] is False

    BeatDispatch.objects.update(dispatched_at=timezone.now() - timedelta(minutes=10))
    assert "is it running?" in client.get(URL).content.decode()


def test_the_page_is_in_korean_for_a_korean_admin(client, charlie, alice):
    make_account(alice)
    client.force_login(charlie)

    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    assert "시스템 상태" in html
    assert "System status" not in html


def test_a_running_worker_answers_with_its_name_uptime_and_tasks(
    celery_worker_process,  # noqa: F811 - the fixture imported above
    monkeypatch,
):
    producer = _producer(celery_worker_process, monkeypatch)
    try:
        deadline = time.monotonic() + 60
        workers = []
        while not workers and time.monotonic() < deadline:  # until the worker has started
            workers = answering_workers(1.0, celery_app=producer)
    finally:
        celery_module.app.set_current()  # a new Celery() made itself the current app

    (worker,) = [w for w in workers if w.name == f"test-{os.getpid()}@localhost"]
    assert worker.pid and worker.concurrency == 1  # --pool=solo
    assert worker.started_at <= worker.answered_at <= timezone.now()
    assert worker.processed == 0
