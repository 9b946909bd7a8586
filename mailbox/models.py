"""Cached mail, per user: the raw message byte-exact in storage, parsed fields here."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.header_fields import HeaderTextFieldsMixin
from accounts.models import MailAccount
from mailcore.mime.tnef import TNEF_TYPES

from . import row_urls, wording


class Folder(models.TextChoices):
    INBOX = "inbox", pgettext_lazy("folder", "Inbox")
    SENT = "sent", pgettext_lazy("folder", "Sent")
    DRAFTS = "drafts", pgettext_lazy("folder", "Drafts")
    TRASH = "trash", pgettext_lazy("folder", "Trash")
    ARCHIVE = "archive", pgettext_lazy("folder", "Archive")
    JUNK = "junk", pgettext_lazy("folder", "Junk")
    SNOOZED = "snoozed", pgettext_lazy("folder", "Snoozed")
    # Not a place of its own: the message is in `Message.user_folder`.
    USER = "user", pgettext_lazy("folder", "Own folder")


# The folders every user has, in the order the sidebar lists them.
SYSTEM_FOLDERS = [
    Folder.INBOX,
    Folder.SNOOZED,
    Folder.ARCHIVE,
    Folder.SENT,
    Folder.DRAFTS,
    Folder.JUNK,
    Folder.TRASH,
]


class UserFolder(HeaderTextFieldsMixin, models.Model):
    """A folder the user made. Nested by `parent`; siblings ordered by `position`."""

    header_text_fields = ("name",)

    MAX_DEPTH = 3

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="folders",
        verbose_name=_("owner"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent folder"),
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("folder")
        verbose_name_plural = _("folders")
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "parent", "name"], name="unique_folder_name_per_parent"
            ),
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=models.Q(parent__isnull=True),
                name="unique_top_level_folder_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("owner"),
    )
    account = models.ForeignKey(
        MailAccount,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("mail account"),
    )
    folder = models.CharField(
        _("folder"), max_length=10, choices=Folder.choices, default=Folder.INBOX
    )
    # The user's own folder when `folder` is Folder.USER. Kept while the message is in
    # Trash (trashed_from USER), so Restore knows where it came from.
    user_folder = models.ForeignKey(
        UserFolder,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("own folder"),
    )
    # Where "Restore" puts a message back from Trash.
    trashed_from = models.CharField(
        _("trashed from"), max_length=10, choices=Folder.choices, blank=True
    )
    # The POP3 server's unique id; see mailbox.ingest.uid_key and fallback_key for ids
    # too long for an index and for servers without UIDL.
    uidl = models.CharField(_("POP3 UIDL"), max_length=255, blank=True)

    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=998, blank=True)
    references = models.TextField(_("References"), blank=True)
    subject = models.TextField(_("Subject"), blank=True)
    from_name = models.CharField(_("sender name"), max_length=255, blank=True)
    from_address = models.CharField(_("sender address"), max_length=320, blank=True)
    to = models.TextField(_("To"), blank=True)
    cc = models.TextField(_("Cc"), blank=True)
    reply_to = models.TextField(_("reply to"), blank=True)
    # The list's sort key (every listing index and keyset cursor): the Date header, or
    # when waking from snooze moved it to the top of the Inbox, the wake time. Show
    # `own_date` wherever the message's own date is meant.
    date = models.DateTimeField(_("date"))
    # The message's own date once `date` has been moved (see mailbox.snooze.wake_snoozed);
    # null while `date` is still its own.
    header_date = models.DateTimeField(_("original date"), null=True, blank=True, editable=False)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    size = models.PositiveBigIntegerField(_("size"))
    snippet = models.CharField(_("snippet"), max_length=200, blank=True)
    text_body = models.TextField(_("text body"), blank=True)
    html_body = models.TextField(_("HTML body"), blank=True)
    has_attachments = models.BooleanField(_("has attachments"), default=False)
    # What the message says of a signature or encryption (mailcore.mime PROTECTIONS),
    # shown as a badge: an S/MIME signature is checked against the certificate it
    # carries (whose trust is not), anything else is only named.
    protection = models.CharField(
        _("signature or encryption"), max_length=20, blank=True, default="", db_default=""
    )
    signer = models.CharField(
        _("signing certificate of"), max_length=320, blank=True, default="", db_default=""
    )
    seen = models.BooleanField(_("read"), default=False)
    flagged = models.BooleanField(_("flagged"), default=False)

    raw_file = models.FileField(_("original message file"), max_length=255)
    raw_sha256 = models.CharField(_("SHA-256 of the original"), max_length=64)
    parse_error = models.BooleanField(_("could not be parsed"), default=False)
    defects = models.JSONField(_("defects"), default=list, blank=True)
    # Disposition-Notification-To of a received message: the sender asks for a read receipt.
    read_receipt_to = models.CharField(_("read receipt requested to"), max_length=320, blank=True)
    read_receipt_sent = models.BooleanField(_("read receipt sent"), default=False)
    # PostgreSQL full-text search; filled on ingest, GIN-indexed there (see the
    # migration add_search_vector). Unused on SQLite, which searches with LIKE.
    search_vector = SearchVectorField(_("search vector"), null=True, editable=False)
    # The initial consonants (초성) of the sender's and recipients' Korean names, a word
    # per name ("ㄱㅈㅎ ㅇㅁㅅ"): typing ㄱㅈㅎ finds mail from or to 김지현 (mailbox.search).
    name_initials = models.TextField(
        _("initials of names"), blank=True, default="", db_default="", editable=False
    )
    # The sender, subject and text of the messages attached to this one (forwarded as
    # .eml, at any depth), so that search finds them (mailbox.search.attached_text).
    attached_text = models.TextField(
        _("text of attached messages"), blank=True, default="", db_default="", editable=False
    )
    # Snoozed (folder SNOOZED) until this moment, then back in the Inbox, unread.
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    # The conversation: every message linked by Message-ID/In-Reply-To/References shares
    # one thread id (see mailbox.threading); null until threaded.
    thread_id = models.BigIntegerField(_("conversation"), null=True, blank=True, editable=False)
    # A digest of the normalized subject (mailcore.threads.subject_key), for the subject
    # fallback of threading: "Re: Invoice" without references finds "Invoice".
    thread_subject = models.CharField(
        _("conversation subject"),
        max_length=32,
        blank=True,
        default="",
        db_default="",
        editable=False,
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-date", "-id"]
        constraints = [
            # Exactly once in: a second copy is impossible even when two polls race.
            models.UniqueConstraint(
                fields=["account", "uidl"],
                name="unique_message_per_uidl",
                condition=~models.Q(uidl=""),
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "folder", "-date", "-id"], name="message_listing_idx"),
            # Searches across folders (mailbox.search_pages): newest first without a sort.
            models.Index(fields=["owner", "-date", "-id"], name="message_owner_date_idx"),
            models.Index(
                fields=["owner", "user_folder", "-date", "-id"],
                condition=models.Q(folder="user"),
                name="message_user_folder_idx",
            ),
            models.Index(
                fields=["snoozed_until"],
                condition=models.Q(folder="snoozed"),
                name="message_snoozed_idx",
            ),
            # A conversation's messages; and in a folder, newest first: the conversation
            # list keeps a row only if no newer message of its thread is in the folder.
            models.Index(
                fields=["owner", "thread_id", "folder", "-date", "-id"],
                name="message_thread_folder_idx",
            ),
            models.Index(
                fields=["owner", "thread_subject", "-date"],
                condition=~models.Q(thread_subject=""),
                name="message_thread_subject_idx",
            ),
            # Imports skip messages whose exact bytes the user already has.
            models.Index(fields=["owner", "raw_sha256"], name="message_raw_sha256_idx"),
            # Every page counts the unread mail per folder from this index alone (own
            # folders included): 0.3 ms for 3,000 unread instead of 17-27 ms reading rows.
            models.Index(
                fields=["owner", "folder", "user_folder"],
                condition=models.Q(seen=False),
                name="message_unread_folder_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or gettext("(no subject)")

    # What list pages set on the rows they show, with defaults: a template reading a
    # missing attribute costs Django's engine three failed lookups and a dir() of the
    # model, per row.
    thread_size = 1
    place_label = ""
    contact_name = ""

    @property
    def sender(self) -> str:
        return self.from_name or self.from_address or gettext("(unknown sender)")

    @cached_property
    def read_url(self) -> str:
        return row_urls.message_url("read_message", self.pk)

    @cached_property
    def action_url(self) -> str:
        return row_urls.message_url("message_action", self.pk)

    @property
    def own_date(self):
        """The message's own date (its Date header), even after its place in the list
        moved (`date`, on waking from snooze)."""
        return self.header_date or self.date


class Attachment(models.Model):
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    filename = models.CharField(
        _("file name"), max_length=1000, blank=True, help_text=_("as the sender named it")
    )
    safe_name = models.CharField(
        _("safe file name"), max_length=255, help_text=_("safe for storage and download")
    )
    content_type = models.CharField(_("content type"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_id = models.CharField(_("Content-ID"), max_length=998, blank=True)
    inline = models.BooleanField(_("inline"), default=False)
    # A file found inside another part (a uuencoded block in a text body, a file inside
    # winmail.dat): its bytes are no slice of the raw message (mailcore.mime.Attachment).
    derived = models.BooleanField(_("found inside another part"), default=False)
    # Content-addressed: identical bytes are stored once.
    file = models.FileField(_("file"), max_length=255)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename or self.safe_name

    @property
    def is_winmail(self) -> bool:
        """Outlook's winmail.dat as it came: the files read from it are listed beside it."""
        return self.content_type.lower() in TNEF_TYPES


