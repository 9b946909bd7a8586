"""Who holds an outgoing message while it is sent, and what happens when that worker dies.

A worker that claims a row (delivery._claim) holds it for SENDING_LEASE, renewed every
LEASE_RENEWAL seconds by a thread while its SMTP session lives (so a command the server
holds keeps it alive too). Once the lease has run out the worker is taken for dead: the
sweep (delivery.due_for_delivery, every minute) gives the row back to the queue if it died
before the final dot, or makes it "Delivery unknown" if it died inside the window; a
redelivered task may claim it again in the first case. Each such death is recorded as an
interrupted DeliveryAttempt.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from mailcore import smtp

from . import oplog, wording
from .models import AttemptOutcome, DeliveryAttempt, Outgoing, OutgoingStatus

log = logging.getLogger(__name__)

SENDING_LEASE = timedelta(seconds=60)
LEASE_RENEWAL = 15.0  # seconds


def record_interrupted(outgoing_id: int, row: dict, now, *, step: str) -> None:
    """The attempt of a worker that died (found by the sweep or a redelivered task)."""
    DeliveryAttempt.objects.create(
        outgoing_id=outgoing_id,
        started_at=row["claimed_at"] or now,
        finished_at=now,
        server=f"{row['account__smtp_host']}:{row['account__smtp_port']}",
        step=step,
        outcome=AttemptOutcome.INTERRUPTED,
    )


class Lease:
    """Renews the claimed row's lease every LEASE_RENEWAL seconds while the SMTP session
    lives: a thread, so a command the server holds (or a slow DATA) keeps it too. Only
    the claim that started it is renewed (`claimed_at`)."""

    def __init__(self, outgoing_id: int, claimed_at) -> None:
        self.outgoing_id = outgoing_id
        self.claimed_at = claimed_at
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"outgoing-lease-{outgoing_id}", daemon=True
        )

    def _run(self) -> None:
        try:
            while not self._stop.wait(LEASE_RENEWAL):
                try:
                    Outgoing.objects.filter(
                        pk=self.outgoing_id,
                        status=OutgoingStatus.SENDING,
                        claimed_at=self.claimed_at,
                    ).update(lease_until=timezone.now() + SENDING_LEASE)
                except Exception:  # noqa: BLE001 - the database is away: try again
                    log.warning("could not renew the lease of outgoing %s", self.outgoing_id)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection, if it opened one

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=LEASE_RENEWAL)


def settled(result: dict | None) -> bool:
    """A recipient never sent to again: accepted, or refused for good (5xx)."""
    return bool(result) and (result.get("accepted") or (result.get("code") or 0) >= 500)


def resolve_dead_worker(row: dict, now) -> None:
    mine = Outgoing.objects.filter(
        pk=row["pk"], status=OutgoingStatus.SENDING, claimed_at=row["claimed_at"]
    )
    server = f"{row['account__smtp_host']}:{row['account__smtp_port']}"
    if row["data_started_at"] is None:  # before the final dot: the server has nothing
        moved = mine.filter(data_started_at__isnull=True).update(
            status=OutgoingStatus.RETRYING, next_attempt_at=now
        )
        step = ""
    else:
        at = row["data_started_at"].isoformat()
        moved = mine.update(
            status=OutgoingStatus.UNKNOWN,
            next_attempt_at=None,
            last_error=wording.record(wording.STATUS_UNKNOWN, server=server, at=at),
        )
        step = smtp.DOT
    if moved:
        record_interrupted(row["pk"], row, now, step=step)
        oplog.emit(
            "delivery",
            logging.WARNING,
            outgoing=row["pk"],
            result="interrupted",
            then="unknown" if step else "retrying",
        )
