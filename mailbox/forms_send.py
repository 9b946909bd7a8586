"""Forms of Send later and autosave (mailbox.sending, views_compose)."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailcore import compose

from . import sending
from .forms import ComposeForm

CUSTOM = "custom"


class ScheduleForm(forms.Form):
    """Send later: a preset (a button named `send_later`), or `send_later=custom` with
    `send_at`, a date and time in the user's time zone."""

    send_later = forms.ChoiceField(
        label=_("Send later"),
        choices=[*sending.LABELS.items(), (CUSTOM, _("Pick a date and time"))],
    )
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self):
        cleaned = super().clean()
        choice = cleaned.get("send_later")
        now = timezone.now()
        if choice == CUSTOM:
            at = cleaned.get("send_at")  # aware, in the active (user's) zone
            if at is None:
                if not self.has_error("send_at"):
                    self.add_error("send_at", _("Choose the date and time to send it."))
            elif at <= now:
                self.add_error("send_at", _("Choose a time in the future."))
            else:
                cleaned["when"] = at
        elif choice:
            cleaned["when"] = sending.preset_time(choice, now, timezone.get_current_timezone())
        return cleaned


class DraftVersionForm(forms.Form):
    """The draft's version the page was showing (autosave and Save both send it)."""

    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)


class AutosaveForm(ComposeForm):
    """What the compose page sends while the user types: the compose form's fields as
    they are, half-typed addresses included (a draft keeps what was typed; Send checks
    it). Files are uploaded on their own (upload_attachment), never here."""

    version = DraftVersionForm.base_fields["version"]

    def _clean_addresses(self, name: str) -> str:
        return self.cleaned_data.get(name, "")

    def clean_subject(self):
        # No line breaks in a header, even in a draft; a text input has none to send.
        return compose.clean_header_text(self.cleaned_data["subject"])

    def clean(self):
        cleaned = super().clean()
        cleaned["attachments"] = []
        cleaned["remove_attachments"] = []
        return cleaned
