"""Polling: POP3 server → parse → models, exactly once.

The rules (ENGINEERING.md, "Exactly once in"):
- (account, UIDL) is unique in the database, so a second copy cannot exist;
- messages are stored a batch at a time (up to downloads.BATCH_MESSAGES or BATCH_BYTES
  of those already downloaded), one transaction per batch: files first, then the rows; every
  file of the batch is fsynced and renamed into place, and its directory fsynced,
  before that commit (mailbox.blobs), so a power cut after the DELE cannot leave an
  empty file, and a poll that dies before the commit stored none of the batch;
- in delete-after-download mode a message is DELEd only after its rows are
  committed, and deletes only take effect at QUIT, so a poll that dies loses
  nothing and the next poll resumes from what was committed;
- a per-account lease lock makes a second concurrent poll exit at once.

Download and storage overlap (mailbox.downloads): while this thread inserts the rows of
a batch, other threads RETR (pipelined where the server allows), parse and write the
files of the next messages and make them durable.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, router, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import destinations, mail_errors
from accounts.models import MailAccount
from mailcore import mime, pop3
from mailcore.addresses import Address
from mailcore.reports import read_receipt_address

from . import arrival, blobs, downloads, oplog, reports, storage_io, wording
from .models import Attachment, Folder, Message, SkippedMessage
from .search import MAX_BODY_CHARS, attached_text, name_initials, search_vector
from .threading import assign_many as assign_threads

log = logging.getLogger(__name__)

LOCK_LEASE = timedelta(minutes=15)
MAX_AUTH_BACKOFF = timedelta(hours=6)
DISPATCH_SLACK = timedelta(seconds=10)
CLAIM_BATCH = 500  # accounts per UPDATE of the dispatcher (SQLite's bound parameters)


@dataclass
class PollResult:
    account_id: int
    new: int = 0
    bytes: int = 0
    skipped: int = 0
    deleted: int = 0
    error: str = ""
    locked: bool = False  # another poll of this account was running
    failed_parse: int = 0
    stored_ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        if self.locked:
            return "skipped: another poll of this account is running"
        if self.error:
            return f"error: {mail_errors.describe(self.error)}"
        text = f"{self.new} new ({self.bytes} bytes)"
        if self.skipped:
            text += f", {self.skipped} too large (left on the server)"
        if self.failed_parse:
            text += f", {self.failed_parse} could not be parsed (stored raw)"
        return text


# Keys ------------------------------------------------------------------------


def uid_key(uid: str) -> str:
    """The column value for a server UIDL; ids too long for the index are hashed."""
    if len(uid) <= 200:
        return uid
    return "sha256:" + hashlib.sha256(uid.encode("latin-1")).hexdigest()


def fallback_key(headers: bytes, size: int) -> str:
    """A weaker identity for servers (or messages) without a usable UIDL.

    Message-ID + size + Date, from the headers TOP returns. Two distinct messages
    with the same three values would be taken as one; a message without any of
    them still gets a key from its full header block.
    """
    parsed = mime.parse_headers(headers)
    basis = f"{parsed.message_id}\n{size}\n{parsed.date.isoformat()}"
    if not parsed.message_id:
        basis += "\n" + hashlib.sha256(headers).hexdigest()
    return "nouidl:" + hashlib.sha256(basis.encode()).hexdigest()


# Storage ---------------------------------------------------------------------


def blob_name(prefix: str, digest: str, suffix: str = "") -> str:
    # One level of 256 directories, as git does for loose objects: a second level
    # meant a new directory for nearly every blob, and an ext4 mkdir costs as much
    # as writing 100 KB. Names already stored keep working: rows hold full names.
    return f"{prefix}/{digest[:2]}/{digest}{suffix}"


def store_blob(
    prefix: str, data: bytes, suffix: str = "", *, durable: Collection[str] = ()
) -> tuple[str, str]:
    """Write bytes content-addressed under MEDIA_ROOT; return (name, sha256).

    The same bytes always land on the same name, so a retry after a crash
    rewrites nothing and identical attachments are stored once. `durable`: names
    already written and synced before a commit that refers to them (the Sent copy of
    an outgoing message reuses its bytes): neither written nor synced again.
    """
    digest = hashlib.sha256(data).hexdigest()
    name = blob_name(prefix, digest, suffix)
    if name in durable:
        return name, digest
    try:
        path = default_storage.path(name)
    except NotImplementedError:  # object storage (S3): the PUT is complete on return
        storage_io.save_new(name, ContentFile(data))
        return name, digest
    # Temporary file, fsync, rename, directory fsync (mailbox.blobs): durable before the
    # caller commits. Written here rather than through Storage.save, whose name checks,
    # chunked copy and directory creation cost more than the write itself for small
    # files. A poll defers the fsyncs to flush several messages' blobs together.
    blobs.store(path, data)
    return name, digest


def _addresses(addresses: list[Address]) -> str:
    return ", ".join(
        f"{a.name} <{a.address}>" if a.name and a.address else (a.address or a.name)
        for a in addresses
    )


@dataclass
class Fetched:
    """A downloaded message made ready to store: parsed, its files written.

    The download thread prepares each message while the storing thread inserts the
    previous one: parsing is Python work that fills the storing thread's waits on
    the database, and hashing and writing files release the GIL.
    """

    raw: bytes
    received_at: datetime
    parsed: mime.ParsedMessage
    parse_error: bool  # the parser itself failed; only the headers are known
    read_receipt_to: str  # where the sender asks for a read receipt ("" if nowhere)
    raw_blob: tuple[str, str]  # (name, sha256) of the stored original
    attachment_blobs: list[tuple[str, str]]  # (name, sha256) per parsed attachment
    search_text: str  # the body as text, for the search vector


def prepare_message(
    raw: bytes, received_at: datetime | None = None, *, durable: Collection[str] = ()
) -> Fetched:
    """Parse a fetched message and write its files (content-addressed, so a retry
    rewrites nothing; `durable` as for store_blob). Parsing never blocks storage: a
    message the parser chokes on is stored raw, flagged, and listed with what is known."""
    received_at = received_at or timezone.now()
    receipt_to = (read_receipt_address(raw) or "")[:320]
    raw_blob = store_blob("raw", raw, ".eml", durable=durable)
    try:
        parsed, parse_error = mime.parse_message(raw, received_at), False
    except Exception as exc:  # noqa: BLE001 - the parser promises not to raise; belt and braces
        log.exception("the MIME parser failed on a message")
        parsed, parse_error = mime.parse_headers(raw[:65536], received_at), True
        parsed.defects.append(f"parser failed: {exc!r}")
    return Fetched(
        raw=raw,
        received_at=received_at,
        parsed=parsed,
        parse_error=parse_error,
        read_receipt_to=receipt_to,
        raw_blob=raw_blob,
        attachment_blobs=[
            store_blob("attachments", part.payload, durable=durable) for part in parsed.attachments
        ],
        search_text=parsed.text_body or mime.html_to_text(parsed.html_body, MAX_BODY_CHARS),
    )


def attachment_row(part: mime.Attachment, name: str, digest: str, **fields) -> Attachment:
    """The (unsaved) row of a parsed part whose bytes are stored as blob `name`."""
    return Attachment(
        filename=part.filename[:1000],
        safe_name=part.safe_name,
        content_type=part.content_type[:255],
        size=len(part.payload),
        sha256=digest,
        content_id=part.content_id[:998],
        inline=part.inline,
        derived=part.derived,
        file=name,
        **fields,
    )


def new_message(
    account: MailAccount, fetched: Fetched, uidl: str, *, folder: str, seen: bool
) -> Message:
    """The (unsaved) row of a fetched message, with its search vector."""
    parsed = fetched.parsed
    from_ = parsed.from_ or Address("", "")
    message = Message(
        owner_id=account.user_id,
        account=account,
        uidl=uidl,
        message_id=parsed.message_id[:998],
        in_reply_to=parsed.in_reply_to[:998],
        references=" ".join(parsed.references),
        subject=parsed.subject,
        from_name=from_.name[:255],
        from_address=from_.address[:320],
        to=_addresses(parsed.to),
        cc=_addresses(parsed.cc),
        reply_to=_addresses(parsed.reply_to),
        date=parsed.date,
        received_at=fetched.received_at,
        size=len(fetched.raw),
        snippet=parsed.snippet(160),
        text_body=parsed.text_body,
        html_body=parsed.html_body,
        has_attachments=parsed.has_attachments,
        protection=parsed.protection,
        signer=parsed.signer[:320],
        raw_file=fetched.raw_blob[0],
        raw_sha256=fetched.raw_blob[1],
        folder=folder,
        seen=seen,
        read_receipt_to=fetched.read_receipt_to if folder == Folder.INBOX else "",
        parse_error=fetched.parse_error
        or bool(
            parsed.defects and not parsed.subject and not parsed.text_body and not parsed.html_body
        ),
        defects=parsed.defects[:50],
        name_initials=name_initials(a.name for a in [from_, *parsed.to, *parsed.cc]),
        attached_text=attached_text(parsed.attached),
    )
    message.search_vector = search_vector(message, fetched.search_text)
    return message


def store_message(
    account: MailAccount,
    raw: bytes | Fetched,
    uidl: str,
    *,
    received_at=None,
    folder: str = Folder.INBOX,
    seen: bool = False,
    on_arrival: bool = False,
) -> Message | None:
    """Store one fetched message and its attachments; None if it is already stored.

    `on_arrival` (the poll): the account's delivery setting, blocked senders and the
    user's rules decide the folder and flags, in the transaction that stores it.
    """
    fetched = raw if isinstance(raw, Fetched) else prepare_message(raw, received_at)
    return store_batch(account, [(fetched, uidl)], folder=folder, seen=seen, on_arrival=on_arrival)[
        0
    ]


def store_batch(
    account: MailAccount,
    batch: list[tuple[Fetched, str]],
    *,
    folder: str = Folder.INBOX,
    seen: bool = False,
    on_arrival: bool = False,
) -> list[Message | None]:
    """Store (fetched message, UIDL) pairs in one transaction, in their order: each as
    store_message would, with the rows of all of them in a few multi-row statements.

    Returns each one's Message, or None where it was stored already. A poll commits
    its messages a batch at a time (one commit instead of one per message); when the
    database refuses the batch (a UIDL of it stored meanwhile by a racing poll), it is
    rolled back and its messages are stored one by one.
    """
    messages = [
        new_message(account, fetched, uidl, folder=folder, seen=seen) for fetched, uidl in batch
    ]
    attachments = [
        attachment_row(part, name, digest, message=message)
        for message, (fetched, _) in zip(messages, batch, strict=True)
        for part, (name, digest) in zip(
            fetched.parsed.attachments, fetched.attachment_blobs, strict=True
        )
    ]
    try:
        with transaction.atomic():
            steps = []
            for message, (fetched, _) in zip(messages, batch, strict=True):
                decided = arrival.decide(account, fetched) if on_arrival else None
                if decided is not None:
                    message.folder, message.user_folder_id = decided.folder, decided.user_folder_id
                    message.seen = message.seen or decided.seen
                    message.flagged = decided.flagged
                    message.trashed_from = decided.trashed_from
                    steps += [(step, message) for step in decided.after_store]
            if _reserve_ids(messages):  # threads known before the INSERT: no UPDATE
                assign_threads(messages, saved=False)
                _insert(messages)
            else:
                _insert(messages)
                assign_threads(messages)
            for attachment in attachments:
                attachment.message_id = attachment.message.pk
            Attachment.objects.bulk_create(attachments)
            for step, message in steps:
                step(message)
            blobs.fault_point("before-commit")
    except DatabaseError as exc:
        if len(batch) > 1:
            # A UIDL stored meanwhile (a racing poll), or a row the database refuses: one
            # at a time, so the others are stored (or the poll stops where it did before
            # batches).
            return [
                store_message(
                    account, fetched, uidl, folder=folder, seen=seen, on_arrival=on_arrival
                )
                for fetched, uidl in batch
            ]
        # Another poll stored this UIDL first: that copy is the one.
        if (
            isinstance(exc, IntegrityError)
            and Message.objects.filter(account=account, uidl=batch[0][1]).exists()
        ):
            return [None]
        raise
    if folder == Folder.INBOX:
        for fetched, _ in batch:
            if reports.looks_like_report(fetched.raw):
                reports.record_report(account.user_id, fetched.raw)
    return messages


def _insert(messages: list[Message]) -> None:
    if len(messages) == 1:
        messages[0].save(force_insert=True)
    else:
        Message.objects.bulk_create(messages)


def _reserve_ids(messages: list[Message]) -> bool:
    """Give the new rows their ids from the sequence before their INSERT (PostgreSQL), so
    each row is written once with its thread: an UPDATE after it would write a second
    version of the whole row and of every index entry (the search vector's too)."""
    connection = transaction.get_connection(router.db_for_write(Message))
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Message._meta.db_table, len(messages)],
        )
        for message, (pk,) in zip(messages, cursor.fetchall(), strict=True):
            message.pk = pk
    return True


