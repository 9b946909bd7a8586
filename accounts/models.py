from datetime import timedelta
from email.headerregistry import Address
from urllib.parse import unquote, urlsplit

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailcore.security import Security

from . import connection_report, mail_errors, poll_schedule
from .crypto import EncryptedTextField
from .header_fields import HeaderTextFieldsMixin
from .validators import validate_destination_exceptions, validate_hostname, validate_time_zone


class User(AbstractUser):
    """The person who logs in. Their mail accounts hang off `mail_accounts`."""

    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Dates are shown in this time zone (default: the server's)."),
    )

    class Theme(models.TextChoices):
        SYSTEM = "system", _("System")
        LIGHT = "light", _("Light")
        DARK = "dark", _("Dark")

    class Density(models.TextChoices):
        COMFORTABLE = "comfortable", _("Comfortable")
        COMPACT = "compact", _("Compact (one line)")

    theme = models.CharField(
        _("theme"),
        max_length=10,
        choices=Theme.choices,
        default=Theme.SYSTEM,
        # Database defaults too, so rows written by code that predates a field stay valid.
        db_default=Theme.SYSTEM,
    )
    list_density = models.CharField(
        _("message list"),
        max_length=12,
        choices=Density.choices,
        default=Density.COMFORTABLE,
        db_default=Density.COMFORTABLE,
    )
    keyboard_shortcuts = models.BooleanField(
        _("keyboard shortcuts"),
        default=True,
        db_default=True,
        help_text=_("Press ? on any mail page to see them."),
    )

    class Language(models.TextChoices):
        # Each language is named in itself, in every language (the convention for
        # language pickers): someone lost in the other one still finds their own.
        BROWSER = "", _("Follow the browser")
        KOREAN = "ko", "한국어"
        ENGLISH = "en", "English"

    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=Language.choices,
        default=Language.BROWSER,
        db_default=Language.BROWSER,
    )
    conversation_view = models.BooleanField(
        _("conversation view"),
        default=False,
        db_default=False,
        help_text=_("Group replies with the messages they answer, one row per conversation."),
    )
    # The address book fills itself from these (contacts/collection.py); each can be off.
    collect_recipients = models.BooleanField(
        _("collect the addresses I write to"),
        default=True,
        db_default=True,
        help_text=_("Every recipient of mail you send is kept for autocomplete."),
    )
    collect_reply_senders = models.BooleanField(
        _("collect the senders I reply to"),
        default=True,
        db_default=True,
    )
    collect_trusted_senders = models.BooleanField(
        _("collect the senders whose images I trust"),
        default=True,
        db_default=True,
    )

    class ComposeFormat(models.TextChoices):
        RICH = "html", _("Rich text")
        PLAIN = "plain", _("Plain text")

    compose_format = models.CharField(
        _("write new messages in"),
        max_length=8,
        choices=ComposeFormat.choices,
        default=ComposeFormat.RICH,
        db_default=ComposeFormat.RICH,
    )
    UNDO_SEND_CHOICES = [
        (0, _("Off")),
        (5, _("5 seconds")),
        (10, _("10 seconds")),
        (20, _("20 seconds")),
        (30, _("30 seconds")),
    ]
    undo_send_seconds = models.PositiveSmallIntegerField(
        _("undo send"),
        choices=UNDO_SEND_CHOICES,
        default=10,
        db_default=10,
        help_text=_("How long a sent message waits, so that you can take it back."),
    )
    # "Test connection" presses in the current 10-minute window (accounts.views.account_test).
    connection_tests_since = models.DateTimeField(null=True, blank=True, editable=False)
    connection_tests_count = models.PositiveSmallIntegerField(
        default=0, db_default=0, editable=False
    )
    # Sending limits set by an administrator for this user (mailbox.send_limits); empty:
    # the server's (WEBMAIL_SEND_PER_HOUR, ...); 0: this user sends nothing.
    send_per_hour = models.PositiveIntegerField(
        _("messages per hour"),
        null=True,
        blank=True,
        help_text=_("Empty: the server's limit (WEBMAIL_SEND_PER_HOUR); 0 stops sending."),
    )
    recipients_per_message = models.PositiveIntegerField(
        _("recipients per message"),
        null=True,
        blank=True,
        help_text=_("Empty: the server's limit (WEBMAIL_RECIPIENTS_PER_MESSAGE)."),
    )
    recipients_per_day = models.PositiveIntegerField(
        _("recipients per day"),
        null=True,
        blank=True,
        help_text=_("Empty: the server's limit (WEBMAIL_RECIPIENTS_PER_DAY); 0 stops sending."),
    )
    max_pending_bytes = models.PositiveBigIntegerField(
        _("bytes waiting to be sent"),
        null=True,
        blank=True,
        help_text=_("Empty: the server's limit (WEBMAIL_MAX_PENDING_BYTES)."),
    )


