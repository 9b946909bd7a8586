"""What the mailbox tells other apps, after the change is committed.

The contacts app collects addresses from these (contacts/apps.py connects its
receivers in ready()); mailbox never imports contacts. Both are sent from
`transaction.on_commit`, so a receiver sees the committed rows and a rolled-back
change announces nothing.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# A message the user wrote was delivered: the outbox marked it sent (every recipient
# answered; some may have refused). Not sent for a read receipt or a rule's forward,
# nor for a send that failed or is still retrying.
#   outgoing: the mailbox.models.Outgoing row (status "sent")
#   accepted_addresses: the envelope recipients the servers accepted, as sent
message_sent = Signal()

# The user chose to always show the images of a message's sender (trust_sender).
#   message: the mailbox.models.Message whose sender they trusted
images_trusted = Signal()


def send_on_commit(signal: Signal, sender, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once outside one). A
    receiver that fails is logged: the send or the trust it reports already happened."""

    def send() -> None:
        for receiver, result in signal.send_robust(sender=sender, **kwargs):
            if isinstance(result, Exception):
                log.error("%s failed", receiver, exc_info=result)

    transaction.on_commit(send)
