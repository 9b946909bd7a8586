"""Cached mail, per user: the raw message byte-exact in storage, parsed fields here."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import MailAccount


class Folder(models.TextChoices):
    INBOX = "inbox", pgettext_lazy("folder", "Inbox")
    SENT = "sent", pgettext_lazy("folder", "Sent")
    DRAFTS = "drafts", pgettext_lazy("folder", "Drafts")
    TRASH = "trash", pgettext_lazy("folder", "Trash")
    ARCHIVE = "archive", pgettext_lazy("folder", "Archive")


class Message(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="messages")
    folder = models.CharField(max_length=10, choices=Folder.choices, default=Folder.INBOX)
    # Where "Restore" puts a message back from Trash.
    trashed_from = models.CharField(max_length=10, choices=Folder.choices, blank=True)
    # The POP3 server's unique id; see mailbox.ingest.uid_key and fallback_key for ids
    # too long for an index and for servers without UIDL.
    uidl = models.CharField("POP3 UIDL", max_length=255, blank=True)

    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    subject = models.TextField(blank=True)
    from_name = models.CharField(max_length=255, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    date = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    size = models.PositiveBigIntegerField()
    snippet = models.CharField(max_length=200, blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    has_attachments = models.BooleanField(default=False)
    seen = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)

    raw_file = models.FileField(max_length=255)
    raw_sha256 = models.CharField(max_length=64)
    parse_error = models.BooleanField(default=False)
    defects = models.JSONField(default=list, blank=True)
    # Disposition-Notification-To of a received message: the sender asks for a read receipt.
    read_receipt_to = models.CharField(max_length=320, blank=True)
    read_receipt_sent = models.BooleanField(default=False)
    # PostgreSQL full-text search; filled on ingest, GIN-indexed there (see the
    # migration add_search_vector). Unused on SQLite, which searches with LIKE.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
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
            # Unread counts per folder read only the (few) unread rows.
            models.Index(
                fields=["owner", "folder"],
                condition=models.Q(seen=False),
                name="message_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or "(no subject)"

    @property
    def sender(self) -> str:
        return self.from_name or self.from_address or "(unknown sender)"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=1000, blank=True, help_text="as the sender named it")
    safe_name = models.CharField(max_length=255, help_text="safe for storage and download")
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_id = models.CharField(max_length=998, blank=True)
    inline = models.BooleanField(default=False)
    # Content-addressed: identical bytes are stored once.
    file = models.FileField(max_length=255)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename or self.safe_name


class SkippedMessage(models.Model):
    """A message left on the server because it exceeds WEBMAIL_MAX_MESSAGE_BYTES."""

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="skipped_messages"
    )
    uidl = models.CharField("POP3 UIDL", max_length=255)
    size = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=255)
    first_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-first_seen"]
        constraints = [
            models.UniqueConstraint(fields=["account", "uidl"], name="unique_skipped_per_uidl"),
        ]

    def __str__(self) -> str:
        return f"{self.uidl} ({self.size} bytes)"


class TrustedSender(models.Model):
    """A sender whose remote images this user always wants to see."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_senders"
    )
    address = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "address"], name="unique_trusted_sender"),
        ]

    def __str__(self) -> str:
        return self.address


class OutgoingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Retrying")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Outgoing(models.Model):
    """A message the user writes: a draft, then the outgoing record SMTP delivery works on.

    Exactly once out: the bytes and envelope are stored before the send task is
    enqueued, the task claims the row atomically (queued/retrying → sending),
    and per-recipient results are kept so a retry only sends to those still due.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outgoing"
    )
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="outgoing")
    status = models.CharField(
        max_length=10, choices=OutgoingStatus.choices, default=OutgoingStatus.DRAFT
    )

    # What the user wrote, as typed.
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    subject = models.TextField(blank=True)
    body = models.TextField(blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    request_dsn = models.BooleanField("request delivery status notification", default=False)
    request_read_receipt = models.BooleanField(default=False)
    is_read_receipt = models.BooleanField(default=False, help_text="an MDN we send")

    # What goes on the wire, fixed when the user presses Send.
    raw_file = models.FileField(max_length=255, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    envelope_from = models.CharField(max_length=320, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    size = models.PositiveBigIntegerField(default=0)

    # Delivery bookkeeping.
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    data_started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    recipient_results = models.JSONField(default=dict, blank=True)
    dsn_supported = models.BooleanField(null=True)
    reports = models.JSONField(default=list, blank=True, help_text="DSN/MDN reports received")
    sent_message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="outgoing"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "status", "-updated_at"], name="outgoing_by_status_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="outgoing_due_idx"),
            models.Index(fields=["message_id"], name="outgoing_message_id_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or "(no subject)"

    @property
    def is_editable(self) -> bool:
        return self.status in {OutgoingStatus.DRAFT, OutgoingStatus.FAILED}

    @property
    def refused(self) -> dict:
        return {a: r for a, r in self.recipient_results.items() if not r.get("accepted")}


class OutgoingAttachment(models.Model):
    outgoing = models.ForeignKey(Outgoing, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(max_length=255)  # content-addressed, shared with received parts

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename
