"""Junk: "Report junk" (optionally blocking the senders), "Not junk", and the list of
blocked senders. Mail from a blocked sender goes to Junk on arrival (mailbox.arrival).

A block is an address ("ann@example.com") or a whole domain ("@example.com"), stored in
lower case, as mailbox.arrival.is_blocked compares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .actions import move_to, owned
from .models import BlockedSender, Folder

NOT_FROM = (Folder.TRASH, Folder.JUNK)
_domain = DomainNameValidator(accept_idna=True)


@dataclass
class Report:
    moved: int = 0
    blocked: list[str] = field(default_factory=list)  # addresses newly blocked


def _senders(messages) -> set[str]:
    return {a.strip().lower() for a in messages.values_list("from_address", flat=True) if a}


def report_junk(owner, ids, *, block: bool) -> Report:
    """Move the owner's messages `ids` to Junk and, if `block`, block their senders."""
    with transaction.atomic():
        messages = owned(owner, ids).exclude(folder__in=NOT_FROM)
        senders = _senders(messages) if block else set()
        report = Report(moved=messages.update(folder=Folder.JUNK, user_folder=None))
        already = set(
            BlockedSender.objects.filter(owner=owner, address__in=senders).values_list(
                "address", flat=True
            )
        )
        new = sorted(senders - already)
        BlockedSender.objects.bulk_create(
            [BlockedSender(owner=owner, address=a) for a in new], ignore_conflicts=True
        )
        report.blocked = new
    return report


def not_junk(owner, ids, target: str | None = None) -> int:
    """Out of Junk, to `target` (a system folder or "user:<id>"; the Inbox by default),
    and their senders' own blocks removed (a blocked domain stays: it was chosen as such).
    """
    messages = owned(owner, ids).filter(folder=Folder.JUNK)
    with transaction.atomic():
        senders = _senders(messages)
        pks = list(messages.values_list("pk", flat=True))
        moved = move_to(owner, pks, target or Folder.INBOX)
        if not moved and target and target != Folder.INBOX:
            # The own folder it came from is gone: the Inbox then.
            moved = move_to(owner, pks, Folder.INBOX)
        BlockedSender.objects.filter(owner=owner, address__in=senders).delete()
    return moved


def clean_address(value: str) -> str:
    """An address or "@domain", in lower case; ValidationError if it is neither."""
    value = (value or "").strip().lower()
    try:
        if value.startswith("@"):
            _domain(value[1:])
            if "." not in value[1:]:
                raise ValidationError("no dot")
        else:
            validate_email(value)
    except ValidationError:
        raise ValidationError(
            _("Enter an email address (name@example.com) or a domain (@example.com)."),
            code="invalid",
        ) from None
    return value


def block(owner, address: str) -> BlockedSender:
    """Block `address` (as clean_address returns it); ValidationError if already blocked."""
    try:
        with transaction.atomic():
            return BlockedSender.objects.create(owner=owner, address=address)
    except IntegrityError:
        raise ValidationError(
            _("%(address)s is already blocked.") % {"address": address}, code="duplicate"
        ) from None


def unblock(owner, pk: int) -> BlockedSender | None:
    entry = BlockedSender.objects.filter(owner=owner, pk=pk).first()
    if entry is not None:
        entry.delete()
    return entry
