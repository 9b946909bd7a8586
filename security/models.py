"""Each user's signed-in sessions and login history."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import useragent

USER_AGENT_LENGTH = 512


class UserSession(models.Model):
    """One signed-in session (a row of the session store) of a user, by its key.

    Made at login, its key follows the session's when the key is cycled, its last_seen
    is brought up to date at most every WEBMAIL_SESSION_SEEN_MINUTES, and it goes at
    logout or sign-out. A row whose session has expired is dropped when listed.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_LENGTH, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self) -> str:
        return f"{self.user} {self.summary}"

    @property
    def summary(self) -> str:
        return useragent.summarize(self.user_agent)


class LoginEvent(models.Model):
    """One attempt to log in: the password step, and the code step where there is one."""

    class Result(models.TextChoices):
        SUCCESS = "success", _("Logged in")
        PASSWORD_REFUSED = "password_refused", _("Password not accepted")
        CODE_REFUSED = "code_refused", _("Code not accepted")

    class TwoFactor(models.TextChoices):
        NOT_USED = "", _("Not used")
        PENDING = "pending", _("Code not entered")
        CODE = "code", _("Authenticator app")
        RECOVERY_CODE = "recovery_code", _("Recovery code")

    # None for a username nobody has.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="login_events",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username given"), max_length=150, blank=True)
    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=USER_AGENT_LENGTH, blank=True)
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    two_factor = models.CharField(
        _("two-factor authentication"), max_length=20, choices=TwoFactor.choices, blank=True
    )
    locked_out = models.BooleanField(_("locked out"), default=False)

    class Meta:
        verbose_name = _("login attempt")
        verbose_name_plural = _("login history")
        indexes = [models.Index(fields=["user", "-time"], name="security_login_user_time")]

    def __str__(self) -> str:
        return f"{self.username} {self.result} {self.time:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> str:
        return useragent.summarize(self.user_agent)
