"""Undo send, Send later and autosave (issue 16), through real SMTP (aiosmtpd).

The undo window and the scheduled time are enforced by the server: the claim refuses a
row before its `send_after`, so an early task does nothing, and the sweep only picks
rows whose time has come. A controllable clock (`clock`) stands in for waiting.
"""

import datetime as dt
import os
import time
import zoneinfo
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailbox import outbox, sending, tasks
from mailbox.models import Outgoing, OutgoingStatus
from tests.conftest import make_account
from tests.mailbox.test_celery_worker import celery_worker_process  # noqa: F401 - its fixture
from tests.mailbox.test_send import compose_post, smtp_account


class Clock:
    """timezone.now() as the test says (outbox, sending, the views and the tasks all
    read the time through it)."""

    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def send(client, account, capture, **data):
    """Send from the compose page; tasks run eagerly after the commit, as a worker
    would the moment the task arrives (before the undo window is over)."""
    with capture(execute=True):
        response = compose_post(client, {"account": account.pk, **data})
    assert response.status_code == 302, response.content.decode()[:3000]
    return response, Outgoing.objects.filter(owner=account.user).latest("id")


@pytest.fixture
def undo_ten(alice):
    alice.undo_send_seconds = 10
    alice.save(update_fields=["undo_send_seconds"])
    return alice


# Undo send ------------------------------------------------------------------------


