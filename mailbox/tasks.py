"""Celery tasks: thin entry points that load ids and call plain functions in ingest and outbox.

Domain functions never import this module: outbox announces a queued message with the
`outgoing_queued` signal after commit, and the receiver here enqueues its delivery.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.dispatch import receiver
from django.utils import timezone

from . import blobs_gc, db_statistics, importing, ingest, outbox, polling, snooze

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def poll_account(account_id: int) -> str:
    # Idempotent: (account, UIDL) is unique and deletes follow commits, so a
    # redelivered task after a worker crash stores nothing twice.
    return str(ingest.poll_account(account_id))


# The local fast path's poll waits for a poll of the account already running (it may
# have started before the mail arrived): tried again this often, this many times.
LOCAL_POLL_RETRY_SECONDS = 5
LOCAL_POLL_RETRIES = 3


@shared_task(bind=True, acks_late=True, ignore_result=True)
def poll_account_now(self, account_id: int) -> str:
    """Poll an account that mail on this instance was just sent to (mailbox.polling)."""
    result = ingest.poll_account(account_id)
    if result.locked and self.request.retries < LOCAL_POLL_RETRIES:
        raise self.retry(countdown=LOCAL_POLL_RETRY_SECONDS)
    return str(result)


@receiver(outbox.recipients_accepted)
def poll_local_recipients(sender, account, addresses, **kwargs) -> None:
    # Rate-limited per account (polling.claim_local_poll). If the broker is down, the
    # mail simply comes with the account's next scheduled poll.
    try:
        for account_id, delay in polling.claim_local_polls(account, addresses):
            if delay:
                poll_account_now.apply_async((account_id,), countdown=delay.total_seconds())
            else:
                poll_account_now.delay(account_id)
    except Exception:  # noqa: BLE001 - the send succeeded; only the shortcut is lost
        log.warning("could not enqueue the local polls after a send by account %s", account.pk)


@shared_task(ignore_result=True)
def dispatch_polls() -> int:
    """Run every minute by beat: enqueue a poll for each account that is due."""
    due = ingest.due_account_ids()
    enqueue_polls(due)
    return len(due)


def enqueue_polls(account_ids: list[int]) -> None:
    """A poll task for each account, through one producer (bench.polling times this)."""
    with poll_account.app.producer_or_acquire() as producer:
        for account_id in account_ids:
            poll_account.apply_async((account_id,), producer=producer)


@shared_task(acks_late=True, ignore_result=True)
def send_outgoing(outgoing_id: int) -> str:
    # Idempotent: deliver() claims the row atomically, so a redelivered task
    # (worker killed, broker redelivery) never sends a message twice.
    return outbox.deliver(outgoing_id)


@shared_task(acks_late=True, ignore_result=True)
def import_mail(import_id: int) -> str:
    # Idempotent: a redelivered task finds every message it stored already there
    # (deduplicated by the raw bytes' SHA-256) and stores nothing twice.
    result = importing.run_import(import_id)
    return importing.summary_text(result) if result else "nothing to import"


@shared_task(ignore_result=True)
def gc_blobs() -> str:
    """Weekly: delete blobs no row refers to any more (manage.py gc_blobs)."""
    return str(blobs_gc.collect_garbage())


@shared_task(ignore_result=True)
def refresh_database_statistics() -> bool:
    """Hourly: SQLite's planner statistics, when the mail has grown or shrunk enough."""
    return db_statistics.refresh()


@shared_task(ignore_result=True)
def wake_snoozed() -> int:
    """Every minute: snoozed messages whose time has come back to the Inbox, unread."""
    return snooze.wake_snoozed(timezone.now())


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Every minute: re-enqueue queued messages the broker lost, due retries, and
    scheduled messages whose time has come (never one before its send_after)."""
    due = outbox.due_for_delivery()
    for outgoing_id in due:
        send_outgoing.delay(outgoing_id)
    outbox.store_missing_sent_copies()  # storage was full or read-only when they were sent
    return len(due)


# A task for a message due later than this (Send later) is not put in the broker: the
# sweep enqueues it when its time comes, instead of a task waiting days in a worker.
ETA_HORIZON = timedelta(minutes=5)


@receiver(outbox.outgoing_queued)
def enqueue_delivery(sender, outgoing_id: int, eta=None, **kwargs) -> None:
    # If the broker is down now, the row stays queued and the sweeper retries.
    # `eta`: not due before then (undo window, Send later). The task is only a wake-up:
    # the claim refuses the row until its time, so a task that runs early does nothing.
    try:
        if eta is not None and eta > timezone.now():
            if eta - timezone.now() <= ETA_HORIZON:
                send_outgoing.apply_async((outgoing_id,), eta=eta)
        else:
            send_outgoing.delay(outgoing_id)
    except Exception:  # noqa: BLE001 - broker down: the sweeper picks it up
        log.warning("could not enqueue outgoing %s; the sweeper will", outgoing_id)
