"""Vacation (out-of-office) replies: the arrival filter that answers new mail while the
owner of a mail account is away, and saving the settings.

:func:`reply_on_arrival` runs for every polled message, inside the transaction that
stores it (mailbox.ingest), after the rules (rules/apps.py registers it last), so it sees
where the message is going: mail from a blocked sender, or sent to Junk or Trash by a
rule, is never answered. The safeguards on the message itself (lists, bulk and machine
mail, empty envelope senders, the user's own addresses, not in To/Cc) are
:func:`mailcore.rules.vacation.vacation_refusal`.

The reply is never sent here: an ``after_store`` step claims the sender for the period
(:class:`~rules.models.VacationReplySent`, unique per vacation and sender, claimed with
one conditional UPDATE or one INSERT, so two polls cannot both claim it) and queues the
finished bytes through the outbox (mailbox.outbox.queue_auto_reply), whose task is
enqueued after the storing transaction commits. A crash rolls back the message, the
claim and the queued reply together; a retried poll finds the UIDL stored and answers
nothing twice; delivery is exactly once like any send, with retries.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import MailAccount, SendAs
from mailbox import outbox, send_limits
from mailbox.arrival import Arrival, per_poll
from mailbox.models import Folder
from mailcore import compose
from mailcore.addresses import Address
from mailcore.rules import message_facts
from mailcore.rules.vacation import (
    AUTO_REPLIED,
    addressed_alias,
    reply_target,
    vacation_refusal,
)

from .models import VacationReply, VacationReplySent

if TYPE_CHECKING:
    from mailbox.ingest import Fetched

log = logging.getLogger(__name__)

# Where no vacation reply goes: mail the user will not see as mail to answer.
UNANSWERED_FOLDERS = frozenset({Folder.JUNK, Folder.TRASH})


def now() -> datetime:
    """The clock vacation replies read (tests replace it)."""
    return timezone.now()


def user_today(user, moment: datetime) -> date:
    """``moment``'s date in the user's time zone (the server's when they chose none)."""
    try:
        zone = zoneinfo.ZoneInfo(user.time_zone) if user.time_zone else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    return timezone.localtime(moment, zone or timezone.get_default_timezone()).date()


def is_active(vacation: VacationReply, today: date) -> bool:
    if not vacation.enabled:
        return False
    if vacation.starts_on and today < vacation.starts_on:
        return False
    return not (vacation.ends_on and today > vacation.ends_on)


def own_addresses(user_id: int) -> set[str]:
    """Every address of the user: each mail account and each send-as alias."""
    accounts = MailAccount.objects.filter(user_id=user_id).values_list("email", flat=True)
    aliases = SendAs.objects.filter(account__user_id=user_id).values_list("email", flat=True)
    return {*accounts, *aliases}


def reply_on_arrival(account: MailAccount, fetched: Fetched, arrival: Arrival) -> None:
    """The arrival filter: queue a vacation reply for ``fetched`` if one is due."""
    if arrival.blocked or arrival.folder in UNANSWERED_FOLDERS:
        return
    vacation = per_poll(
        ("vacation", account.pk),
        lambda: VacationReply.objects.filter(account=account, enabled=True).first(),
    )
    if vacation is None or not is_active(vacation, user_today(account.user, now())):
        return
    facts = message_facts(fetched.raw, account.email, parsed=fetched.parsed)
    aliases = [account.email, *account.send_as.values_list("email", flat=True)]
    refusal = vacation_refusal(
        facts, account_addresses=aliases, own_addresses=own_addresses(account.user_id)
    )
    original_id = compose.threading_headers(fetched.parsed)[0]
    if refusal is None and not original_id:
        refusal = "no-message-id"  # nothing to answer "in reply to"; mostly bulk mail
    if refusal is not None:
        log.info("no vacation reply for account %s: %s", account.pk, refusal)
        return
    target = reply_target(facts) or ""
    from_address = addressed_alias(facts, aliases) or account.email
    arrival.after_store.append(
        lambda message: queue_reply(vacation, account, fetched, target, from_address)
    )


def claim(vacation: VacationReply, sender: str, moment: datetime) -> bool:
    """Take the right to answer ``sender`` now: True at most once per interval.

    An UPDATE that only matches a claim older than the interval, or the INSERT of a
    first claim; of two polls racing, the loser's UPDATE matches nothing (the row is
    locked, then re-read) or its INSERT hits the unique constraint.
    """
    key = sender.strip().casefold()
    cutoff = moment - timedelta(days=max(vacation.interval_days, 1))
    mine = VacationReplySent.objects.filter(vacation=vacation, sender=key)
    if mine.filter(sent_at__lte=cutoff).update(sent_at=moment):
        return True
    if mine.exists():
        return False
    try:
        with transaction.atomic():
            VacationReplySent.objects.create(vacation=vacation, sender=key, sent_at=moment)
    except IntegrityError:
        return False
    return True


def build_reply(
    vacation: VacationReply, account: MailAccount, original, target: str, from_address: str
) -> compose.BuiltMessage:
    """The reply's bytes: From the address the sender wrote to (with its display name),
    MAIL FROM the account, ``Auto-Submitted: auto-replied``, threaded on the original;
    the subject is the one set, or "Re: " and the original's."""
    alias = account.send_as.filter(email__iexact=from_address).first()
    name = alias.display_name if alias else account.display_name
    in_reply_to, references = compose.threading_headers(original)
    return compose.build_message(
        compose.OutgoingMessage(
            sender=Address(name, from_address),
            to=[Address("", target)],
            subject=built_subject(vacation, original),
            body=vacation.body,
            in_reply_to=in_reply_to,
            references=references,
            envelope_from=account.email,
            auto_submitted=AUTO_REPLIED,
        )
    )


def queue_reply(
    vacation: VacationReply,
    account: MailAccount,
    fetched: Fetched,
    target: str,
    from_address: str,
):
    """Claim ``target`` for this period and queue the reply (an ``after_store`` step).
    Past the owner's sending limits (mailbox.send_limits) there is no reply, and no claim:
    the sender's next message may have one."""
    try:
        return _claim_and_queue(vacation, account, fetched, target, from_address)
    except send_limits.OverLimit as exc:
        send_limits.log_refused(
            exc, owner_id=account.user_id, account_id=account.pk, what="vacation"
        )
        return None


def _claim_and_queue(vacation, account, fetched, target, from_address):
    with transaction.atomic():
        if not claim(vacation, target, now()):
            log.info("vacation reply to this sender already sent this period")
            return None
        try:
            built = build_reply(vacation, account, fetched.parsed, target, from_address)
        except ValueError:
            # An address or subject the builder refuses: no reply, and no claim either.
            log.warning("vacation reply for account %s could not be built", account.pk)
            transaction.set_rollback(True)
            return None
        return outbox.queue_auto_reply(
            account,
            built,
            subject=built_subject(vacation, fetched.parsed),
            in_reply_to=compose.threading_headers(fetched.parsed)[0],
        )


def built_subject(vacation: VacationReply, original) -> str:
    return vacation.subject.strip() or compose.reply_subject(
        compose.clean_header_text(original.subject)
    )


@transaction.atomic
def save_vacation(vacation: VacationReply) -> VacationReply:
    """Save the settings; a changed message starts the once-per-sender count afresh
    (RFC 5230 §4.2: a new message is news to those who had the old one)."""
    if vacation.pk:
        before = VacationReply.objects.filter(pk=vacation.pk).values("subject", "body").first()
        if before and (before["subject"], before["body"]) != (vacation.subject, vacation.body):
            VacationReplySent.objects.filter(vacation=vacation).delete()
    vacation.save()
    return vacation
