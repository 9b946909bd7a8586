"""Delivery unknown: the connection (or the worker) was lost between the final "." and
its reply, so the server may have the message. Nothing resends it by itself; the user
chooses, on the Outbox or the message's delivery page, after checking with the
recipients: Send again (the same bytes, the same Message-ID) or Mark as sent.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from . import delivery, leases, outbox
from .models import Outgoing, OutgoingStatus


def send_again(outgoing: Outgoing) -> bool:
    """From "Delivery unknown" back to the queue: the same stored bytes (the same Message-ID, so
    a recipient's client can drop a duplicate) to the recipients not settled yet. The
    task is enqueued after the commit. False: it was not "Delivery unknown" any more."""
    with transaction.atomic():
        now = timezone.now()
        moved = Outgoing.objects.filter(pk=outgoing.pk, status=OutgoingStatus.UNKNOWN).update(
            status=OutgoingStatus.QUEUED,
            queued_at=now,
            next_attempt_at=now,
            send_after=now,
            scheduled=False,
            data_started_at=None,
            attempts=0,
            last_error="",
        )
        if moved:
            outbox.announce_queued_on_commit(outgoing.pk)
    return bool(moved)


@transaction.atomic
def mark_as_sent(outgoing: Outgoing) -> bool:
    """From "Delivery unknown" to sent, on the user's word (the recipients got it): the
    recipients not settled are recorded as marked, and the Sent copy is stored. False:
    it was not "Delivery unknown" any more."""
    locked = (
        Outgoing.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(pk=outgoing.pk, status=OutgoingStatus.UNKNOWN)
        .first()
    )
    if locked is None:
        return False
    results = dict(locked.recipient_results)
    for address in locked.recipients:
        if not leases.settled(results.get(address)):
            results[address] = {"code": 0, "reply": "", "accepted": True, "marked": True}
    update = {
        "status": OutgoingStatus.SENT,
        "recipient_results": results,
        "next_attempt_at": None,
        "last_error": "",
        "sent_at": locked.sent_at or locked.data_started_at or timezone.now(),
    }
    if not locked.is_rule_forward and locked.sent_message_id is None:
        update["sent_message"] = delivery.store_sent_copy(
            locked, delivery.read_blob(locked.raw_file.name)
        )
    Outgoing.objects.filter(pk=locked.pk).update(**update)
    for field_name, value in update.items():
        setattr(locked, field_name, value)
    return True
