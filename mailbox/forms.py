from django import forms

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