# Locking ---------------------------------------------------------------------


def acquire_poll_lock(account_id: int) -> bool:
    now = timezone.now()
    return bool(
        MailAccount.objects.filter(
            Q(poll_lock_until__isnull=True) | Q(poll_lock_until__lt=now),
            pk=account_id,
        ).update(poll_lock_until=now + LOCK_LEASE)
    )


def extend_poll_lock(account_id: int) -> None:
    MailAccount.objects.filter(pk=account_id).update(poll_lock_until=timezone.now() + LOCK_LEASE)


def release_poll_lock(account_id: int) -> None:
    MailAccount.objects.filter(pk=account_id).update(poll_lock_until=None)


# The poll --------------------------------------------------------------------


def open_session(account: MailAccount, timeout: float = 60.0) -> pop3.POP3Session:
    return pop3.POP3Session(
        account.pop3_host,
        account.pop3_port,
        account.pop3_security,
        account.pop3_login,
        account.pop3_password,
        verify_tls=not account.allow_insecure_tls,
        timeout=timeout,
        use_apop=account.use_apop,
        # Checked on the resolved address as it connects (a refusal is a POP3Error).
        policy=destinations.policy(account),
    )


def _keys_for_listing(
    session: pop3.POP3Session, listing: list[pop3.ListingEntry]
) -> dict[int, str]:
    keys = {}
    for entry in listing:
        if entry.uid is not None:
            keys[entry.number] = uid_key(entry.uid)
        else:
            keys[entry.number] = fallback_key(session.top(entry.number, 0), entry.size)
    return keys