def test_undo_within_the_window_sends_nothing_and_restores_the_draft_with_its_attachment(
    alice_client, undo_ten, smtp_server, clock, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(undo_ten, server)
    response, outgoing = send(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="Bob <bob@example.test>",
        subject="보고서",
        body="안녕하세요\n",
        attachments=[SimpleUploadedFile("표.csv", b"a,b\r\n1,2\r\n", "text/csv")],
    )
    assert response.url == reverse("folder", args=["sent"])
    assert outgoing.status == OutgoingStatus.QUEUED  # the task ran: too early, nothing to do
    assert outgoing.send_after == clock.now + timedelta(seconds=10)
    assert server.messages == []

    page = alice_client.get(response.url).content.decode()
    assert "Sending in 10 seconds." in page
    undo_url = reverse("undo_send", args=[outgoing.pk])
    assert f'action="{undo_url}"' in page  # a plain form: works without JavaScript
    assert 'data-toast-ms="10000"' in page

    clock.advance(seconds=9)
    response = alice_client.post(undo_url)
    assert response.url == reverse("compose_edit", args=[outgoing.pk])
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.DRAFT and outgoing.send_after is None
    page = alice_client.get(response.url).content.decode()
    assert "Sending undone: the message is back in Drafts." in page
    assert "Bob &lt;bob@example.test&gt;" in page and "보고서" in page and "안녕하세요" in page
    assert "표.csv" in page
    assert [a.filename for a in outgoing.attachments.all()] == ["표.csv"]

    # Whatever comes for it later finds a draft: nothing is ever delivered.
    clock.advance(minutes=5)
    assert tasks.send_outgoing(outgoing.pk) == "nothing to do"
    assert outgoing.pk not in outbox.due_for_delivery()
    assert server.messages == []


def test_undo_after_delivery_is_refused_with_a_clear_message(
    alice_client, undo_ten, smtp_server, clock, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(undo_ten, server)
    _, outgoing = send(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    clock.advance(seconds=10)
    assert outbox.deliver(outgoing.pk) == "sent"

    response = alice_client.post(reverse("undo_send", args=[outgoing.pk]), follow=True)
    assert "Too late to undo: the message was sent." in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    assert len(server.messages) == 1


def test_undo_while_a_worker_sends_it_is_refused(
    alice_client, undo_ten, smtp_server, clock, django_capture_on_commit_callbacks
):
    account = smtp_account(undo_ten, smtp_server())
    _, outgoing = send(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    clock.advance(seconds=11)
    assert not sending.take_back(outgoing)  # its time has come: it counts as sent
    Outgoing.objects.filter(pk=outgoing.pk).update(status=OutgoingStatus.SENDING)
    response = alice_client.post(reverse("undo_send", args=[outgoing.pk]), follow=True)
    assert "Too late to undo: the message is being sent." in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENDING


def test_undo_is_the_owners_alone(
    bob, undo_ten, smtp_server, django_capture_on_commit_callbacks, alice_client
):
    account = smtp_account(undo_ten, smtp_server())
    _, outgoing = send(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    client = Client()  # bob's own browser
    client.force_login(bob)
    assert client.post(reverse("undo_send", args=[outgoing.pk])).status_code == 404
    assert client.post(reverse("send_now", args=[outgoing.pk])).status_code == 404
    assert Outgoing.objects.get(pk=outgoing.pk).status == OutgoingStatus.QUEUED


def test_a_task_that_comes_early_does_not_send_and_the_sweep_waits_too(
    alice_client, undo_ten, smtp_server, clock, django_capture_on_commit_callbacks
):
    """A worker restart redelivers the task at once, before send_after: it does nothing,
    and the sweep does not enqueue the row before its time either."""
    server = smtp_server()
    account = smtp_account(undo_ten, server)
    _, outgoing = send(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    assert tasks.send_outgoing(outgoing.pk) == "nothing to do"  # the redelivered task
    Outgoing.objects.filter(pk=outgoing.pk).update(queued_at=clock.now - timedelta(hours=1))
    assert outgoing.pk not in outbox.due_for_delivery(clock.now)
    assert server.messages == []

    clock.advance(seconds=10)
    assert outbox.due_for_delivery(clock.now) == [outgoing.pk]
    assert tasks.send_outgoing(outgoing.pk) == "sent"
    assert tasks.send_outgoing(outgoing.pk) == "nothing to do"
    assert len(server.messages) == 1


def test_undo_off_sends_at_once_without_a_toast(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)  # the suite's users: undo_send_seconds=0
    response, outgoing = send(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT and len(server.messages) == 1
    page = alice_client.get(response.url).content.decode()
    assert "Queued for sending." in page and "data-undo" not in page


def test_the_undo_window_is_enqueued_with_an_eta_and_send_later_is_left_to_the_sweep(
    alice, monkeypatch, clock
):
    calls = []
    monkeypatch.setattr(tasks.send_outgoing, "apply_async", lambda *a, **k: calls.append(k))
    monkeypatch.setattr(tasks.send_outgoing, "delay", lambda *a: calls.append("now"))
    tasks.enqueue_delivery(Outgoing, outgoing_id=1, eta=clock.now + timedelta(seconds=10))
    tasks.enqueue_delivery(Outgoing, outgoing_id=2, eta=clock.now + timedelta(days=1))
    tasks.enqueue_delivery(Outgoing, outgoing_id=3, eta=clock.now)
    assert calls == [{"eta": clock.now + timedelta(seconds=10)}, "now"]


def test_undo_send_preference(alice_client, alice):
    page = alice_client.get(reverse("account_list")).content.decode()
    assert 'name="undo_send_seconds"' in page
    data = {"theme": "system", "list_density": "comfortable", "keyboard_shortcuts": "on"}
    alice_client.post(reverse("preferences"), {**data, "undo_send_seconds": "30"})
    alice.refresh_from_db()
    assert alice.undo_send_seconds == 30
    alice_client.post(reverse("preferences"), data)  # a form without it keeps it
    alice.refresh_from_db()
    assert alice.undo_send_seconds == 30


# Send later ---------------------------------------------------------------------


def schedule(client, account, capture, when: str = "", preset: str = "custom", **data):
    with capture(execute=True):
        return compose_post(
            client,
            {"account": account.pk, "send_later": preset, "send_at": when, **data},
            action="",
        )


def local(moment: dt.datetime, zone: str = "UTC") -> str:
    """What the datetime-local input sends, in the user's zone (the server default)."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def test_a_scheduled_message_goes_out_once_at_its_time_and_not_before(
    alice_client, alice, smtp_server, clock, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    at = (clock.now + timedelta(hours=3)).replace(second=0, microsecond=0)
    response = schedule(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        local(at),
        to="bob@example.test",
        subject="later",
    )
    assert response.status_code == 302
    outgoing = Outgoing.objects.get(owner=alice)
    assert (outgoing.status, outgoing.scheduled, outgoing.send_after) == ("queued", True, at)
    page = alice_client.get(response.url).content.decode()
    assert "Scheduled to be sent" in page
    assert "Will be sent:" in page and reverse("send_now", args=[outgoing.pk]) in page
    assert reverse("edit_scheduled", args=[outgoing.pk]) in page
    assert reverse("cancel_scheduled", args=[outgoing.pk]) in page

    # Beat's sweep every minute: nothing before its time (a restart changes nothing:
    # the row is the truth), then exactly once.
    for minutes in (1, 60, 179):
        clock.now = outgoing.send_after - timedelta(minutes=180 - minutes)
        assert tasks.sweep_outbox() == 0
        assert tasks.send_outgoing(outgoing.pk) == "nothing to do"
    assert server.messages == []
    clock.now = at + timedelta(seconds=20)
    assert tasks.sweep_outbox() == 1
    assert tasks.sweep_outbox() == 0
    assert len(server.messages) == 1
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT


def test_send_later_presets_are_in_the_users_time_zone(
    alice_client, alice, smtp_server, clock, django_capture_on_commit_callbacks
):
    alice.time_zone = "Asia/Seoul"
    alice.save(update_fields=["time_zone"])
    account = smtp_account(alice, smtp_server())
    clock.now = dt.datetime(2026, 3, 4, 1, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Seoul
    page = alice_client.get(reverse("compose")).content.decode()
    assert "Tomorrow morning" in page and "Monday morning" in page
    schedule(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        preset="monday",
        to="bob@example.test",
    )
    outgoing = Outgoing.objects.get(owner=alice)
    seoul = dt.timezone(dt.timedelta(hours=9))
    assert outgoing.send_after == dt.datetime(2026, 3, 9, 8, 0, tzinfo=seoul)


def test_send_later_refuses_a_time_in_the_past_naming_the_field(
    alice_client, alice, smtp_server, clock, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    response = schedule(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        local(clock.now - timedelta(hours=1)),
        to="bob@example.test",
    )
    assert response.status_code == 200
    assert "Send at: Choose a time in the future." in response.content.decode()
    assert not Outgoing.objects.filter(owner=alice).exclude(status="draft").exists()


@pytest.fixture
def scheduled(alice_client, alice, smtp_server, clock, django_capture_on_commit_callbacks):
    server = smtp_server()
    account = smtp_account(alice, server)
    schedule(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        local(clock.now + timedelta(days=2)),
        to="bob@example.test",
        subject="scheduled",
        body="text kept",
    )
    return Outgoing.objects.get(owner=alice), server


def test_send_now_sends_a_scheduled_message_at_once(
    alice_client, scheduled, django_capture_on_commit_callbacks
):
    outgoing, server = scheduled
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("send_now", args=[outgoing.pk]), follow=True)
    assert "Sending now." in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT and len(server.messages) == 1
    response = alice_client.post(reverse("send_now", args=[outgoing.pk]), follow=True)
    assert "Too late to change it: the message was sent." in response.content.decode()
    assert len(server.messages) == 1


def test_edit_takes_a_scheduled_message_back_to_compose(alice_client, scheduled, clock):
    outgoing, server = scheduled
    response = alice_client.post(reverse("edit_scheduled", args=[outgoing.pk]))
    assert response.url == reverse("compose_edit", args=[outgoing.pk])
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.DRAFT and not outgoing.scheduled
    assert "text kept" in alice_client.get(response.url).content.decode()
    clock.advance(days=3)
    assert tasks.sweep_outbox() == 0 and server.messages == []


def test_cancel_keeps_a_scheduled_message_in_drafts(alice_client, scheduled, clock):
    outgoing, server = scheduled
    response = alice_client.post(reverse("cancel_scheduled", args=[outgoing.pk]), follow=True)
    assert "Sending later cancelled: the message is in Drafts." in response.content.decode()
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.body) == (OutgoingStatus.DRAFT, "text kept")
    clock.advance(days=3)
    assert tasks.sweep_outbox() == 0 and server.messages == []


# Autosave -----------------------------------------------------------------------


def autosave(client, account, url=None, **data):
    payload = {"account": account.pk, "to": "", "cc": "", "bcc": "", "subject": "", "body": ""}
    return client.post(
        url or reverse("autosave_draft"), {**payload, **data}, HTTP_ACCEPT="application/json"
    )


def test_autosave_starts_one_draft_and_keeps_saving_into_it(alice_client, alice):
    account = make_account(alice)
    first = autosave(alice_client, account, to="bob@", body="Hel", version="0")
    assert first.status_code == 200, first.content
    answer = first.json()
    assert answer["version"] == 1 and answer["saved"].startswith("Saved at ")
    assert answer["autosave_url"] == reverse("autosave_draft_to", args=[answer["draft"]])
    for n, text in enumerate(["Hello", "Hello, Bob", "Hello, Bob!"], start=1):
        response = autosave(
            alice_client, account, answer["autosave_url"], to="bob@", body=text, version=n
        )
        assert response.json()["version"] == n + 1
    draft = Outgoing.objects.get(owner=alice)  # one draft, never a second
    assert (draft.pk, draft.body, draft.to, draft.version) == (
        answer["draft"],
        "Hello, Bob!",
        "bob@",
        4,
    )
    # An upload goes to the same draft (compose.js learns it from the same answer).
    upload = alice_client.post(
        reverse("upload_attachment_to", args=[draft.pk]),
        {"file": SimpleUploadedFile("a.txt", b"a"), "size": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert upload.status_code == 201 and upload.json()["draft"] == draft.pk
    assert Outgoing.objects.filter(owner=alice).count() == 1


def test_a_save_from_an_older_tab_is_refused_and_the_newer_text_kept(alice_client, alice):
    account = make_account(alice)
    url = autosave(alice_client, account, body="v1").json()["autosave_url"]
    # Two tabs have version 1; the first saves (→ 2), the second is behind.
    assert autosave(alice_client, account, url, body="newer", version=1).status_code == 200
    stale = autosave(alice_client, account, url, body="older", version=1)
    assert stale.status_code == 409
    assert stale.json()["conflict"] is True and stale.json()["version"] == 2
    assert "changed in another tab" in stale.json()["error"]
    draft = Outgoing.objects.get(owner=alice)
    assert (draft.body, draft.version) == ("newer", 2)

    # The page's own Save draft button is held to the same rule.
    response = alice_client.post(
        reverse("compose_edit", args=[draft.pk]),
        {"account": account.pk, "to": "", "cc": "", "bcc": "", "subject": "", "body": "old"}
        | {"action": "save", "version": "1"},
    )
    assert response.status_code == 200
    assert "changed in another tab" in response.content.decode()
    draft.refresh_from_db()
    assert draft.body == "newer"


def test_autosave_never_touches_a_queued_message_or_someone_elses(alice_client, alice, bob, client):
    account = make_account(alice)
    url = autosave(alice_client, account, body="mine").json()["autosave_url"]
    draft = Outgoing.objects.get(owner=alice)
    client = Client()  # bob's own browser
    client.force_login(bob)
    assert autosave(client, account, url, body="bob's").status_code == 404
    Outgoing.objects.filter(pk=draft.pk).update(status=OutgoingStatus.QUEUED)
    late = autosave(alice_client, account, url, body="after send", version=1)
    assert late.status_code == 409 and late.json()["sent"] is True
    draft.refresh_from_db()
    assert (draft.status, draft.body) == (OutgoingStatus.QUEUED, "mine")


def test_compose_page_offers_send_later_and_autosave(alice_client, alice):
    make_account(alice)
    page = alice_client.get(reverse("compose")).content.decode()
    assert f'data-autosave-url="{reverse("autosave_draft")}"' in page
    assert 'id="autosave-status" role="status" aria-live="polite"' in page
    assert 'name="version"' in page and 'name="send_at"' in page
    assert "js/autosave.js" in page


# A real worker -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_waits_out_the_undo_window_and_sends_once(
    alice, smtp_server, request, monkeypatch
):
    """The wiring, in a real `celery worker` process: a task that arrives at once (a
    redelivery, a restarted worker) does nothing; the one with the ETA delivers once."""
    from tests.mailbox.test_celery_worker import _producer

    server = smtp_server()
    account = smtp_account(alice, server)
    producer = _producer(request.getfixturevalue("celery_worker_process"), monkeypatch)
    queue = f"test-{os.getpid()}"
    # Only the worker runs tasks here (not the eager in-process enqueue after commit).
    nowhere = staticmethod(lambda *args, **kwargs: None)
    monkeypatch.setattr(
        tasks, "send_outgoing", type("NotHere", (), {"delay": nowhere, "apply_async": nowhere})
    )

    def run_on_worker(outgoing, **options):
        producer.send_task(
            "mailbox.tasks.send_outgoing", args=[outgoing.pk], queue=queue, **options
        )

    def wait_until_sent(outgoing):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            outgoing.refresh_from_db()
            if outgoing.status == OutgoingStatus.SENT:
                return
            time.sleep(0.2)
        raise AssertionError(f"not sent: {outgoing.status}")

    # The worker is up (a message without undo goes through it)…
    first = Outgoing.objects.create(owner=alice, account=account, to="bob@example.test")
    run_on_worker(outbox.queue_for_sending(first))
    wait_until_sent(first)

    # …then one with a 5 s undo window: at once (a redelivery), and with its ETA.
    alice.undo_send_seconds = 5
    alice.save(update_fields=["undo_send_seconds"])
    outgoing = Outgoing.objects.create(owner=alice, account=account, to="bob@example.test")
    outgoing = outbox.queue_for_sending(outgoing)
    run_on_worker(outgoing)
    run_on_worker(outgoing, eta=outgoing.send_after)
    while timezone.now() < outgoing.send_after - timedelta(seconds=0.5):
        assert len(server.messages) == 1  # the first one only
        time.sleep(0.2)
    wait_until_sent(outgoing)
    assert outgoing.sent_at >= outgoing.send_after
    assert len(server.messages) == 2
