"""The lease renewer (mailbox.leases): one long-lived thread per process renews the lease of
every send still in its SMTP session, every LEASE_RENEWAL seconds, and forgets a lease as
soon as its send ends; a send costs no thread of its own (issue 27). Sending under faults
with a held server reply: test_send_faults.py."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mailbox import leases
from mailbox.models import Outgoing, OutgoingStatus
from tests.conftest import make_account

pytestmark = pytest.mark.django_db(transaction=True)  # the renewer has its own connection


@pytest.fixture
def short_leases(monkeypatch):
    monkeypatch.setattr(leases, "LEASE_RENEWAL", 0.2)
    monkeypatch.setattr(leases, "SENDING_LEASE", timedelta(seconds=2))


def sending(user) -> Outgoing:
    """A row a worker has just claimed: sending, its lease running."""
    now = timezone.now()
    return Outgoing.objects.create(
        owner=user,
        account=make_account(user),
        to="bob@example.test",
        subject="lease",
        status=OutgoingStatus.SENDING,
        claimed_at=now,
        lease_until=now + leases.SENDING_LEASE,
    )


def lease_until(outgoing: Outgoing):
    return Outgoing.objects.values_list("lease_until", flat=True).get(pk=outgoing.pk)


def wait_for_renewal(outgoing: Outgoing, after, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lease_until(outgoing) > after:
            return lease_until(outgoing)
        time.sleep(0.05)
    raise AssertionError("the lease was not renewed")


def renewer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "outgoing-lease-renewer"]


def test_a_long_send_is_renewed_until_it_ends_and_not_after(alice, short_leases):
    outgoing = sending(alice)
    taken = lease_until(outgoing)
    with leases.Lease(outgoing.pk, outgoing.claimed_at):
        first = wait_for_renewal(outgoing, taken)
        second = wait_for_renewal(outgoing, first)  # and again, every LEASE_RENEWAL
        assert second > first
        assert leases.held_leases() == 1
    assert leases.held_leases() == 0
    ended = lease_until(outgoing)
    time.sleep(0.8)  # four renewal periods
    assert lease_until(outgoing) == ended


def test_only_the_claim_that_took_the_lease_is_renewed(alice, short_leases):
    outgoing = sending(alice)
    taken = lease_until(outgoing)
    # Another claim took the row meanwhile (its worker had been taken for dead).
    stale_claim = outgoing.claimed_at - timedelta(minutes=5)
    with leases.Lease(outgoing.pk, stale_claim):
        time.sleep(0.8)
    assert lease_until(outgoing) == taken


def test_sends_share_one_renewer_thread(alice, short_leases):
    outgoing = sending(alice)
    for _ in range(50):  # fifty short sends, one after the other
        with leases.Lease(outgoing.pk, outgoing.claimed_at):
            pass
    threads = threading.active_count()
    with leases.Lease(outgoing.pk, outgoing.claimed_at):
        assert threading.active_count() == threads  # no thread of its own
        assert len(renewer_threads()) == 1
    assert leases.held_leases() == 0


def test_a_lease_taken_while_the_renewer_waits_long_is_renewed_on_time(alice, monkeypatch):
    # The renewer idles for a long renewal period; a lease that needs renewing sooner
    # wakes it instead of waiting for it.
    monkeypatch.setattr(leases, "LEASE_RENEWAL", 30.0)
    monkeypatch.setattr(leases, "SENDING_LEASE", timedelta(seconds=2))
    outgoing = sending(alice)
    with leases.Lease(outgoing.pk, outgoing.claimed_at):
        pass
    time.sleep(0.5)  # the renewer is in its long wait now
    monkeypatch.setattr(leases, "LEASE_RENEWAL", 0.2)
    taken = lease_until(outgoing)
    with leases.Lease(outgoing.pk, outgoing.claimed_at):
        wait_for_renewal(outgoing, taken, timeout=2.0)
