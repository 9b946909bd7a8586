"""Mail between local users in seconds: the accounts here that a send was accepted for are
polled at once (mailbox.polling), only those, at most once per WEBMAIL_LOCAL_POLL_SECONDS."""

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from accounts.models import MailAccount
from devmail import DevMail
from mailbox import outbox, polling, tasks
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from tests.conftest import make_account, make_user
from tests.mailbox.test_full_loop import devmail_account

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def devmail(tmp_path):
    server = DevMail(
        tmp_path / "devmail",
        "example.test",
        smtp=("127.0.0.1", 0),
        pop3=("127.0.0.1", 0),
        pop3_timeout=10.0,
    )
    for name in ("alice", "bob", "charlie"):
        server.add_user(f"{name}@example.test", f"{name}-mail")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fast_path(settings):
    settings.WEBMAIL_LOCAL_POLL_SECONDS = 10
    settings.WEBMAIL_LOCAL_MAIL_DOMAINS = []
    return settings


def test_only_enabled_accounts_of_accepted_recipients_on_the_same_server_match(
    alice, bob, charlie, fast_path
):
    sender = make_account(alice, smtp_host="mail.example.test")
    bob_here = make_account(bob, email="Bob@Example.test", pop3_host="MAIL.example.test.")
    make_account(charlie, email="bob@example.test", pop3_host="pop.elsewhere.test")
    make_account(charlie, email="carol@example.test", pop3_host="mail.example.test")
    make_account(bob, email="bob@example.test", pop3_host="mail.example.test", enabled=False)

    matched = polling.local_recipient_accounts(sender, ["bob@example.test", "dave@example.test"])

    assert matched == [bob_here.pk]


def test_a_configured_local_domain_matches_whatever_server_sent_it(alice, bob, fast_path):
    fast_path.WEBMAIL_LOCAL_MAIL_DOMAINS = ["corp.test"]
    sender = make_account(alice, smtp_host="smtp.provider.test")
    corp = make_account(bob, email="bob@corp.test", pop3_host="pop.corp.test")
    make_account(bob, email="bob@other.test", pop3_host="pop.other.test")

    matched = polling.local_recipient_accounts(sender, ["bob@corp.test", "bob@other.test"])

    assert matched == [corp.pk]


def test_a_second_send_within_the_gap_plans_one_poll_at_its_end(bob, fast_path):
    account = make_account(bob)
    t0 = timezone.now()

    assert polling.claim_local_poll(account.pk, t0) == timedelta(0)
    assert polling.claim_local_poll(account.pk, t0 + timedelta(seconds=1)) == timedelta(seconds=9)
    # A poll is planned for t0 + 10 s: it fetches whatever arrives before it.
    assert polling.claim_local_poll(account.pk, t0 + timedelta(seconds=2)) is None
    assert polling.claim_local_poll(account.pk, t0 + timedelta(seconds=9)) is None
    # 1 s after the planned one ran: the next waits for the end of its gap.
    assert polling.claim_local_poll(account.pk, t0 + timedelta(seconds=11)) == timedelta(seconds=9)
    assert polling.claim_local_poll(account.pk, t0 + timedelta(seconds=31)) == timedelta(0)


