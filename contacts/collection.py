"""Collected addresses: the address book that fills itself (issue 15).

What is collected, each behind its own preference on the user:
- `collect_recipients`: every recipient (To, Cc, Bcc) a message the user wrote was
  accepted for, once the outbox marks it sent (a failed or still-retrying send
  collects nothing; a partial success collects only the accepted recipients);
- `collect_reply_senders`: the sender of the message a sent reply answers
  (Outgoing.in_reply_to, the Message-ID compose took from it);
- `collect_trusted_senders`: the sender whose images the user chose to always show.

Mailbox announces these with mailbox.signals (after commit); ContactsConfig.ready
connects the receivers below. Rule forwards and read receipts are not announced.

Each address sent to is counted once per message (times_used + 1, last_used_at now);
a trusted sender is kept without a count (the user has not written to them). A name
the message gave fills a row that has none; the row's source is how it first came.
Addresses of saved contacts are collected too: their counts rank the contact (see
contacts.suggestions), and `visible_collected` leaves them out of the collected list,
so a contact deleted later falls back to its collected row with its history.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from mailbox import commits
from mailbox.models import Message, Outgoing, ThreadKey
from mailbox.threading import message_keys
from mailcore import addresses

from .models import CollectedAddress, ContactEmail, address_key

Source = CollectedAddress.Source


def visible_collected(owner):
    """The owner's collected addresses that no saved contact has (the collected list)."""
    return CollectedAddress.objects.filter(owner=owner).exclude(
        Exists(ContactEmail.objects.filter(owner=owner, address_key=OuterRef("address_key")))
    )


def _own_keys(user) -> set[str]:
    return {address_key(e) for e in user.mail_accounts.values_list("email", flat=True)}


def _names_typed(outgoing: Outgoing) -> dict[str, str]:
    """{address key: display name} from what the user typed in To, Cc and Bcc."""
    names: dict[str, str] = {}
    for field in (outgoing.to, outgoing.cc, outgoing.bcc):
        try:
            parsed = addresses.parse_address_list(field)
        except addresses.AddressError:  # sent, so it parsed then; never fail collecting
            continue
        for item in parsed:
            key = address_key(item.address)
            if item.name and not names.get(key):
                names[key] = item.name
    return names


def replied_message(outgoing: Outgoing) -> Message | None:
    """The user's stored message that `outgoing` answers, through the conversation keys
    (an indexed lookup, not a scan of the mailbox)."""
    if not outgoing.in_reply_to:
        return None
    own_id, _ = message_keys(outgoing.in_reply_to, "", "")
    if not own_id:
        return None
    threads = ThreadKey.objects.filter(owner_id=outgoing.owner_id, message_id=own_id)
    return (
        Message.objects.filter(
            owner_id=outgoing.owner_id,
            thread_id__in=threads.values("thread_id"),
            message_id=outgoing.in_reply_to,
        )
        .exclude(from_address="")
        .order_by("id")
        .first()
    )


def collect_sent(outgoing: Outgoing, accepted_addresses: list[str]) -> list[CollectedAddress]:
    """Collect what a delivered message tells: its accepted recipients, and the sender
    of the message it replies to; each as the user's preferences allow."""
    user = outgoing.owner
    own = _own_keys(user)
    found: dict[str, tuple[str, str, str]] = {}  # key -> (address, name, source)
    if user.collect_recipients:
        names = _names_typed(outgoing)
        for address in accepted_addresses:
            key = address_key(address)
            if key and key not in own:
                found.setdefault(key, (address, names.get(key, ""), Source.SENT))
    if user.collect_reply_senders:
        original = replied_message(outgoing)
        if original is not None:
            key = address_key(original.from_address)
            if key not in own:
                if key in found:
                    address, name, source = found[key]
                    found[key] = (address, name or original.from_name, source)
                else:
                    found[key] = (original.from_address, original.from_name, Source.REPLIED)
    if not found:
        return []
    now = timezone.now()
    # One transaction for all of them, whose commit does not wait for the disk: a
    # crash of the database may lose a count, never mail (mailbox.commits).
    with commits.relaxed_commit():
        return [
            _collect(user, address, name, source, used_at=now)
            for address, name, source in found.values()
        ]


def collect_trusted(message: Message) -> CollectedAddress | None:
    """Collect the sender whose images the user trusted (not counted as written to)."""
    user = message.owner
    if not user.collect_trusted_senders or not message.from_address:
        return None
    if address_key(message.from_address) in _own_keys(user):
        return None
    with transaction.atomic():
        return _collect(user, message.from_address, message.from_name, Source.TRUSTED)


def _collect(user, address: str, name: str, source: str, *, used_at=None) -> CollectedAddress:
    """Create or update the user's row for `address`; saving it reindexes its terms. In
    the caller's transaction (the row is locked until it ends)."""
    key = address_key(address)
    name = " ".join(name.split())[:200]
    counted = {"times_used": 1, "last_used_at": used_at} if used_at is not None else {}
    row = CollectedAddress.objects.select_for_update().filter(owner=user, address_key=key).first()
    if row is None:
        row, created = CollectedAddress.objects.get_or_create(
            owner=user,
            address_key=key,
            defaults={"address": address.strip()[:320], "name": name, "source": source, **counted},
        )
        if created:
            return row
        row = CollectedAddress.objects.select_for_update().get(pk=row.pk)
    changed = []
    if name and not row.name:
        row.name = name
        changed.append("name")
    if used_at is not None:
        row.times_used += 1
        row.last_used_at = used_at
        changed += ["times_used", "last_used_at"]
    if changed:  # without the name, only its rank moves (suggestions.rerank_collected)
        row.save(update_fields=changed)
    return row


# Receivers (connected in ContactsConfig.ready) ------------------------------------


def on_message_sent(sender, outgoing: Outgoing, accepted_addresses: list[str], **kwargs) -> None:
    collect_sent(outgoing, accepted_addresses)


def on_images_trusted(sender, message: Message, **kwargs) -> None:
    collect_trusted(message)