# The form's and admin's names for mailcore's security modes.
SECURITY_CHOICES = [
    (Security.NONE.value, _("None (plain text)")),
    (Security.STARTTLS.value, _("STARTTLS")),
    (Security.SSL.value, _("SSL/TLS")),
]


# The security a port conventionally uses (RFC 8314 for 995/465).
PORT_SECURITY = {
    110: Security.STARTTLS,
    995: Security.SSL,
    25: Security.STARTTLS,
    587: Security.STARTTLS,
    465: Security.SSL,
}
DEFAULT_PORTS = {
    "pop3": {Security.SSL: 995, Security.STARTTLS: 110, Security.NONE: 110},
    "smtp": {Security.SSL: 465, Security.STARTTLS: 587, Security.NONE: 25},
}

port_validators = [MinValueValidator(1), MaxValueValidator(65535)]


class MailAccount(HeaderTextFieldsMixin, models.Model):
    """One mailbox the user reads over POP3 and sends from over SMTP."""

    header_text_fields = ("display_name",)

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="mail_accounts", verbose_name=_("user")
    )
    email = models.EmailField(_("email address"))
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    # Unused and empty since accounts/0009 moved it into Signature rows; to be dropped
    # once no migration test rewinds to a state that still writes it.
    signature = models.TextField(_("signature"), blank=True)

    pop3_host = models.CharField(_("POP3 host"), max_length=253, validators=[validate_hostname])
    pop3_port = models.PositiveIntegerField(_("POP3 port"), default=995, validators=port_validators)
    pop3_security = models.CharField(
        _("POP3 security"), max_length=10, choices=SECURITY_CHOICES, default=Security.SSL.value
    )
    pop3_login = models.CharField(_("POP3 login"), max_length=254)
    pop3_password = EncryptedTextField(_("POP3 password"), blank=True)
    use_apop = models.BooleanField(
        _("use APOP"),
        default=False,
        help_text=_("Log in with APOP when the server offers it."),
    )

    smtp_host = models.CharField(_("SMTP host"), max_length=253, validators=[validate_hostname])
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587, validators=port_validators)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=SECURITY_CHOICES, default=Security.STARTTLS.value
    )
    smtp_login = models.CharField(
        _("SMTP login"),
        max_length=254,
        blank=True,
        help_text=_("Leave empty if the server needs no AUTH."),
    )
    smtp_password = EncryptedTextField(_("SMTP password"), blank=True)

    allow_insecure_tls = models.BooleanField(
        _("accept self-signed certificates"),
        default=False,
        help_text=_(
            "Skips certificate verification for this account's servers. "
            "Anyone on the network path could read your mail and password."
        ),
    )
    # Set by an administrator only (the admin shows it; the user's form does not): this
    # account may reach these destinations whatever the operator's policy says
    # (mailcore.destinations), e.g. an internal relay.
    allowed_destinations = models.CharField(
        _("destination exceptions"),
        max_length=500,
        blank=True,
        default="",
        db_default="",
        validators=[validate_destination_exceptions],
        help_text=_(
            "Host names, *.patterns, addresses or networks (CIDR) this account may connect "
            "to on any port, even when they are private or not on the allowed list, "
            "e.g. an internal relay. Set by an administrator only."
        ),
    )
    leave_on_server = models.BooleanField(
        _("leave messages on the server"),
        default=True,
        help_text=_("Otherwise each message is deleted from the server once it is stored here."),
    )
    poll_interval = models.PositiveIntegerField(
        _("check every (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    # Poll bookkeeping, written by the POP3 poller.
    last_poll_at = models.DateTimeField(_("last check"), null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(
        _("last successful check"), null=True, blank=True, editable=False
    )
    last_poll_new = models.PositiveIntegerField(
        _("new messages in the last check"), default=0, editable=False
    )
    last_poll_bytes = models.PositiveBigIntegerField(
        _("bytes downloaded in the last check"), default=0, editable=False
    )
    last_poll_error = models.TextField(_("last check error"), blank=True, editable=False)
    auth_failures = models.PositiveIntegerField(
        _("failed logins in a row"), default=0, editable=False
    )
    next_poll_at = models.DateTimeField(_("next check"), null=True, blank=True, editable=False)
    poll_lock_until = models.DateTimeField(
        _("check running until"), null=True, blank=True, editable=False
    )
    # Adaptive polling (accounts.poll_schedule): the last poll that stored new mail.
    last_mail_at = models.DateTimeField(_("last new mail"), null=True, blank=True, editable=False)
    # The local fast path (mailbox.polling): when the last immediate check after a send
    # from this instance ran or is planned to run; at most one per WEBMAIL_LOCAL_POLL_SECONDS.
    local_poll_at = models.DateTimeField(
        _("last immediate check"), null=True, blank=True, editable=False
    )

    # "Test connection" outcome, written by its task. The result is each server's outcome,
    # worded in the reader's language by last_test_report (see connection_report).
    last_test_at = models.DateTimeField(
        _("last connection test"), null=True, blank=True, editable=False
    )
    last_test_ok = models.BooleanField(_("connection test passed"), null=True, editable=False)
    last_test_result = models.TextField(_("connection test result"), blank=True, editable=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mail account")
        verbose_name_plural = _("mail accounts")
        ordering = ["email", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="unique_mail_account_per_user"),
        ]
        indexes = [
            models.Index(fields=["enabled", "next_poll_at"], name="mail_account_due_idx"),
            # The local fast path looks recipients up by address, whatever its case.
            models.Index(Lower("email"), name="mail_account_email_lower_idx"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def from_header(self) -> str:
        return str(Address(display_name=self.display_name, addr_spec=self.email))

    @property
    def last_poll_error_text(self) -> str:
        """Why the last check failed, in the active language, the server's reply verbatim."""
        return mail_errors.describe(self.last_poll_error)

    @property
    def last_test_report(self) -> str:
        """The last "Test connection" report in the active language, servers' replies verbatim."""
        return connection_report.describe(self.last_test_result)

    @property
    def has_pop3_password(self) -> bool:
        return bool(self.pop3_password)

    def is_due(self, now=None) -> bool:
        now = now or timezone.now()
        return self.enabled and (self.next_poll_at is None or self.next_poll_at <= now)

    def current_poll_interval(self, now=None) -> timedelta:
        """The wait between scheduled polls now: `poll_interval`, stretched while no new
        mail arrives (accounts.poll_schedule)."""
        idle_since = self.last_mail_at or self.created_at
        return poll_schedule.poll_interval(self.poll_interval, idle_since, now or timezone.now())

    def schedule_next_poll(self, now=None) -> None:
        now = now or timezone.now()
        self.next_poll_at = now + self.current_poll_interval(now)

    # What the settings page says about the next check (templates/accounts/account_list).
    @property
    def next_poll_state(self) -> str:
        """One of: disabled; running (a poll holds the lock); soon (due: the dispatcher
        runs every minute); scheduled (at next_poll_at)."""
        now = timezone.now()
        if not self.enabled:
            return "disabled"
        if self.poll_lock_until and self.poll_lock_until > now:
            return "running"
        if self.next_poll_at is None or self.next_poll_at <= now + timedelta(minutes=1):
            return "soon"
        return "scheduled"

    @property
    def current_poll_minutes(self) -> int:
        return round(self.current_poll_interval().total_seconds() / 60)

    @property
    def poll_backed_off(self) -> bool:
        """Checked less often than its interval because no new mail came for days."""
        return self.current_poll_interval() > timedelta(minutes=self.poll_interval)


class Signature(HeaderTextFieldsMixin, models.Model):
    """A signature of a mail account: rich text (sanitized HTML, an image allowed) and
    its plain-text form; one may be the default for new messages, one for replies."""

    header_text_fields = ("name",)

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="signatures", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=100)
    html = models.TextField(_("signature (rich text)"), blank=True)
    text = models.TextField(_("signature (plain text)"), blank=True)
    default_for_new = models.BooleanField(_("default for new messages"), default=False)
    default_for_replies = models.BooleanField(_("default for replies and forwards"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(default_for_new=True),
                name="signature_one_default_for_new",
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(default_for_replies=True),
                name="signature_one_default_for_replies",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SignatureImage(models.Model):
    """An image of a mail account's signatures (a logo, a photo).

    Its bytes are a content-addressed blob (mailbox.ingest.store_blob, as mail's
    attachments), written by the mailbox app (accounts does not write blobs). A
    signature's HTML shows it by our same-origin URL (:meth:`url`); a message whose
    signature shows it carries it as its own inline part (mailbox.rich_compose).
    """

    TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
    MAX_BYTES = 1024 * 1024

    account = models.ForeignKey(
        MailAccount,
        on_delete=models.CASCADE,
        related_name="signature_images",
        verbose_name=_("account"),
    )
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(
        _("content type"), max_length=20, choices=[(t, t) for t in TYPES]
    )
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    file = models.FileField(_("file"), max_length=255)  # the blob's name, shared
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("signature image")
        verbose_name_plural = _("signature images")
        ordering = ["id"]
        constraints = [
            # The same bytes uploaded again are the same image.
            models.UniqueConstraint(
                fields=["account", "sha256"], name="signature_image_once_per_account"
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    def url(self) -> str:
        """Where the signature editor and compose show it (mailbox's view, owner only)."""
        return reverse("signature_image", args=[self.account_id, self.pk])

    @classmethod
    def at_url(cls, url: str, **scope) -> "SignatureImage | None":
        """The image our URL ``url`` shows (see :meth:`url`), among those ``scope``
        filters to (the owner's, an account's); None for any other URL."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or parts.query or parts.fragment:
            return None
        try:
            match = resolve(unquote(parts.path))
        except Resolver404:
            return None
        if match.url_name != "signature_image":
            return None
        return (
            cls.objects.filter(pk=match.kwargs["image_pk"], account_id=match.kwargs["pk"], **scope)
            .select_related("account")
            .first()
        )


class SendAs(HeaderTextFieldsMixin, models.Model):
    """An extra From address of a mail account (an alias the provider lets it send as),
    with its own display name and signature."""

    header_text_fields = ("display_name",)

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="send_as", verbose_name=_("account")
    )
    email = models.EmailField(_("email address"), max_length=320)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    signature = models.ForeignKey(
        Signature,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signature"),
    )

    class Meta:
        verbose_name = _("send-as address")
        verbose_name_plural = _("send-as addresses")
        ordering = ["email", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="send_as_once_per_account")
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def from_header(self) -> str:
        return str(Address(display_name=self.display_name, addr_spec=self.email))