def test_the_fast_path_is_off_at_zero_seconds(bob, settings):
    settings.WEBMAIL_LOCAL_POLL_SECONDS = 0
    account = make_account(bob)
    assert polling.claim_local_poll(account.pk) is None
    assert (
        polling.claim_local_polls(make_account(bob, email="b2@example.test"), [account.email]) == []
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_one_immediate_and_one_planned_poll(fast_path):
    account = make_account(make_user("bob"))
    now = timezone.now()
    barrier = threading.Barrier(6)
    results = []

    def claim():
        try:
            barrier.wait()
            results.append(polling.claim_local_poll(account.pk, now))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == sorted(
        [timedelta(0), timedelta(seconds=10)] + [None] * 4, key=str
    )


def test_sending_polls_the_local_recipients_at_once_and_nobody_else(
    alice, bob, charlie, devmail, fast_path, django_capture_on_commit_callbacks
):
    alice_account = devmail_account(alice, devmail, "alice-mail")
    bob_account = devmail_account(bob, devmail, "bob-mail")
    charlie_account = devmail_account(charlie, devmail, "charlie-mail")
    outgoing = Outgoing.objects.create(
        owner=alice, account=alice_account, to="bob@example.test", subject="in seconds"
    )

    with django_capture_on_commit_callbacks(execute=True):
        outbox.queue_for_sending(outgoing)

    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    # No scheduled poll ran: the send's own fast path fetched it.
    message = Message.objects.get(owner=bob, folder=Folder.INBOX)
    assert message.subject == "in seconds"
    bob_account.refresh_from_db()
    assert bob_account.local_poll_at is not None and bob_account.last_mail_at is not None
    charlie_account.refresh_from_db()
    assert charlie_account.last_poll_at is None and charlie_account.local_poll_at is None
    alice_account.refresh_from_db()
    assert alice_account.last_poll_at is None


def test_a_second_send_within_the_gap_does_not_poll_again_at_once(
    alice, bob, devmail, fast_path, monkeypatch, django_capture_on_commit_callbacks
):
    alice_account = devmail_account(alice, devmail, "alice-mail")
    bob_account = devmail_account(bob, devmail, "bob-mail")
    enqueued = []
    monkeypatch.setattr(tasks.poll_account_now, "delay", lambda pk: enqueued.append((pk, 0)))
    monkeypatch.setattr(
        tasks.poll_account_now,
        "apply_async",
        lambda args, countdown: enqueued.append((args[0], countdown)),
    )

    for subject in ("one", "two", "three"):
        outgoing = Outgoing.objects.create(
            owner=alice, account=alice_account, to="bob@example.test", subject=subject
        )
        outbox.queue_for_sending(outgoing)  # its task is never enqueued: not committed
        with django_capture_on_commit_callbacks(execute=True):
            outbox.deliver(outgoing.pk)

    assert devmail.message_count("bob@example.test") == 3
    # One poll at once, one at the end of the 10 s gap; the third mail comes with it.
    assert [pk for pk, _ in enqueued] == [bob_account.pk, bob_account.pk]
    assert enqueued[0][1] == 0 and 0 < enqueued[1][1] <= 10


def test_the_fast_poll_waits_for_a_poll_already_running(bob, fast_path):
    account = make_account(bob)
    MailAccount.objects.filter(pk=account.pk).update(
        poll_lock_until=timezone.now() + timedelta(minutes=5)
    )

    # The running poll may have started before the mail arrived: try again shortly.
    with pytest.raises(Retry) as retried:
        tasks.poll_account_now.apply(args=[account.pk])
    assert retried.value.when == tasks.LOCAL_POLL_RETRY_SECONDS

    # After the last retry it gives up: the scheduled poll fetches the mail.
    result = tasks.poll_account_now.apply(args=[account.pk], retries=tasks.LOCAL_POLL_RETRIES)
    assert result.get() == "skipped: another poll of this account is running"


# A real worker: the loop takes seconds ---------------------------------------------


@pytest.fixture
def worker_env(tmp_path):
    queue = f"test-local-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WEBMAIL_TEST_MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "WEBMAIL_TEST_QUEUE": queue,
        "WEBMAIL_LOCAL_POLL_SECONDS": "10",
    }
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    broker = os.environ.get("CELERY_BROKER_URL", "memory://")
    if broker.startswith("memory://"):
        folder = tmp_path / "queue"
        folder.mkdir()
        env.update(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_FOLDER=str(folder))
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
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
                f"--hostname={queue}@localhost",
                "--queues",
                queue,
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield env
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(log.read_text(errors="replace")[-5000:])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_alice_to_bob_through_a_real_worker_arrives_in_seconds(devmail, worker_env, monkeypatch):
    from tests.mailbox.test_celery_worker import _producer

    alice, bob = make_user("alice"), make_user("bob")
    alice_account = devmail_account(alice, devmail, "alice-mail")
    devmail_account(bob, devmail, "bob-mail")
    outgoing = Outgoing.objects.create(
        owner=alice, account=alice_account, to="bob@example.test", subject="quick"
    )
    # Sending is the worker's job here. (The task itself, not shared_task's proxy: the
    # producer below becomes the current app, which the proxy would resolve to.)
    monkeypatch.setattr(tasks.send_outgoing._get_current_object(), "delay", lambda pk: None)
    outbox.queue_for_sending(outgoing)
    producer = _producer(worker_env, monkeypatch)

    started = time.monotonic()
    producer.send_task(
        "mailbox.tasks.send_outgoing", args=[outgoing.pk], queue=worker_env["WEBMAIL_TEST_QUEUE"]
    )
    while time.monotonic() - started < 60:
        if Message.objects.filter(owner=bob, subject="quick").exists():
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - started

    assert Message.objects.filter(owner=bob, subject="quick").exists(), "never arrived"
    # Scheduled polls come every few minutes (and beat is not even running here).
    assert elapsed < 10, f"took {elapsed:.1f} s"
