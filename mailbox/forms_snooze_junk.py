"""Forms of the Snooze menu, "Report junk" and the blocked-senders page."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import junk, snooze
from .forms import MessageIdsField
from .models import BlockedSender

CUSTOM = "custom"


class SnoozeForm(forms.Form):
    """One of the presets (a button named `until`), or `until=custom` with `at`."""

    until = forms.ChoiceField(
        label=_("Snooze until"),
        choices=[*snooze.LABELS.items(), (CUSTOM, _("Pick a date and time"))],
    )
    at = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self):
        cleaned = super().clean()
        until = cleaned.get("until")
        now = timezone.now()
        if until == CUSTOM:
            at = cleaned.get("at")  # aware, in the active (user's) zone
            if at is None:
                if not self.has_error("at"):
                    self.add_error("at", _("Choose the date and time to snooze until."))
            elif at <= now:
                self.add_error("at", _("Choose a time in the future."))
            else:
                cleaned["when"] = at
        elif until:
            when = snooze.preset_time(until, now, timezone.get_current_timezone())
            if when is None:
                self.add_error("until", _("It is too late for “Later today”: choose another time."))
            else:
                cleaned["when"] = when
        return cleaned


class BulkSnoozeForm(SnoozeForm):
    ids = MessageIdsField()


class ReportJunkForm(forms.Form):
    block = forms.BooleanField(label=_("Also block the sender"), required=False)


class BulkReportJunkForm(ReportJunkForm):
    ids = MessageIdsField()


class BlockSenderForm(forms.Form):
    address = forms.CharField(
        label=_("Address or domain"),
        max_length=BlockedSender._meta.get_field("address").max_length,
        help_text=_("name@example.com, or @example.com for everyone at that domain."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_address(self):
        address = junk.clean_address(self.cleaned_data["address"])
        if BlockedSender.objects.filter(owner=self.user, address=address).exists():
            raise ValidationError(_("%(address)s is already blocked.") % {"address": address})
        return address

    def save(self) -> BlockedSender:
        return junk.block(self.user, self.cleaned_data["address"])
