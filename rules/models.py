"""A user's rules, in order. Each row holds one mailcore Rule as its plain dict."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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