def fetch_new_messages(account: MailAccount, session: pop3.POP3Session, result: PollResult) -> None:
    listing = session.listing()
    keys = _keys_for_listing(session, listing)
    stored = set(
        Message.objects.filter(account=account, uidl__in=set(keys.values())).values_list(
            "uidl", flat=True
        )
    )
    skipped = set(SkippedMessage.objects.filter(account=account).values_list("uidl", flat=True))
    max_bytes = settings.WEBMAIL_MAX_MESSAGE_BYTES

    to_fetch, to_delete = [], []
    for entry in listing:
        key = keys[entry.number]
        if key in stored:
            to_delete.append(entry.number)  # stored by an earlier poll that never QUIT
        elif entry.size > max_bytes:
            if key not in skipped:
                SkippedMessage.objects.get_or_create(
                    account=account,
                    uidl=key,
                    defaults={
                        "size": entry.size,
                        "reason": wording.record(wording.TOO_LARGE, limit=max_bytes),
                    },
                )
            result.skipped += 1
        else:
            to_fetch.append((entry.number, entry.size))
    # Fetching the same key twice in one poll (fallback keys can collide) stores it once.

    count = 0
    with arrival.one_poll():
        for batch in downloads.batches(session, to_fetch, prepare_message):
            pairs = [(fetched, keys[number]) for number, fetched in batch]
            stored = store_batch(account, pairs, on_arrival=True)
            for (number, fetched), message in zip(batch, stored, strict=True):
                if message is not None:
                    result.new += 1
                    result.bytes += len(fetched.raw)
                    result.failed_parse += message.parse_error
                    result.stored_ids.append(message.pk)
                to_delete.append(number)  # committed (by us or a racing poll): safe to delete
                blobs.fault_point("after-commit")
                count += 1
                if count % 200 == 0:
                    extend_poll_lock(account.pk)

    if not account.leave_on_server:
        for number in to_delete:
            session.dele(number)
        result.deleted = len(to_delete)
        blobs.fault_point("after-dele")
    session.quit()