class SkippedMessage(models.Model):
    """A message left on the server because it exceeds WEBMAIL_MAX_MESSAGE_BYTES.

    `reason` is recorded by the poller (see mailbox.wording); reason_text words it.
    """

    account = models.ForeignKey(
        MailAccount,
        on_delete=models.CASCADE,
        related_name="skipped_messages",
        verbose_name=_("mail account"),
    )
    uidl = models.CharField(_("POP3 UIDL"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    reason = models.CharField(_("reason"), max_length=255)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)

    class Meta:
        verbose_name = _("message left on the server")
        verbose_name_plural = _("messages left on the server")
        ordering = ["-first_seen"]
        constraints = [
            models.UniqueConstraint(fields=["account", "uidl"], name="unique_skipped_per_uidl"),
        ]

    def __str__(self) -> str:
        return f"{self.uidl} ({self.size} bytes)"

    @property
    def reason_text(self) -> str:
        """Why the message was left on the server, in the active language."""
        return wording.describe(self.reason)


class TrustedSender(models.Model):
    """A sender whose remote images this user always wants to see."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="trusted_senders",
        verbose_name=_("owner"),
    )
    address = models.CharField(_("address"), max_length=320)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("trusted sender")
        verbose_name_plural = _("trusted senders")
        constraints = [
            models.UniqueConstraint(fields=["owner", "address"], name="unique_trusted_sender"),
        ]

    def __str__(self) -> str:
        return self.address


class BlockedSender(models.Model):
    """A sender whose mail goes straight to Junk on arrival."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="blocked_senders",
        verbose_name=_("owner"),
    )
    address = models.CharField(_("address"), max_length=320)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("blocked sender")
        verbose_name_plural = _("blocked senders")
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "address"], name="unique_blocked_sender"),
        ]

    def __str__(self) -> str:
        return self.address


