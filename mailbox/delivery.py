"""Delivering: one SMTP session per attempt for a queued Outgoing row, and the sweep.

Exactly once out (ENGINEERING.md; mailbox.outbox queues, this module delivers):
- `deliver` claims the row atomically (queued/retrying → sending, or a sending row whose
  lease ran out before the final dot: its worker died), so a redelivered task finds
  nothing to do while a live worker holds it;
- 4xx replies and connection errors retry with exponential backoff, 5xx fail at once;
  per-recipient results are kept, and a retry only sends to recipients that have
  neither accepted the message nor refused it for good (5xx);
- the one moment whose outcome is unknown is between writing the final "." and reading
  its reply (mailcore.smtp `before_dot`, `data_started_at` here): a failure inside it
  (dropped, timed out, the worker died) is "Delivery unknown", never resent by itself
  (mailbox.delivery_unknown: the user's Send again or Mark as sent);
- the sending worker renews a short lease while its session lives (mailbox.leases), and
  the sweep gives a dead worker's row back to the queue, or to "Delivery unknown" if it
  died inside the window, within about two minutes;
- each attempt is recorded (DeliveryAttempt): time, server, step, reply, outcome; and
  logged (mailbox.oplog, `event=delivery`).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from accounts import destinations, mail_errors
from mailcore import smtp, smtp_sessions

from . import blobs, commits, ingest, leases, oplog, signals, wording
from .models import AttemptOutcome, DeliveryAttempt, Folder, Message, Outgoing, OutgoingStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_RETRY_DELAY = timedelta(hours=4)
GIVE_UP_AFTER = timedelta(hours=24)
SMTP_TIMEOUT = 60.0  # seconds for the connection and each reply
# The session that delivered a message stays open a few seconds for the next message of
# the same login to the same server (mailcore.smtp_sessions): a burst of sends (a user's,
# a forwarding rule's) costs one connection, EHLO and AUTH instead of one per message.
SMTP_SESSIONS = smtp_sessions.SessionCache(idle_seconds=10.0)
STALE_QUEUED = timedelta(minutes=1)
# How a rule's forward (queue_redirect) starts; nothing the compose form builds does.
REDIRECT_FIRST_FIELD = b"Resent-From: "

# A server accepted a message for these recipients (after commit): mailbox.tasks polls
# the accounts here that receive them (mailbox.polling, the local fast path).
#   account: the sending MailAccount; addresses: the envelope recipients accepted
recipients_accepted = Signal()


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as f:
        return f.read()


def _due_queued(now) -> Q:
    """Queued rows the sweep enqueues: a scheduled one once its time has come (the
    sweep is what sends it: no task waits days in a broker); any other one when its
    task seems lost: queued over a minute ago, and due (past its undo window)."""
    due = Q(send_after__isnull=True) | Q(send_after__lte=now)
    return (
        Q(status=OutgoingStatus.QUEUED)
        & due
        & (Q(scheduled=True) | Q(scheduled=False, queued_at__lte=now - STALE_QUEUED))
    )


# Claiming --------------------------------------------------------------------


def _claim(outgoing_id: int):
    """The claim's time (the row is ours until its lease runs out), or None.

    Its commit does not wait for the disk (mailbox.commits): the ordinary commit of
    `data_started_at`, before the final dot, makes it durable before anything is sent."""
    with commits.relaxed_commit():
        return _take(outgoing_id)


def _take(outgoing_id: int):
    now = timezone.now()
    # Undo send and Send later: never before its time, whoever asks (an early or
    # redelivered task, a restarted worker).
    not_early = Q(send_after__isnull=True) | Q(send_after__lte=now)
    claim = {
        "status": OutgoingStatus.SENDING,
        "claimed_at": now,
        "lease_until": now + leases.SENDING_LEASE,
        "attempts": F("attempts") + 1,
    }
    if Outgoing.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        not_early,
        pk=outgoing_id,
        status__in=[OutgoingStatus.QUEUED, OutgoingStatus.RETRYING],
    ).update(**claim):
        return now
    # A redelivered task (acks_late) after its worker died: the row is still "sending",
    # and its lease ran out before the final dot (after it: "Delivery unknown", the sweep).
    dead = (
        Outgoing.objects.filter(
            pk=outgoing_id,
            status=OutgoingStatus.SENDING,
            lease_until__lt=now,
            data_started_at__isnull=True,
        )
        .values("claimed_at", "account__smtp_host", "account__smtp_port")
        .first()
    )
    if dead and Outgoing.objects.filter(
        pk=outgoing_id,
        status=OutgoingStatus.SENDING,
        claimed_at=dead["claimed_at"],
        data_started_at__isnull=True,
    ).update(**claim):
        leases.record_interrupted(outgoing_id, dead, now, step="")
        return now
    return None


def retry_delay(attempt: int) -> timedelta:
    """1, 2, 4, 8 … minutes, capped."""
    return min(timedelta(minutes=2 ** max(attempt - 1, 0)), MAX_RETRY_DELAY)


def _result(result: smtp.RecipientResult) -> dict:
    return {"code": result.code, "reply": result.reply, "accepted": result.accepted}


@oplog.logged_delivery  # one structured log line per delivery attempt
def deliver(outgoing_id: int) -> str:
    """Send one outgoing message if it is due; return what happened (for logs)."""
    claimed_at = _claim(outgoing_id)
    if claimed_at is None:
        return "nothing to do"
    outgoing = Outgoing.objects.select_related("account", "owner").get(pk=outgoing_id)
    account = outgoing.account
    attempt = DeliveryAttempt(
        outgoing=outgoing,
        started_at=claimed_at,
        server=f"{account.smtp_host}:{account.smtp_port}",
        step=smtp.CONNECT,
    )
    results = outgoing.recipient_results
    pending = [r for r in outgoing.recipients if not leases.settled(results.get(r))]
    if not pending:  # nothing left to send to (e.g. marked refused meanwhile)
        return _finish_without_sending(outgoing, attempt)
    data = _read(outgoing.raw_file.name)

    def step(name: str) -> None:
        attempt.step = name

    try:
        with leases.Lease(outgoing_id, claimed_at):
            outcome = smtp.send_message(
                account.smtp_host,
                account.smtp_port,
                account.smtp_security,
                account.smtp_login,
                account.smtp_password,
                envelope_from=outgoing.envelope_from,
                recipients=pending,
                data=data,
                verify_tls=not account.allow_insecure_tls,
                timeout=SMTP_TIMEOUT,
                # Checked on the resolved address as it connects: a refused destination is
                # a permanent failure, and nothing is sent.
                policy=destinations.policy(account),
                request_dsn=outgoing.request_dsn,
                envid=outgoing.message_id[:100] or None,
                # The uncertain moment starts: from here a crash is "Delivery unknown".
                before_dot=lambda: Outgoing.objects.filter(pk=outgoing_id).update(
                    data_started_at=timezone.now()
                ),
                on_step=step,
                sessions=SMTP_SESSIONS,
            )
    except smtp.SMTPDeliveryUnknown as exc:
        return _delivery_unknown(outgoing, attempt, exc)
    except smtp.SMTPError as exc:
        attempt.step = exc.step or attempt.step
        # Recipients the server refused for good before the transaction failed (a 421
        # to a later RCPT, a refused DATA) are settled: never sent to again.
        refused = {
            a: _result(r)
            for a, r in getattr(exc, "results", {}).items()
            if not r.accepted and r.code >= 500
        }
        if refused:
            results = {**outgoing.recipient_results, **refused}
            Outgoing.objects.filter(pk=outgoing_id).update(recipient_results=results)
            outgoing.recipient_results = results
        return _failed_attempt(
            outgoing, mail_errors.record(exc), temporary=exc.is_temporary, attempt=attempt
        )

    return _record_outcome(outgoing, attempt, outcome, data)


@transaction.atomic
def _record_outcome(
    outgoing: Outgoing, attempt: DeliveryAttempt, outcome: smtp.SendOutcome, data: bytes
) -> str:
    """What the server answered after the final dot: the Sent copy, the attempt and the
    row in one transaction (one commit, one WAL flush, instead of three; never a copy
    without its row marked sent). The signals run after it commits."""
    results = dict(outgoing.recipient_results)
    for address, result in outcome.results.items():
        results[address] = _result(result)
    still_temporary = [a for a, r in outcome.results.items() if not r.accepted and r.is_temporary]
    update = {
        "recipient_results": results,
        "dsn_supported": outcome.dsn_supported,
        "data_started_at": None,
    }
    copy_failed = ""
    if outcome.accepted and outgoing.sent_at is None:  # the first acceptance
        if not outgoing.is_rule_forward:  # a rule's forward is not mail the user sent
            try:
                update["sent_message"] = _store_sent_copy(outgoing, data)
            except OSError as exc:
                # Sent all the same, and never sent again for a copy we could not keep:
                # the sweep stores it once storage is writable (store_missing_sent_copies).
                log.error("outgoing %s sent; its Sent copy was not stored: %s", outgoing.pk, exc)
                copy_failed = blobs.storage_error_code(exc)
        update["sent_at"] = timezone.now()
    done = not still_temporary and (outcome.accepted or outgoing.sent_at)
    attempt.reply = outcome.data_reply or "; ".join(r.reply for r in outcome.results.values())
    if done:
        refused = {a: r for a, r in results.items() if not r["accepted"]}
        error = "; ".join(f"{a}: {r['reply']}" for a, r in refused.items())
        if copy_failed:
            error = wording.record(wording.SENT_COPY_NOT_STORED, storage=copy_failed, refused=error)
        update.update(status=OutgoingStatus.SENT, next_attempt_at=None, last_error=error)
        all_accepted = len(outcome.accepted) == len(outcome.results)
        _save_attempt(attempt, AttemptOutcome.SENT if all_accepted else AttemptOutcome.PARTIAL)
    Outgoing.objects.filter(pk=outgoing.pk).update(**update)
    if outcome.accepted:  # recipients whose accounts are here are polled now (polling.py)
        signals.send_on_commit(
            recipients_accepted, Outgoing, account=outgoing.account, addresses=outcome.accepted
        )
    for field_name, value in update.items():
        setattr(outgoing, field_name, value)
    if done:
        _announce_sent_on_commit(outgoing, data)
        return "sent" + (f" (refused: {outgoing.last_error})" if outgoing.last_error else "")
    if still_temporary:
        replies = "; ".join(f"{a}: {outcome.results[a].reply}" for a in still_temporary)
        return _failed_attempt(outgoing, replies, temporary=True, attempt=attempt)
    errors = "; ".join(f"{a}: {r.reply}" for a, r in outcome.results.items())
    return _failed_attempt(outgoing, errors, temporary=False, attempt=attempt)


def _save_attempt(attempt: DeliveryAttempt, outcome: str) -> None:
    attempt.outcome = outcome
    attempt.finished_at = timezone.now()
    attempt.save()


def _finish_without_sending(outgoing: Outgoing, attempt: DeliveryAttempt) -> str:
    accepted = any(r.get("accepted") for r in outgoing.recipient_results.values())
    status = OutgoingStatus.SENT if accepted or outgoing.sent_at else OutgoingStatus.FAILED
    Outgoing.objects.filter(pk=outgoing.pk).update(
        status=status, next_attempt_at=None, data_started_at=None
    )
    return str(status)


def _delivery_unknown(
    outgoing: Outgoing, attempt: DeliveryAttempt, exc: smtp.SMTPDeliveryUnknown
) -> str:
    """Lost between the final dot and its reply: the server may have the message."""
    now = timezone.now()
    results = dict(outgoing.recipient_results)
    for address, result in exc.results.items():
        if not result.accepted and result.code >= 500:  # refused for good all the same
            results[address] = _result(result)
        elif result.accepted:  # unknown now: an earlier attempt's 4xx no longer holds
            results.pop(address, None)
    Outgoing.objects.filter(pk=outgoing.pk).update(
        status=OutgoingStatus.UNKNOWN,
        recipient_results=results,
        next_attempt_at=None,
        last_error=wording.record(
            wording.STATUS_UNKNOWN, server=attempt.server, at=now.isoformat()
        ),
    )
    attempt.step = smtp.DOT
    attempt.reply = mail_errors.record(exc)
    _save_attempt(attempt, AttemptOutcome.UNKNOWN)
    return f"unknown: {wording.describe(attempt.reply)}"


def _announce_sent_on_commit(outgoing: Outgoing, data: bytes) -> None:
    """mailbox.signals.message_sent for a message the user wrote (the contacts app
    collects its recipients): not for a read receipt, nor for a rule's forward, which
    `queue_redirect` always starts with its Resent-From field (a message built from the
    compose form never has one), nor for an automatic reply (queue_auto_reply)."""
    if outgoing.is_read_receipt or outgoing.is_rule_forward:
        return
    if data.startswith(REDIRECT_FIRST_FIELD):
        return
    accepted = [a for a, r in outgoing.recipient_results.items() if r.get("accepted")]
    signals.send_on_commit(
        signals.message_sent, Outgoing, outgoing=outgoing, accepted_addresses=accepted
    )


def _failed_attempt(
    outgoing: Outgoing, reply: str, *, temporary: bool, attempt: DeliveryAttempt
) -> str:
    """`reply`: the servers' replies, or an SMTP error as mail_errors.record stores it."""
    now = timezone.now()
    started = outgoing.queued_at or outgoing.created_at
    give_up = outgoing.attempts >= MAX_ATTEMPTS or now - started >= GIVE_UP_AFTER
    attempt.reply = attempt.reply or reply
    retry = temporary and not give_up
    _save_attempt(attempt, AttemptOutcome.RETRY if retry else AttemptOutcome.FAILED)
    if retry:
        Outgoing.objects.filter(pk=outgoing.pk).update(
            status=OutgoingStatus.RETRYING,
            last_error=reply,
            data_started_at=None,
            next_attempt_at=now + retry_delay(outgoing.attempts),
        )
        return f"retrying: {wording.describe(reply)}"
    error = reply
    if temporary:  # and giving up: the page says so in the reader's language
        error = wording.record(wording.GAVE_UP, attempts=outgoing.attempts, error=reply)
    Outgoing.objects.filter(pk=outgoing.pk).update(
        status=OutgoingStatus.FAILED, last_error=error, data_started_at=None, next_attempt_at=None
    )
    return f"failed: {wording.describe(reply)}"