@oplog.logged_poll  # one structured log line per poll
def poll_account(account_id: int) -> PollResult:
    """Poll one account once, record the outcome on it, and return it."""
    result = PollResult(account_id=account_id)
    account = MailAccount.objects.select_related("user").filter(pk=account_id).first()
    if account is None:
        result.error = "account no longer exists"
        return result
    if not acquire_poll_lock(account_id):
        result.locked = True
        return result
    try:
        with open_session(account) as session:
            fetch_new_messages(account, session, result)
    except pop3.POP3Error as exc:
        result.error = mail_errors.record(exc)  # worded when a page shows it
        # A locked maildrop (-ERR [IN-USE]) is refused at login too, but is no bad password.
        auth_failed = isinstance(exc, pop3.POP3AuthError) and not exc.is_temporary
        _record(account, result, auth_failed=auth_failed)
    except OSError as exc:
        # Our own storage failed (disk full, read-only media): the session was dropped
        # without QUIT, so nothing was deleted; the next poll resumes where this stopped.
        log.error("poll of account %s: could not store mail: %s", account_id, exc)
        result.error = mail_errors.record_storage(blobs.storage_error_code(exc))
        _record(account, result, auth_failed=False)
    else:
        _record(account, result, auth_failed=False)
    finally:
        release_poll_lock(account_id)
    return result


