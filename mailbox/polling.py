"""Mail between local users in seconds: after a send, poll the recipients' accounts here.

Scheduled polls come every few minutes (accounts.poll_schedule), so alice's mail to bob,
both on this instance, would wait for bob's next one. When a server accepts a message,
delivery announces the accepted recipients (delivery.recipients_accepted) and
mailbox.tasks polls at once every enabled account of this instance that:

- has one of those addresses (compared without regard to case), and
- reads its mail where the message went: its POP3 host is the SMTP host that accepted
  it (the same server, as with devmail in `make run`), or its domain is one of
  settings.WEBMAIL_LOCAL_MAIL_DOMAINS (your own mail server, whatever SMTP host the
  sender used).

Rate-limited per account: at most one such poll per WEBMAIL_LOCAL_POLL_SECONDS (10 s; 0
turns the fast path off). A claim is a compare-and-set on MailAccount.local_poll_at, so
concurrent workers never plan two. Mail accepted inside the gap is not left for the
next scheduled poll either: one poll is planned for the end of the gap, and any later
mail in the gap is fetched by that planned poll (it runs after the mail was accepted).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import MailAccount


def local_poll_gap() -> timedelta:
    return timedelta(seconds=max(settings.WEBMAIL_LOCAL_POLL_SECONDS, 0))


def _host(name: str) -> str:
    return name.strip().lower().rstrip(".")


def local_recipient_accounts(sender: MailAccount, addresses: list[str]) -> list[int]:
    """The enabled accounts here that receive `addresses` on the server `sender` sent to."""
    wanted = {a.strip().lower() for a in addresses if "@" in a}
    if not wanted:
        return []
    smtp_host = _host(sender.smtp_host)
    domains = set(settings.WEBMAIL_LOCAL_MAIL_DOMAINS)
    rows = (
        MailAccount.objects.alias(address=Lower("email"))
        .filter(address__in=wanted, enabled=True)
        .order_by("pk")
        .values_list("pk", "email", "pop3_host")
    )
    return [
        pk
        for pk, email, pop3_host in rows
        if _host(pop3_host) == smtp_host or email.rpartition("@")[2].lower() in domains
    ]


def claim_local_poll(account_id: int, now: datetime | None = None) -> timedelta | None:
    """Claim an immediate poll of the account: how long from now it should run (zero: at
    once), or None when a poll is already planned after `now` (it fetches this mail too)
    or the fast path is off."""
    gap = local_poll_gap()
    if not gap:
        return None
    now = now or timezone.now()
    account = MailAccount.objects.filter(pk=account_id, enabled=True)
    if account.filter(Q(local_poll_at__isnull=True) | Q(local_poll_at__lte=now - gap)).update(
        local_poll_at=now
    ):
        return timedelta(0)
    # The last one ran less than `gap` ago: plan one for the end of the gap, unless one
    # is planned already (local_poll_at in the future), or another worker plans it first.
    last = account.filter(local_poll_at__lte=now).values_list("local_poll_at", flat=True).first()
    if last is None:
        return None
    planned = last + gap
    if account.filter(local_poll_at=last).update(local_poll_at=planned):
        return planned - now
    return None


def claim_local_polls(
    sender: MailAccount, addresses: list[str], now: datetime | None = None
) -> list[tuple[int, timedelta]]:
    """(account id, delay) for each poll to enqueue after `sender`'s message was accepted
    for `addresses`."""
    if not local_poll_gap():
        return []
    claims = []
    for account_id in local_recipient_accounts(sender, addresses):
        delay = claim_local_poll(account_id, now)
        if delay is not None:
            claims.append((account_id, delay))
    return claims
