"""A user's rules, in order. Each row holds one mailcore Rule as its plain dict."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.header_fields import HeaderTextFieldsMixin
from mailcore.rules import Rule as RuleData


class Rule(models.Model):
    """One rule of a user's ordered list.

    ``definition`` is :meth:`mailcore.rules.Rule.to_dict` (conditions, actions, all/any,
    stop); ``name`` and ``enabled`` are columns too, kept equal to the definition by
    :meth:`set_data`, so the list and the poll's query need not read the JSON.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="rules",
        verbose_name=_("owner"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=1000, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    definition = models.JSONField(_("definition"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["owner", "position"], name="rule_order_idx")]

    def __str__(self) -> str:
        return self.name or str(_("(unnamed rule)"))

    @property
    def data(self) -> RuleData:
        """The rule as mailcore sees it (raises RuleError if the stored JSON is invalid)."""
        return RuleData.from_dict({**self.definition, "name": self.name, "enabled": self.enabled})

    def set_data(self, rule: RuleData) -> None:
        self.definition = rule.to_dict()
        self.name = rule.name
        self.enabled = rule.enabled


class VacationReply(HeaderTextFieldsMixin, models.Model):
    """A mail account's automatic reply while its owner is away (RFC 3834, and the
    safeguards of Sieve's vacation extension, RFC 5230)."""

    header_text_fields = ("subject",)

    account = models.OneToOneField(
        "accounts.MailAccount",
        on_delete=models.CASCADE,
        related_name="vacation_reply",
        verbose_name=_("account"),
    )
    enabled = models.BooleanField(_("enabled"), default=False)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    body = models.TextField(_("message"))
    starts_on = models.DateField(_("first day"), null=True, blank=True)
    ends_on = models.DateField(_("last day"), null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField(
        _("reply to the same sender at most every"), default=7
    )

    class Meta:
        verbose_name = _("vacation reply")
        verbose_name_plural = _("vacation replies")

    def __str__(self) -> str:
        return self.subject


class VacationReplySent(models.Model):
    """When a vacation reply last went to a sender: at most one per interval."""

    vacation = models.ForeignKey(VacationReply, on_delete=models.CASCADE, related_name="sent")
    sender = models.CharField(_("sender"), max_length=320)  # casefolded address
    sent_at = models.DateTimeField(_("sent"))

    class Meta:
        verbose_name = _("vacation reply sent")
        verbose_name_plural = _("vacation replies sent")
        constraints = [
            models.UniqueConstraint(fields=["vacation", "sender"], name="vacation_once_per_sender")
        ]

    def __str__(self) -> str:
        return self.sender
