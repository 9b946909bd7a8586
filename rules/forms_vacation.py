"""The vacation reply settings of one mail account."""

from django import forms
from django.utils.translation import gettext_lazy as _

from mailcore.header_text import hides_or_holds_controls

from .models import VacationReply

MAX_INTERVAL_DAYS = 365
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VacationForm(forms.ModelForm):
    class Meta:
        model = VacationReply
        fields = ["enabled", "subject", "body", "starts_on", "ends_on", "interval_days"]
        labels = {
            "enabled": _("Send a vacation reply"),
            "subject": _("Subject"),
            "body": _("Message"),
            "interval_days": _("Reply to the same sender at most every (days)"),
        }
        help_texts = {
            "subject": _("Leave empty to answer with “Re: ” and the subject of their message."),
            "starts_on": _("In your time zone. Leave empty to start now."),
            "ends_on": _("In your time zone. Leave empty to keep replying until you turn it off."),
            "interval_days": _("Someone who writes again within this time gets no second reply."),
        }
        widgets = {
            "body": forms.Textarea(attrs={"rows": 8}),
            "starts_on": _DATE,
            "ends_on": _DATE,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].required = False  # only needed to turn it on
        self.fields["interval_days"].min_value = 1
        self.fields["interval_days"].max_value = MAX_INTERVAL_DAYS
        self.fields["interval_days"].widget.attrs.update(min=1, max=MAX_INTERVAL_DAYS)
        for name in ("subject", "body"):
            self.fields[name].strip = False

    def clean_subject(self):
        subject = self.cleaned_data["subject"]
        if hides_or_holds_controls(subject):
            # Header injection: a CR or LF would start a new header.
            raise forms.ValidationError(_("The subject cannot contain line breaks."))
        return subject.strip()

    def clean_interval_days(self):
        days = self.cleaned_data["interval_days"]
        if days is None or not 1 <= days <= MAX_INTERVAL_DAYS:
            raise forms.ValidationError(
                _("Choose between 1 and %(max)d days.") % {"max": MAX_INTERVAL_DAYS}
            )
        return days

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The last day cannot be before the first day."))
        if cleaned.get("enabled") and not (cleaned.get("body") or "").strip():
            self.add_error("body", _("Write the message to send while you are away."))
        return cleaned