def _store_sent_copy(outgoing: Outgoing, data: bytes) -> Message:
    """The exact bytes sent, in the Sent folder. Its original and attachments are the
    files the queued row and its attachment rows refer to, made durable before those
    were committed: they are neither written nor synced again."""
    durable = {outgoing.raw_file.name, *outgoing.attachments.values_list("file", flat=True)}
    fetched = ingest.prepare_message(data, durable=durable)
    return ingest.store_message(outgoing.account, fetched, uidl="", folder=Folder.SENT, seen=True)


def store_missing_sent_copies() -> int:
    """Sent messages whose Sent copy could not be stored (storage full or read-only):
    store it now, from the sent bytes (kept under raw/ since they were queued). Run by the
    outbox sweep; while storage still fails, the next sweep tries again."""
    stored = 0
    rows = Outgoing.objects.filter(
        status=OutgoingStatus.SENT,
        sent_message__isnull=True,
        last_error__startswith=wording.SENT_COPY_MISSING,
    ).select_related("account")
    for outgoing in rows[:100]:
        try:
            message = _store_sent_copy(outgoing, _read(outgoing.raw_file.name))
        except OSError as exc:
            log.warning("the Sent copy of outgoing %s is still not stored: %s", outgoing.pk, exc)
            break
        refused = json.loads(outgoing.last_error).get("refused", "")
        Outgoing.objects.filter(pk=outgoing.pk, sent_message__isnull=True).update(
            sent_message=message, last_error=refused
        )
        stored += 1
    return stored


