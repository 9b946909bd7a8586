from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from mailcore import addresses, compose

from . import actions
from .models import Folder

ACTIONS = {
    # action: (label, function(owner, ids), past tense)
    "mark_read": ("Mark read", lambda o, ids: actions.set_seen(o, ids, True), "marked read"),
    "mark_unread": ("Mark unread", lambda o, ids: actions.set_seen(o, ids, False), "marked unread"),
    "flag": ("Flag", lambda o, ids: actions.set_flagged(o, ids, True), "flagged"),
    "unflag": ("Unflag", lambda o, ids: actions.set_flagged(o, ids, False), "unflagged"),
    "archive": ("Archive", lambda o, ids: actions.move_to(o, ids, Folder.ARCHIVE), "archived"),
    "inbox": (
        "Move to Inbox",
        lambda o, ids: actions.move_to(o, ids, Folder.INBOX),
        "moved to Inbox",
    ),
    "trash": ("Move to Trash", actions.move_to_trash, "moved to Trash"),
    "restore": ("Restore", actions.restore, "restored"),
    "delete_forever": ("Delete forever", actions.delete_forever, "deleted forever"),
}
TRASH_ONLY = {"restore", "delete_forever"}


class MessageIdsField(forms.Field):
    """Selected message ids; ownership is enforced by the actions, not here."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError("Invalid message selection.") from None

    def validate(self, value):
        if not value:
            raise forms.ValidationError("Select at least one message.")


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(k, v[0]) for k, v in ACTIONS.items()])
    ids = MessageIdsField()
    folder = forms.ChoiceField(choices=Folder.choices, required=False)
    confirm = forms.BooleanField(required=False)

    @staticmethod
    def actions_for(folder: str) -> list[tuple[str, str]]:
        names = [k for k in ACTIONS if (k in TRASH_ONLY) == (folder == Folder.TRASH)]
        if folder == Folder.TRASH:
            names = ["restore", "delete_forever", "mark_read", "mark_unread"]
        elif folder == Folder.ARCHIVE:
            names = [n for n in names if n != "archive"]
        elif folder == Folder.INBOX:
            names = [n for n in names if n != "inbox"]
        return [(name, ACTIONS[name][0]) for name in names]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "delete_forever" and not cleaned.get("confirm"):
            raise forms.ValidationError(
                "Deleting forever cannot be undone: tick “Yes, delete forever” to confirm."
            )
        return cleaned

    def apply(self, owner) -> int:
        _, function, _ = ACTIONS[self.cleaned_data["action"]]
        return function(owner, self.cleaned_data["ids"])

    def done_message(self, count: int) -> str:
        _, _, done = ACTIONS[self.cleaned_data["action"]]
        return f"{count} message{'s' if count != 1 else ''} {done}."


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _address_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Separate several addresses with commas.",
    )


class ComposeForm(forms.Form):
    account = forms.ModelChoiceField(queryset=None, label="From", empty_label=None)
    to = _address_field("To")
    cc = _address_field("Cc")
    bcc = _address_field("Bcc")
    subject = forms.CharField(required=False, strip=False)
    body = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 16}))
    attachments = MultipleFileField(label="Attach files", required=False)
    remove_attachments = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Remove attachments",
    )
    request_dsn = forms.BooleanField(label="Request delivery status notification", required=False)
    request_read_receipt = forms.BooleanField(label="Request read receipt", required=False)

    def __init__(self, *args, user, outgoing=None, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import OutgoingAttachment

        self.user = user
        self.outgoing = outgoing
        self.fields["account"].queryset = user.mail_accounts.filter(enabled=True)
        existing = (
            OutgoingAttachment.objects.filter(outgoing=outgoing)
            if outgoing
            else OutgoingAttachment.objects.none()
        )
        self.fields["remove_attachments"].queryset = existing
        self.fields["remove_attachments"].label_from_instance = lambda a: (
            f"{a.filename} ({a.size:,} bytes)"
        )
        self.max_bytes = settings.WEBMAIL_MAX_ATTACHMENT_BYTES
        self.fields["attachments"].widget.attrs["data-max-bytes"] = self.max_bytes

    def _clean_addresses(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        try:
            addresses.parse_address_list(value)
        except addresses.AddressError as exc:
            raise forms.ValidationError(f"“{exc.item}” is not a valid email address.") from None
        return value

    def clean_to(self):
        return self._clean_addresses("to")

    def clean_cc(self):
        return self._clean_addresses("cc")

    def clean_bcc(self):
        return self._clean_addresses("bcc")

    def clean_subject(self):
        subject = self.cleaned_data["subject"]
        if compose.has_control_chars(subject):
            # Header injection: a CR or LF would start a new header.
            raise forms.ValidationError("The subject cannot contain line breaks.")
        return subject.strip()

    def clean(self):
        cleaned = super().clean()
        removed = {a.pk for a in cleaned.get("remove_attachments") or []}
        kept = sum(
            a.size for a in self.fields["remove_attachments"].queryset if a.pk not in removed
        )
        total = kept
        for upload in cleaned.get("attachments") or []:
            if upload.size > self.max_bytes:
                self.add_error(
                    "attachments",
                    f"“{upload.name}” is larger than the {filesizeformat(self.max_bytes)} limit.",
                )
            total += upload.size
        if total > self.max_bytes and not self.has_error("attachments"):
            self.add_error(
                "attachments",
                f"Attachments total {filesizeformat(total)}, over "
                f"the {filesizeformat(self.max_bytes)} limit.",
            )
        return cleaned

    def require_recipients(self) -> bool:
        """For Send: at least one recipient; adds the error and returns False if none."""
        if any(self.cleaned_data.get(f) for f in ("to", "cc", "bcc")):
            return True
        self.add_error("to", "Add at least one recipient (To, Cc or Bcc).")
        return False
