"""Who holds an outgoing message while it is sent, and what happens when that worker dies.

A worker that claims a row (delivery._claim) holds it for SENDING_LEASE, renewed every
LEASE_RENEWAL seconds while its SMTP session lives (so a command the server holds keeps it
alive too) by one long-lived renewer thread per process: a send registers its lease with it
and takes it off when the session ends, so a send shorter than LEASE_RENEWAL (nearly all
of them) costs a dictionary entry, not a thread start and join (issue 27). Once the lease
has run out the worker is taken for dead: the sweep (delivery.due_for_delivery, every
minute) gives the row back to the queue if it died before the final dot, or makes it
"Delivery unknown" if it died inside the window; a redelivered task may claim it again in
the first case. Each such death is recorded as an interrupted DeliveryAttempt.
"""

from __future__ import annotations

import logging
import os
import threading
import time
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


class _Renewer:
    """The process's lease renewer: one daemon thread, started at the first lease, that
    renews each held lease LEASE_RENEWAL seconds after it was taken and every
    LEASE_RENEWAL seconds after that, until it is released. Idle, it wakes only every
    LEASE_RENEWAL seconds, so a new lease normally needs no wake-up of it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held: dict[int, tuple[int, object, float]] = {}  # token → id, claim, due
        self._next_token = 0
        self._wake_at = 0.0  # when the thread's current wait ends (monotonic)
        self._renewing: set[int] = set()  # tokens whose UPDATE is being sent now
        self._thread: threading.Thread | None = None

    def hold(self, outgoing_id: int, claimed_at) -> int:
        due = time.monotonic() + LEASE_RENEWAL
        with self._changed:
            self._next_token += 1
            token = self._next_token
            self._held[token] = (outgoing_id, claimed_at, due)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="outgoing-lease-renewer", daemon=True
                )
                self._thread.start()
            elif due < self._wake_at:  # it would wake too late for this one
                self._changed.notify()
        return token

    def release(self, token: int) -> None:
        """Forget the lease; a renewal of it already under way is waited for (as long as
        a renewal period at most), so none lands after the send has ended."""
        with self._changed:
            self._held.pop(token, None)
            if token in self._renewing:
                self._changed.wait_for(lambda: token not in self._renewing, LEASE_RENEWAL)

    def held(self) -> int:
        with self._changed:
            return len(self._held)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                next_due = min((due for _, _, due in self._held.values()), default=None)
                if next_due is None or next_due > now:
                    self._wake_at = next_due if next_due is not None else now + LEASE_RENEWAL
                    self._changed.wait(self._wake_at - now)
                    continue
                due_now = []
                for token, (outgoing_id, claimed_at, due) in self._held.items():
                    if due <= now:
                        due_now.append((outgoing_id, claimed_at))
                        self._held[token] = (outgoing_id, claimed_at, now + LEASE_RENEWAL)
                        self._renewing.add(token)
            try:
                for outgoing_id, claimed_at in due_now:  # outside the lock: sends go on
                    _renew(outgoing_id, claimed_at)
            finally:
                _close_connection()  # this thread's own, until the next renewal
                with self._changed:
                    self._renewing.clear()
                    self._changed.notify_all()


def _renew(outgoing_id: int, claimed_at) -> None:
    """Only the claim that took the lease is renewed, and only while it is sending."""
    try:
        Outgoing.objects.filter(
            pk=outgoing_id, status=OutgoingStatus.SENDING, claimed_at=claimed_at
        ).update(lease_until=timezone.now() + SENDING_LEASE)
    except Exception:  # noqa: BLE001 - the database is away: the next round tries again
        log.warning("could not renew the lease of outgoing %s", outgoing_id)


def _close_connection() -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a broken connection is gone all the same
        log.warning("could not close the lease renewer's database connection")


_renewer = _Renewer()


def _forget_renewer_after_fork() -> None:
    """A forked child (Celery's prefork pool) has no thread of its parent: its own
    renewer starts with its first lease."""
    global _renewer  # noqa: PLW0603 - one per process
    _renewer = _Renewer()


os.register_at_fork(after_in_child=_forget_renewer_after_fork)


class Lease:
    """Holds the claimed row's lease while the SMTP session lives: the process's renewer
    renews it every LEASE_RENEWAL seconds until the block ends. Only the claim that
    started it is renewed (`claimed_at`)."""

    def __init__(self, outgoing_id: int, claimed_at) -> None:
        self.outgoing_id = outgoing_id
        self.claimed_at = claimed_at
        self._token: int | None = None

    def __enter__(self) -> Lease:
        self._token = _renewer.hold(self.outgoing_id, self.claimed_at)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._token is not None:
            _renewer.release(self._token)
            self._token = None


def held_leases() -> int:
    """How many leases this process is renewing now (for tests and diagnostics)."""
    return _renewer.held()


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