class AccountDelivery(models.Model):
    """Where a mail account's new mail goes, and whether it arrives read."""

    account = models.OneToOneField(
        MailAccount,
        on_delete=models.CASCADE,
        related_name="delivery",
        verbose_name=_("mail account"),
    )
    # None: the Inbox.
    folder = models.ForeignKey(
        UserFolder,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deliver to"),
    )
    mark_read = models.BooleanField(_("mark as read on arrival"), default=False)

    class Meta:
        verbose_name = _("delivery setting")
        verbose_name_plural = _("delivery settings")

    def __str__(self) -> str:
        return str(self.account)


class ThreadKey(models.Model):
    """A Message-ID some message of a conversation has or refers to, and its thread.

    A reply that arrives before its parent records the parent's id here, so the
    parent joins the reply's thread when it comes.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("owner"),
    )
    message_id = models.CharField(_("Message-ID"), max_length=998)
    thread_id = models.BigIntegerField(_("conversation"))

    class Meta:
        verbose_name = _("conversation key")
        verbose_name_plural = _("conversation keys")
        constraints = [
            models.UniqueConstraint(fields=["owner", "message_id"], name="unique_thread_key"),
        ]
        indexes = [models.Index(fields=["thread_id"], name="thread_key_thread_idx")]

    def __str__(self) -> str:
        return self.message_id


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class MailImport(models.Model):
    """An uploaded mbox, .eml or zip of .eml files being imported into a folder."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mail_imports",
        verbose_name=_("owner"),
    )
    account = models.ForeignKey(
        MailAccount,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("mail account"),
    )
    file = models.FileField(_("uploaded file"), max_length=255, blank=True)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    folder = models.CharField(
        _("folder"), max_length=10, choices=Folder.choices, default=Folder.INBOX
    )
    user_folder = models.ForeignKey(
        UserFolder,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("own folder"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_bytes = models.PositiveBigIntegerField(_("size"), default=0)
    done_bytes = models.PositiveBigIntegerField(_("bytes read"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    malformed = models.PositiveIntegerField(_("malformed"), default=0)
    # What was skipped and why: [{"name": ..., "reason": code}, ...]
    skipped = models.JSONField(_("skipped"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("mail import")
        verbose_name_plural = _("mail imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class OutgoingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Retrying")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # The connection failed between the final "." and its reply (or the worker died
    # there): the server may have the message. Never resent automatically.
    UNKNOWN = "unknown", _("Delivery unknown")


class Outgoing(HeaderTextFieldsMixin, models.Model):
    """A message the user writes: a draft, then the outgoing record SMTP delivery works on.

    Exactly once out: the bytes and envelope are stored before the send task is
    enqueued, the task claims the row atomically (queued/retrying → sending),
    and per-recipient results are kept so a retry only sends to those still due.
    """

    header_text_fields = ("subject",)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="outgoing",
        verbose_name=_("owner"),
    )
    account = models.ForeignKey(
        MailAccount,
        on_delete=models.CASCADE,
        related_name="outgoing",
        verbose_name=_("mail account"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OutgoingStatus.choices, default=OutgoingStatus.DRAFT
    )

    # What the user wrote, as typed.
    to = models.TextField(_("To"), blank=True)
    cc = models.TextField(_("Cc"), blank=True)
    bcc = models.TextField(_("Bcc"), blank=True)
    subject = models.TextField(_("Subject"), blank=True)
    body = models.TextField(_("Body"), blank=True)
    # A rich-text message: the HTML as the server sanitized it (empty: plain text);
    # `body` then holds the text part derived from it.
    html_body = models.TextField(_("HTML body"), blank=True)
    send_as = models.ForeignKey(
        "accounts.SendAs",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("send as"),
    )
    # Undo send and Send later: not due before this time (the server enforces it).
    send_after = models.DateTimeField(_("not sent before"), null=True, blank=True)
    scheduled = models.BooleanField(_("scheduled"), default=False)
    # Autosave: each save of a draft counts up, so an older tab cannot overwrite it.
    version = models.PositiveIntegerField(_("version"), default=0)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=998, blank=True)
    references = models.TextField(_("References"), blank=True)
    # A forward the user writes (outbox.new_forward): like a reply (in_reply_to), it
    # takes the signature for replies and forwards when the From changes.
    is_forward = models.BooleanField(_("forward"), default=False)
    request_dsn = models.BooleanField(_("Request delivery status notification"), default=False)
    request_read_receipt = models.BooleanField(_("Request read receipt"), default=False)
    is_read_receipt = models.BooleanField(
        _("read receipt"), default=False, help_text=_("a read receipt this user sends")
    )
    # A rule's forward (mailbox.outbox.queue_redirect): an automatic redirect, not
    # something the user wrote, so no copy goes to Sent; the Outbox shows it until sent.
    is_rule_forward = models.BooleanField(
        _("forwarded by a rule"),
        default=False,
        help_text=_("a received message a rule forwarded unchanged"),
    )
    rule_name = models.CharField(
        _("rule"),
        max_length=1000,
        blank=True,
        help_text=_("the name of the rule that forwarded it"),
    )

    # What goes on the wire, fixed when the user presses Send.
    raw_file = models.FileField(_("message file"), max_length=255, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    envelope_from = models.CharField(_("envelope sender"), max_length=320, blank=True)
    recipients = models.JSONField(_("envelope recipients"), default=list, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)

    # Delivery bookkeeping.
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending started"), null=True, blank=True)
    # The sending worker renews this while its SMTP session lives (leases.SENDING_LEASE);
    # once it has passed, the worker is taken for dead (delivery.due_for_delivery).
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    data_started_at = models.DateTimeField(_("DATA started"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    recipient_results = models.JSONField(_("result per recipient"), default=dict, blank=True)
    dsn_supported = models.BooleanField(_("server supports DSN"), null=True)
    reports = models.JSONField(
        _("reports"),
        default=list,
        blank=True,
        help_text=_("delivery status notifications and read receipts received"),
    )
    sent_message = models.OneToOneField(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outgoing",
        verbose_name=_("copy in Sent"),
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "status", "-updated_at"], name="outgoing_by_status_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="outgoing_due_idx"),
            models.Index(fields=["message_id"], name="outgoing_message_id_idx"),
            # Sending limits (mailbox.send_limits): the owner's last hour and day.
            models.Index(fields=["owner", "queued_at"], name="outgoing_owner_queued_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or gettext("(no subject)")

    @property
    def last_error_text(self) -> str:
        """Why sending failed, in the active language; the servers' replies verbatim."""
        return wording.describe(self.last_error)

    @property
    def is_editable(self) -> bool:
        return self.status in {OutgoingStatus.DRAFT, OutgoingStatus.FAILED}

    @property
    def is_automatic_reply(self) -> bool:
        """A vacation reply (outbox.queue_auto_reply): automatic like a rule's forward,
        but an answer to a received message, so it has In-Reply-To."""
        return self.is_rule_forward and bool(self.in_reply_to)

    @property
    def refused(self) -> dict:
        return {a: r for a, r in self.recipient_results.items() if not r.get("accepted")}


class AttemptOutcome(models.TextChoices):
    SENDING = "sending", _("In progress")
    SENT = "sent", _("Accepted")
    PARTIAL = "partial", _("Accepted for some recipients")
    RETRY = "retry", _("Will be retried")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")
    INTERRUPTED = "interrupted", _("Interrupted: the sending process stopped")


class DeliveryAttempt(models.Model):
    """One SMTP session for an Outgoing message: when, which server, how far it got and
    what the server said (or what went wrong). The message page shows them in order."""

    outgoing = models.ForeignKey(
        Outgoing,
        on_delete=models.CASCADE,
        related_name="delivery_attempts",
        verbose_name=_("outgoing message"),
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    server = models.CharField(_("server"), max_length=300)
    # The step it reached (mailcore.smtp.STEPS: connect … dot); where it failed if it did.
    step = models.CharField(_("step"), max_length=10, blank=True)
    # The server's reply, or the error as accounts.mail_errors records it.
    reply = models.TextField(_("reply or error"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=AttemptOutcome.choices, default=AttemptOutcome.SENDING
    )

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.server} {self.step} {self.outcome}"

    @property
    def reply_text(self) -> str:
        """The reply as the server sent it, or the error in the active language."""
        return wording.describe(self.reply)

    @property
    def step_label(self) -> str:
        """The step in the user's words: commands by their SMTP names, which do not change."""
        labels = {
            "connect": _("Connecting"),
            "ehlo": "EHLO",
            "starttls": "STARTTLS",
            "auth": "AUTH",
            "mail": "MAIL FROM",
            "rcpt": "RCPT TO",
            "data": "DATA",
            "dot": _("End of message (the final dot)"),
        }
        return str(labels.get(self.step, self.step))


class OutgoingAttachment(models.Model):
    outgoing = models.ForeignKey(
        Outgoing,
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("outgoing message"),
    )
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    file = models.FileField(
        _("file"), max_length=255
    )  # content-addressed, shared with received parts
    # An image in the rich-text body (multipart/related), referenced as cid:content_id.
    content_id = models.CharField(_("Content-ID"), max_length=255, blank=True)
    inline = models.BooleanField(_("inline"), default=False)

    class Meta:
        verbose_name = _("attachment of an outgoing message")
        verbose_name_plural = _("attachments of outgoing messages")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class BeatDispatch(models.Model):
    """When Celery beat last sent each periodic task (one row per task name).

    Beat keeps its own record in a local shelve file that another process or machine
    cannot read safely; so the beat process writes the time here as it publishes each
    task (webmail/celery.py), and the admin's System status page reads it. The time is
    beat's, whether or not a worker has run the task yet.
    """

    task = models.CharField(_("task"), max_length=200, unique=True)
    dispatched_at = models.DateTimeField(_("last sent"))

    class Meta:
        verbose_name = _("beat dispatch")
        verbose_name_plural = _("beat dispatches")
        ordering = ["task"]

    def __str__(self) -> str:
        return self.task
