"""Sending: drafts → outgoing record → SMTP, exactly once, or the user sees why not.

The rules (ENGINEERING.md, "Exactly once out"):
- `queue_for_sending` stores the exact bytes and the envelope in the transaction
  that accepts the form, and enqueues the task only after commit;
- delivery itself (the claim, retries, per-recipient results, the one uncertain moment
  after the final dot, leases and the sweep, each attempt recorded) is mailbox.delivery.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import SendAs
from mailcore import addresses, compose
from mailcore.mime import safe_filename
from mailcore.reports import ReadReceiptText, build_read_receipt

from . import blobs, formatting, ingest, rich_compose, send_limits

# Delivery lives in mailbox.delivery; these names stay reachable here for callers.
from .delivery import (  # noqa: F401
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    MAX_RETRY_DELAY,
    REDIRECT_FIRST_FIELD,
    SMTP_TIMEOUT,
    STALE_QUEUED,
    deliver,
    due_for_delivery,
    recipients_accepted,
    retry_delay,
    store_missing_sent_copies,
)
from .models import Message, Outgoing, OutgoingAttachment, OutgoingStatus

log = logging.getLogger(__name__)


class NotSendable(Exception):
    """The draft cannot be sent as it is (the message says why, in the user's language)."""


# Building ----------------------------------------------------------------------


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as f:
        return f.read()


def outgoing_message(outgoing: Outgoing) -> compose.OutgoingMessage:
    account = outgoing.account
    send_as = outgoing.send_as if outgoing.send_as_id else None
    if send_as is not None and send_as.account_id != account.pk:
        send_as = None  # the draft moved to another account: its own address then
    return compose.OutgoingMessage(
        # From: the chosen send-as alias, or the account. MAIL FROM stays the account's
        # address: providers refuse or rewrite a MAIL FROM the login does not own, and
        # bounces come back to the mailbox this app polls. No Sender field: the alias is
        # the user's own mailbox (RFC 5322 §3.6.2: Sender only when the author differs).
        sender=addresses.Address(send_as.display_name, send_as.email)
        if send_as
        else addresses.Address(account.display_name, account.email),
        envelope_from=account.email,
        to=addresses.parse_address_list(outgoing.to),
        cc=addresses.parse_address_list(outgoing.cc),
        bcc=addresses.parse_address_list(outgoing.bcc),
        subject=outgoing.subject,
        body=outgoing.body,
        html=outgoing.html_body,
        in_reply_to=outgoing.in_reply_to,
        references=outgoing.references.split(),
        attachments=[
            compose.OutgoingAttachment(
                a.filename, a.content_type, _read(a.file.name), a.content_id, a.inline
            )
            for a in outgoing.attachments.all()
        ],
        request_read_receipt=outgoing.request_read_receipt,
    )


def compose_filename(stem: str, suffix: str) -> str:
    return safe_filename(stem, default="message")[:120] + suffix


@transaction.atomic
def queue_for_sending(outgoing: Outgoing, *, send_at=None) -> Outgoing:
    """Freeze the draft into bytes + envelope and queue it; the task runs after commit.

    Not due before `send_after` (mailbox.sending): the owner's undo window from now
    (`undo_send_seconds`, 0 = at once), or `send_at` for Send later (`scheduled`).
    """
    # The draft's row and its owner's (for the sending limits, send_limits.check), both
    # locked in one statement: FOR NO KEY UPDATE, as every UPDATE of them takes.
    locked = (
        Outgoing.objects.select_for_update(no_key=True, of=("self", "owner"))
        .select_related("account", "owner")
        .get(pk=outgoing.pk)
    )
    if locked.status not in {OutgoingStatus.DRAFT, OutgoingStatus.FAILED}:
        raise NotSendable(gettext("This message is already queued or sent."))
    built = compose.build_message(outgoing_message(locked))
    if not built.recipients:
        raise NotSendable(gettext("Add at least one recipient."))
    # Nothing past the owner's sending limits is queued (send_limits.OverLimit).
    send_limits.check(
        locked.owner_id,
        recipients=len(built.recipients),
        size=len(built.data),
        exclude_pk=locked.pk,
        locked_owner=locked.owner,
    )
    # Under raw/ like received mail: the Sent copy stored after delivery is the same file.
    name, _ = ingest.store_blob("raw", built.data, ".eml")
    now = timezone.now()
    queued = {
        "status": OutgoingStatus.QUEUED,
        "raw_file": name,
        "message_id": built.message_id,
        "envelope_from": built.envelope_from,
        "recipients": built.recipients,
        "size": len(built.data),
        "attempts": 0,
        "queued_at": now,
        "next_attempt_at": now,
        "last_error": "",
        "recipient_results": {},
        "data_started_at": None,
        "claimed_at": None,
        **_due_fields(locked.owner, now, send_at),
    }
    Outgoing.objects.filter(pk=locked.pk).update(**queued)
    for field_name, value in queued.items():
        setattr(locked, field_name, value)
    _announce_queued_on_commit(locked.pk, eta=locked.send_after)
    return locked


def _due_fields(owner, now, send_at=None) -> dict:
    """When a message queued `now` is due: at `send_at` (Send later), else after the
    owner's undo window (none: at once)."""
    if send_at is not None:
        return {"send_after": send_at, "scheduled": True, "next_attempt_at": send_at}
    due = now + timedelta(seconds=owner.undo_send_seconds)
    return {"send_after": due, "scheduled": False, "next_attempt_at": due}


# What a queued message that goes back to Drafts forgets (Undo, Edit, Cancel).
BACK_TO_DRAFT = {
    "status": OutgoingStatus.DRAFT,
    "next_attempt_at": None,
    "send_after": None,
    "scheduled": False,
}


# Sent after the commit that queued an Outgoing row. mailbox.tasks connects the receiver
# that enqueues delivery, so this module never imports the tasks that call it.
outgoing_queued = Signal()


def _announce_queued_on_commit(outgoing_id: int, eta=None) -> None:
    """`eta`: not due before then (the receiver enqueues the task for that time)."""
    transaction.on_commit(
        lambda: outgoing_queued.send(sender=Outgoing, outgoing_id=outgoing_id, eta=eta)
    )


announce_queued_on_commit = _announce_queued_on_commit  # for mailbox.sending (Send now)


def cancel(outgoing: Outgoing) -> bool:
    """Take a queued (scheduled or not), retrying or failed message back to Drafts, with
    its attachments, if no worker holds it. Not a rule's forward: there is nothing the
    user wrote to edit (see dismiss)."""
    return bool(
        Outgoing.objects.filter(
            pk=outgoing.pk,
            is_rule_forward=False,
            status__in=[OutgoingStatus.QUEUED, OutgoingStatus.RETRYING, OutgoingStatus.FAILED],
        ).update(**BACK_TO_DRAFT)
    )


def dismiss(outgoing: Outgoing) -> bool:
    """Take a rule's queued/retrying/failed forward out of the Outbox, if no worker holds
    it: a task that comes for it later finds no row to claim."""
    deleted, _ = Outgoing.objects.filter(
        pk=outgoing.pk,
        is_rule_forward=True,
        status__in=[OutgoingStatus.QUEUED, OutgoingStatus.RETRYING, OutgoingStatus.FAILED],
    ).delete()
    return bool(deleted)


# Drafts --------------------------------------------------------------------------


def add_upload(outgoing: Outgoing, upload, *, content_id: str = "") -> OutgoingAttachment:
    """Store an uploaded file content-addressed, streaming it in chunks.

    Django has already spooled a large upload to a temporary file; we hash it in
    one pass and copy it into storage in a second, never holding it in memory.
    """
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    name = ingest.blob_name("attachments", digest.hexdigest())
    blobs.save_upload(name, upload)  # durable before the row's commit, as every blob
    return OutgoingAttachment.objects.create(
        outgoing=outgoing,
        filename=safe_filename(upload.name or "attachment"),
        content_type=(upload.content_type or "application/octet-stream")[:255],
        size=upload.size,
        sha256=digest.hexdigest(),
        file=name,
        content_id=content_id,
        inline=bool(content_id),
    )


def attach_existing(outgoing: Outgoing, parts) -> None:
    """Reuse received attachments (forwarding): content-addressed files, no copy."""
    OutgoingAttachment.objects.bulk_create(
        [
            OutgoingAttachment(
                outgoing=outgoing,
                filename=(p.filename or p.safe_name)[:255],
                content_type=p.content_type,
                size=p.size,
                sha256=p.sha256,
                file=p.file.name,
            )
            for p in parts
        ]
    )


def attachments_total(outgoing: Outgoing) -> int:
    return sum(outgoing.attachments.values_list("size", flat=True))


def max_attachment_bytes() -> int:
    return settings.WEBMAIL_MAX_ATTACHMENT_BYTES


DRAFT_FIELDS = (
    "account",
    "to",
    "cc",
    "bcc",
    "subject",
    "body",
    "html_body",
    "request_dsn",
    "request_read_receipt",
    "send_as",
)


@transaction.atomic
def save_draft(
    owner, outgoing: Outgoing | None, fields: dict, uploads=(), remove_ids=(), *, version=None
) -> Outgoing:
    """Store what the user wrote; each save counts the draft's `version` up.

    `version`: the one the page was showing (None: not checked). A page that is behind
    (another tab saved since) gets StaleDraft, and a message that was queued or sent
    meanwhile (the page's Send won, or another tab's) DraftNotEditable: the row is
    locked and checked first, so nothing newer is ever overwritten.
    """
    if outgoing is None:
        outgoing = Outgoing(owner=owner)
    else:
        current = Outgoing.objects.select_for_update().only("status", "version").get(pk=outgoing.pk)
        if not current.is_editable:
            raise DraftNotEditable
        if version is not None and version != current.version:
            raise StaleDraft(current.version)
        outgoing.version = current.version
    for name in DRAFT_FIELDS:
        setattr(outgoing, name, fields[name])
    outgoing.status = OutgoingStatus.DRAFT
    outgoing.version += 1
    outgoing.save()
    if fields.get("signature_images") is not None:  # the signature's images: the draft's
        fields["signature_images"].attach(outgoing)
    outgoing.attachments.filter(pk__in=list(remove_ids)).delete()
    for upload in uploads:
        add_upload(outgoing, upload)
    return outgoing


class DraftNotEditable(Exception):
    """The draft was queued or sent meanwhile: its attachments are fixed."""


class StaleDraft(Exception):
    """Another tab saved the draft since this page loaded it: `version` is the newer one."""

    def __init__(self, version: int):
        super().__init__(version)
        self.version = version


class OverAttachmentLimit(Exception):
    """The draft's attachments would total `total` bytes, over the limit."""

    def __init__(self, total: int):
        super().__init__(total)
        self.total = total


@transaction.atomic
def attach_upload(
    owner, outgoing: Outgoing | None, upload, *, account, inline: bool = False
) -> OutgoingAttachment:
    """Add one uploaded file to a draft, starting the draft on `account` if there is none.

    The draft's row is locked, so uploads arriving together for one draft are
    counted against the limit one after another.
    """
    if outgoing is None:
        outgoing = Outgoing.objects.create(owner=owner, account=account)
    else:
        outgoing = Outgoing.objects.select_for_update().get(pk=outgoing.pk)
        if not outgoing.is_editable:
            raise DraftNotEditable
    total = attachments_total(outgoing) + upload.size
    if total > max_attachment_bytes():
        raise OverAttachmentLimit(total)
    # An image of the rich-text body (the editor shows it, the HTML refers to its cid).
    content_id = rich_compose.new_content_id(outgoing.account) if inline else ""
    attachment = add_upload(outgoing, upload, content_id=content_id)
    outgoing.save(update_fields=["updated_at"])
    return attachment


@transaction.atomic
def remove_attachment(attachment: OutgoingAttachment) -> None:
    """Take one file off a draft; its content-addressed blob may be shared, so it stays."""
    outgoing = Outgoing.objects.select_for_update().get(pk=attachment.outgoing_id)
    if not outgoing.is_editable:
        raise DraftNotEditable
    attachment.delete()
    outgoing.save(update_fields=["updated_at"])


@transaction.atomic
def new_reply(message: Message, parsed, *, reply_all: bool) -> Outgoing:
    account = message.account
    own = {a.lower() for a in message.owner.mail_accounts.values_list("email", flat=True)}
    aliases = list(account.send_as.all())
    own |= {a.email.lower() for a in SendAs.objects.filter(account__user_id=message.owner_id)}
    to, cc = compose.reply_recipients(parsed, own, reply_all)
    in_reply_to, references = compose.threading_headers(parsed)
    alias = addressed_alias(parsed, aliases)
    rich = rich_compose.writes_rich(message.owner)
    labels = formatting.quote_labels()
    # Rich text: the original's sanitized HTML in a blockquote (its images left out).
    quote = (
        compose.quote_html_for_reply(parsed, labels=labels)
        if rich
        else compose.quote_for_reply(parsed, labels=labels)
    )
    signature = rich_compose.reply_signature(account, alias)
    images = rich_compose.SignatureImages(message.owner)
    outgoing = Outgoing.objects.create(
        owner=message.owner,
        account=account,
        send_as=alias,
        to=", ".join(str(m) for m in to),
        cc=", ".join(str(m) for m in cc),
        subject=compose.reply_subject(parsed.subject),
        **rich_compose.body_fields(signature, quote, rich=rich, images=images),
        in_reply_to=in_reply_to,
        references=" ".join(references),
    )
    images.attach(outgoing)
    return outgoing


@transaction.atomic
def new_forward(message: Message, parsed, *, as_attachment: bool) -> Outgoing:
    account = message.account
    rich = rich_compose.writes_rich(message.owner)
    labels = formatting.quote_labels()
    # Rich text: the original's inline images come along as the draft's (same cid).
    # Plain text (or an image without a cid): as ordinary attachments, as its files do.
    images = list(message.attachments.filter(inline=True).exclude(content_id="")) if rich else []
    content_ids = {image.content_id for image in images}
    quote = ""
    signature_images = rich_compose.SignatureImages(message.owner)
    if not as_attachment and rich:
        quote = compose.forward_inline_html(
            parsed, labels=labels, cid_url=lambda cid: f"cid:{cid}" if cid in content_ids else None
        )
    elif not as_attachment:
        quote = compose.forward_inline_text(parsed, labels=labels)
    # A text too long to quote (WEBMAIL_FORWARD_INLINE_MAX_BYTES) goes as the original's
    # file instead; the view says so (outgoing.quote_too_long).
    quote_too_long = len(quote.encode("utf-8")) > settings.WEBMAIL_FORWARD_INLINE_MAX_BYTES
    if quote_too_long:
        quote, as_attachment = "", True
    outgoing = Outgoing.objects.create(
        owner=message.owner,
        account=account,
        subject=compose.forward_subject(parsed.subject),
        **rich_compose.body_fields(
            rich_compose.reply_signature(account, None), quote, rich=rich, images=signature_images
        ),
        is_forward=True,
    )
    signature_images.attach(outgoing)
    if not quote:
        images = []
    if images:
        rich_compose.carry_inline_images(outgoing, images)
    if as_attachment:
        # The original's own file, as a message/rfc822 attachment of the draft: the
        # user sees it among the attachments, and it outlives the original's deletion.
        OutgoingAttachment.objects.create(
            outgoing=outgoing,
            filename=compose_filename(message.subject or gettext("message"), ".eml"),
            content_type="message/rfc822",
            size=message.size,
            sha256=message.raw_sha256,
            file=message.raw_file.name,
        )
    else:
        attach_existing(outgoing, message.attachments.exclude(pk__in=[i.pk for i in images]))
    outgoing.quote_too_long = quote_too_long
    return outgoing


def addressed_alias(parsed, aliases):
    """The send-as alias the original was written to (its To or Cc), for the reply's From;
    None when it went to the account's own address (or to no alias of it)."""
    written_to = {a.address.strip().lower() for a in [*parsed.to, *parsed.cc] if a.address}
    return next((alias for alias in aliases if alias.email.lower() in written_to), None)


def read_receipt_text() -> ReadReceiptText:
    """A read receipt's words for people, in the active language (the sending user's)."""
    return ReadReceiptText(
        subject=gettext("Read: %(subject)s"),
        subject_without_original=gettext("Read receipt"),
        intro=gettext("This is a read receipt for the message you sent to %(address)s."),
        original_subject=gettext("Subject: %(subject)s"),
        original_sent=gettext("Sent: %(date)s"),
        displayed=gettext("It was displayed on %(date)s."),
        disclaimer=gettext("This does not guarantee that the message was read or understood."),
    )


@transaction.atomic
def queue_read_receipt(message: Message, parsed) -> Outgoing:
    """Queue the read receipt `message` asks for, worded in the active language."""
    account = message.account
    text = read_receipt_text()
    built = build_read_receipt(
        parsed,
        original_raw_headers=_read(message.raw_file.name).split(b"\r\n\r\n", 1)[0],
        sender=addresses.Address(account.display_name, account.email),
        text=text,
    )
    outgoing = _queue_bytes(
        account,
        built.data,
        to=", ".join(built.recipients),
        subject=text.subject_for(message.subject),
        message_id=built.message_id,
        envelope_from=built.envelope_from,
        recipients=built.recipients,
        is_read_receipt=True,
    )
    Message.objects.filter(pk=message.pk).update(read_receipt_sent=True)
    return outgoing


@transaction.atomic
def queue_redirect(
    account, data: bytes, to: str, *, subject: str = "", rule_name: str = ""
) -> Outgoing:
    """Queue the received message ``data``, unchanged, to ``to`` (a rule's forward).

    The copy gets RFC 5322 Resent-* fields on top (who resent it, to whom, when, and its
    own id, which is also the row's Message-ID for reports); the envelope sender is the
    account. ``data`` comes with the caller's own headers already prepended (the rules
    app adds its loop guards). Queued like any send (bytes stored first, the task after
    commit, claimed once, retried), so the Outbox shows it, labelled with the rule, until
    it is sent, and keeps showing it if it fails. Unlike a send, delivery stores no copy
    in Sent: it is an automatic redirect, not a message the user wrote (as Gmail's
    auto-forward); ``sent_at`` marks its acceptance instead.
    """
    domain = account.email.rpartition("@")[2] or "localhost"
    resent_id = make_msgid(domain=domain)
    newline = b"\r\n" if b"\r\n" in data[:2000] else b"\n"
    fields = [
        ("Resent-From", account.email),  # first: REDIRECT_FIRST_FIELD
        ("Resent-To", to),
        ("Resent-Date", format_datetime(timezone.now())),
        ("Resent-Message-ID", resent_id),
    ]
    head = b"".join(f"{name}: {value}".encode() + newline for name, value in fields)
    return _queue_bytes(
        account,
        head + data,
        to=to,
        subject=subject,
        message_id=resent_id[1:-1],
        envelope_from=account.email,
        recipients=[to],
        is_rule_forward=True,
        rule_name=rule_name[:1000],
    )


@transaction.atomic
def queue_auto_reply(
    account, built: compose.BuiltMessage, *, subject: str, in_reply_to: str
) -> Outgoing:
    """Queue an automatic reply (a vacation reply, built by the rules app).

    Like a rule's forward it is not mail the user wrote: delivery keeps no copy in Sent
    (as Gmail's vacation responder); the Outbox shows it until it is sent and offers
    Remove, not Edit. ``in_reply_to`` (the original's id, never empty here) is what marks
    it as an automatic reply (Outgoing.is_automatic_reply). Exactly once like every send: bytes and
    row first, the task after commit, one claim, retries.
    """
    return _queue_bytes(
        account,
        built.data,
        to=", ".join(built.recipients),
        subject=subject,
        message_id=built.message_id,
        envelope_from=built.envelope_from,
        recipients=built.recipients,
        in_reply_to=in_reply_to[:998],
        is_rule_forward=True,
    )


def _queue_bytes(account, data: bytes, *, to: str, subject: str, **fields) -> Outgoing:
    """A queued Outgoing row for finished message bytes (a read receipt, a rule's
    forward); its task is enqueued after the commit. A rule's forward or a vacation reply
    past the owner's sending limits raises send_limits.OverLimit (a read receipt never)."""
    if not fields.get("is_read_receipt"):
        send_limits.check(account.user_id, recipients=len(fields["recipients"]), size=len(data))
    # Under raw/ like received mail: the Sent copy stored after delivery is the same file.
    name, _ = ingest.store_blob("raw", data, ".eml")
    now = timezone.now()
    outgoing = Outgoing.objects.create(
        owner_id=account.user_id,
        account=account,
        status=OutgoingStatus.QUEUED,
        to=to,
        subject=subject[:998],
        raw_file=name,
        size=len(data),
        queued_at=now,
        next_attempt_at=now,
        **fields,
    )
    _announce_queued_on_commit(outgoing.pk)
    return outgoing
