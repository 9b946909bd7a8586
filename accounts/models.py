from datetime import timedelta
from email.headerregistry import Address

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailcore.security import Security

from .crypto import EncryptedTextField
from .validators import validate_hostname, validate_time_zone


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


class MailAccount(models.Model):
    """One mailbox the user reads over POP3 and sends from over SMTP."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mail_accounts")
    email = models.EmailField("email address")
    display_name = models.CharField(max_length=200, blank=True)
    signature = models.TextField(blank=True)

    pop3_host = models.CharField("POP3 host", max_length=253, validators=[validate_hostname])
    pop3_port = models.PositiveIntegerField("POP3 port", default=995, validators=port_validators)
    pop3_security = models.CharField(
        "POP3 security", max_length=10, choices=SECURITY_CHOICES, default=Security.SSL.value
    )
    pop3_login = models.CharField("POP3 login", max_length=254)
    pop3_password = EncryptedTextField("POP3 password", blank=True)
    use_apop = models.BooleanField(
        "use APOP", default=False, help_text="Log in with APOP when the server offers it."
    )

    smtp_host = models.CharField("SMTP host", max_length=253, validators=[validate_hostname])
    smtp_port = models.PositiveIntegerField("SMTP port", default=587, validators=port_validators)
    smtp_security = models.CharField(
        "SMTP security", max_length=10, choices=SECURITY_CHOICES, default=Security.STARTTLS.value
    )
    smtp_login = models.CharField(
        "SMTP login",
        max_length=254,
        blank=True,
        help_text="Leave empty if the server needs no AUTH.",
    )
    smtp_password = EncryptedTextField("SMTP password", blank=True)

    allow_insecure_tls = models.BooleanField(
        "accept self-signed certificates",
        default=False,
        help_text="Skips certificate verification for this account's servers. "
        "Anyone on the network path could read your mail and password.",
    )
    leave_on_server = models.BooleanField(
        "leave messages on the server",
        default=True,
        help_text="Otherwise each message is deleted from the server once it is stored here.",
    )
    poll_interval = models.PositiveIntegerField(
        "check every (minutes)",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
    )
    enabled = models.BooleanField(default=True)

    # Poll bookkeeping, written by the POP3 poller.
    last_poll_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_poll_new = models.PositiveIntegerField(default=0, editable=False)
    last_poll_bytes = models.PositiveBigIntegerField(default=0, editable=False)
    last_poll_error = models.TextField(blank=True, editable=False)
    auth_failures = models.PositiveIntegerField(default=0, editable=False)
    next_poll_at = models.DateTimeField(null=True, blank=True, editable=False)
    poll_lock_until = models.DateTimeField(null=True, blank=True, editable=False)

    # "Test connection" outcome, written by its task.
    last_test_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_result = models.TextField(blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="unique_mail_account_per_user"),
        ]
        indexes = [models.Index(fields=["enabled", "next_poll_at"], name="mail_account_due_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def from_header(self) -> str:
        return str(Address(display_name=self.display_name, addr_spec=self.email))

    @property
    def has_pop3_password(self) -> bool:
        return bool(self.pop3_password)

    def is_due(self, now=None) -> bool:
        now = now or timezone.now()
        return self.enabled and (self.next_poll_at is None or self.next_poll_at <= now)

    def schedule_next_poll(self, now=None) -> None:
        now = now or timezone.now()
        self.next_poll_at = now + timedelta(minutes=self.poll_interval)