# Sweeping ----------------------------------------------------------------------


def due_for_delivery(now=None) -> list[int]:
    """Ids to (re-)enqueue: stale queued rows and retries whose time has come.

    Also resolves rows whose worker died (still `sending`, the lease ran out): back in
    the queue at once if it died before the final dot (the server has nothing), and
    "Delivery unknown" if inside the window (the server may have it: never resent by
    itself). Run every minute by beat: a dead worker's row is out of "Sending" within
    SENDING_LEASE and a minute.
    """
    now = now or timezone.now()
    expired = Q(lease_until__lt=now) | Q(
        lease_until__isnull=True, claimed_at__lt=now - leases.SENDING_LEASE
    )
    stuck = Outgoing.objects.filter(expired, status=OutgoingStatus.SENDING).values(
        "pk", "claimed_at", "data_started_at", "account__smtp_host", "account__smtp_port"
    )
    for row in stuck[:500]:
        leases.resolve_dead_worker(row, now)
    return list(
        Outgoing.objects.filter(
            _due_queued(now) | Q(status=OutgoingStatus.RETRYING, next_attempt_at__lte=now),
        ).values_list("pk", flat=True)
    )


store_sent_copy = _store_sent_copy  # for mailbox.delivery_unknown (Mark as sent)
read_blob = _read  # for mailbox.delivery_unknown