def _record(account: MailAccount, result: PollResult, *, auth_failed: bool) -> None:
    now = timezone.now()
    update = {
        "last_poll_at": now,
        "last_poll_new": result.new,
        "last_poll_bytes": result.bytes,
        "last_poll_error": result.error,
    }
    if auth_failed:
        # Back off on a bad password instead of hammering the server every minute.
        failures = account.auth_failures + 1
        delay = min(timedelta(minutes=account.poll_interval) * 2**failures, MAX_AUTH_BACKOFF)
        update.update(auth_failures=failures, next_poll_at=now + delay)
    else:
        if result.new:  # adaptive polling: new mail brings the account back to its interval
            account.last_mail_at = update["last_mail_at"] = now
        update.update(auth_failures=0, next_poll_at=now + account.current_poll_interval(now))
        if not result.error:
            update["last_success_at"] = now
    MailAccount.objects.filter(pk=account.pk).update(**update)


def due_account_ids(now=None) -> list[int]:
    """Claim the enabled accounts whose next poll is due, pushing their next poll out.

    Beat runs the dispatcher every minute, a little early or late; the slack
    keeps a one-minute account from waiting a whole extra minute when the
    dispatcher fires a moment before its next poll is due.

    The claim pushes next_poll_at one `poll_interval` ahead (the poll itself then sets
    it by the adaptive schedule), so a task the broker lost costs one interval at most.
    A fixed number of queries however many accounts are due: one SELECT on
    mail_account_due_idx, then one UPDATE per poll interval among them (per CLAIM_BATCH
    accounts), in one transaction whose rows no other dispatcher can claim too (FOR
    UPDATE SKIP LOCKED on PostgreSQL; SQLite's transactions are IMMEDIATE: one writer
    at a time).
    """
    now = now or timezone.now()
    horizon = now + DISPATCH_SLACK
    with transaction.atomic():
        due = list(
            MailAccount.objects.filter(
                Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=horizon),
                enabled=True,
            )
            .order_by()
            .select_for_update(skip_locked=True)
            .values_list("pk", "poll_interval")
        )
        by_interval: dict[int, list[int]] = {}
        for pk, interval in due:
            by_interval.setdefault(interval, []).append(pk)
        for interval, pks in by_interval.items():
            for start in range(0, len(pks), CLAIM_BATCH):
                MailAccount.objects.filter(pk__in=pks[start : start + CLAIM_BATCH]).update(
                    next_poll_at=now + timedelta(minutes=interval)
                )
    return [pk for pk, _ in due]
