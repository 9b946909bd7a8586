"""A real Celery worker SIGKILLed while the SMTP server (behind testkit.smtp_faults) holds
each step of its session: no loss, no automatic duplicate, and out of "Sending" at the
first sweep after its lease (60 s) ran out. The sweep is called with the time it would
run at (a controllable clock) instead of waiting for it.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mailbox import leases, outbox, tasks
from mailbox.models import AttemptOutcome, Outgoing, OutgoingStatus
from testkit.smtp_faults import FaultProxy
from tests.conftest import make_account
from tests.mailbox.celery_workers import Workers

pytestmark = pytest.mark.django_db(transaction=True)

SEND_TASK = "mailbox.tasks.send_outgoing"


@pytest.fixture
def workers(tmp_path):
    # Rows are committed here, and this process runs tasks eagerly: the queued row's own
    # task would be delivered in the test. The worker gets it from the test instead.
    outbox.outgoing_queued.disconnect(tasks.enqueue_delivery)
    running = Workers(tmp_path)
    yield running
    running.stop()
    outbox.outgoing_queued.connect(tasks.enqueue_delivery)


@pytest.fixture
def proxied(smtp_server):
    server = smtp_server()
    proxy = FaultProxy(server.host, server.port)
    yield server, proxy
    proxy.close()


def big_message(megabytes: int) -> bytes:
    """Larger than the sockets' buffers: the worker is still writing it when held."""
    line = b"0123456789" * 7 + b"\r\n"
    return (
        b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: big\r\n"
        b"Message-ID: <big@example.test>\r\n\r\n" + line * (megabytes * 1024 * 1024 // len(line))
    )


def queue(alice, proxy, data: bytes | None = None) -> Outgoing:
    account = make_account(
        alice,
        smtp_host=proxy.host,
        smtp_port=proxy.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )
    if data is not None:  # finished bytes, queued as any send (a rule's forward's path)
        return outbox.queue_redirect(account, data, "bob@example.test")
    outgoing = Outgoing.objects.create(
        owner=alice, account=account, to="bob@example.test", subject="killed", body="hi\n"
    )
    return outbox.queue_for_sending(outgoing)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def row(outgoing: Outgoing) -> Outgoing:
    outgoing.refresh_from_db()
    return outgoing


def sweep_when_the_lease_has_run_out(outgoing: Outgoing) -> None:
    """Before the lease runs out the sweep leaves the row alone; the first sweep after it
    (beat runs it every minute) resolves it: at most lease + a minute, about 2 minutes."""
    held = row(outgoing)
    assert held.status == OutgoingStatus.SENDING
    assert held.lease_until - held.claimed_at <= leases.SENDING_LEASE + timedelta(seconds=20)
    outbox.due_for_delivery(now=held.lease_until - timedelta(seconds=1))
    assert row(outgoing).status == OutgoingStatus.SENDING
    outbox.due_for_delivery(now=held.lease_until + timedelta(seconds=1))


# (how the proxy holds the worker, the step, whether the server then has the message)
STEPS = [
    ("hold", "mail", False),
    ("hold", "rcpt", False),
    ("hold", "data", False),
    ("hold", "body", False),
    ("hold_reply", "dot", True),
]


@pytest.mark.parametrize(("how", "step", "server_has_it"), STEPS)
def test_a_worker_killed_at_each_step_loses_nothing_and_never_sends_twice(
    alice, proxied, workers, how, step, server_has_it
):
    server, proxy = proxied
    getattr(proxy, how)(step)
    outgoing = queue(alice, proxy, big_message(16) if step == "body" else None)
    worker = workers.start()
    workers.send(SEND_TASK, outgoing.pk)
    assert proxy.reached(step, timeout=90), "the worker never reached the step"
    if step == "body":
        time.sleep(1)  # the worker is blocked writing the message: not at the dot yet
        assert row(outgoing).data_started_at is None
    Workers.kill(worker)
    proxy.release(cut=True)
    assert len(server.delivered) == (1 if server_has_it else 0)

    sweep_when_the_lease_has_run_out(outgoing)
    outgoing = row(outgoing)
    history = [(a.step, a.outcome) for a in outgoing.delivery_attempts.all()]
    if server_has_it:  # inside the window: the user decides, nothing resends it
        assert outgoing.status == OutgoingStatus.UNKNOWN
        assert history == [("dot", AttemptOutcome.INTERRUPTED)]
        assert outbox.deliver(outgoing.pk) == "nothing to do"
        assert len(server.delivered) == 1
        return
    assert outgoing.status == OutgoingStatus.RETRYING  # back in the queue at once
    assert history == [("", AttemptOutcome.INTERRUPTED)]
    Outgoing.objects.filter(pk=outgoing.pk).update(next_attempt_at=timezone.now())
    assert outbox.deliver(outgoing.pk).startswith("sent")
    assert len(server.delivered) == 1


def test_a_redelivered_task_claims_a_row_whose_lease_ran_out(alice, proxied, workers):
    server, proxy = proxied
    proxy.hold("rcpt")
    outgoing = queue(alice, proxy)
    first = workers.start()
    workers.send(SEND_TASK, outgoing.pk)
    assert proxy.reached("rcpt", timeout=90)
    Workers.kill(first)
    proxy.release(cut=True)

    # The broker hands the unacknowledged task (acks_late) to another worker; while the
    # dead worker's lease lasts it finds nothing to do, after it the row is its own.
    Outgoing.objects.filter(pk=outgoing.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    workers.start()
    workers.send(SEND_TASK, outgoing.pk)
    wait_for(lambda: row(outgoing).status == OutgoingStatus.SENT, timeout=90)
    assert len(server.delivered) == 1
    outcomes = [a.outcome for a in row(outgoing).delivery_attempts.all()]
    assert outcomes == [AttemptOutcome.INTERRUPTED, AttemptOutcome.SENT]


def test_a_redelivered_task_leaves_a_live_workers_row_alone(alice, proxied, workers):
    server, proxy = proxied
    proxy.hold("rcpt")
    outgoing = queue(alice, proxy)
    workers.start()
    workers.send(SEND_TASK, outgoing.pk)
    assert proxy.reached("rcpt", timeout=90)
    assert outbox.deliver(outgoing.pk) == "nothing to do"  # the lease is the worker's
    proxy.release()
    wait_for(lambda: row(outgoing).status == OutgoingStatus.SENT, timeout=60)
    assert len(server.delivered) == 1
