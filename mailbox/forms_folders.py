"""Forms of the Folders settings page: a folder's name and place, an account's delivery."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import folders
from .models import AccountDelivery, Folder, UserFolder


def _parent_choices(owner, exclude: set[int]) -> list[tuple[str, str]]:
    return [("", _("(Top level)"))] + [
        (str(n.pk), n.path)
        for n in folders.flat(owner)
        if n.pk not in exclude and n.depth < UserFolder.MAX_DEPTH
    ]


class FolderForm(forms.Form):
    """Name and parent; the rules (unique among siblings, depth, no cycle) are the domain's
    (mailbox.folders), whose errors name the field they are about."""

    name = forms.CharField(label=_("Name"), max_length=folders.NAME_MAX, strip=True)
    parent = forms.TypedChoiceField(
        label=_("Inside"),
        required=False,
        coerce=int,
        empty_value=None,
    )

    def __init__(self, *args, owner, folder: UserFolder | None = None, **kwargs):
        if folder is not None:
            kwargs.setdefault("initial", {"name": folder.name, "parent": folder.parent_id or ""})
        super().__init__(*args, **kwargs)
        self.owner, self.folder = owner, folder
        exclude = folders.subtree(owner, folder) if folder is not None else set()
        self.fields["parent"].choices = _parent_choices(owner, exclude)
        self.fields["parent"].help_text = _("Folders nest up to %(max)s levels.") % {
            "max": UserFolder.MAX_DEPTH
        }

    def save(self) -> UserFolder | None:
        """Create or update through the domain; None (with the errors added) if refused."""
        parent = folders.get(self.owner, self.cleaned_data["parent"])
        try:
            if self.folder is None:
                return folders.create(self.owner, self.cleaned_data["name"], parent)
            return folders.update(self.owner, self.folder, self.cleaned_data["name"], parent)
        except forms.ValidationError as error:
            self.add_error(None, error)
            return None


class DeliveryForm(forms.Form):
    """Where one account's new mail goes, and whether it arrives read."""

    folder = forms.TypedChoiceField(
        label=_("Deliver new mail to"), required=False, coerce=int, empty_value=None
    )
    mark_read = forms.BooleanField(label=_("Mark as read on arrival"), required=False)

    def __init__(self, *args, owner, account, **kwargs):
        delivery = getattr(account, "delivery", None)  # None: never set (the Inbox)
        if delivery is not None:
            kwargs.setdefault(
                "initial", {"folder": delivery.folder_id or "", "mark_read": delivery.mark_read}
            )
        kwargs.setdefault("prefix", f"account-{account.pk}")
        super().__init__(*args, **kwargs)
        self.owner, self.account = owner, account
        self.fields["folder"].choices = [("", Folder.INBOX.label)] + [
            (str(n.pk), n.path) for n in folders.flat(owner)
        ]

    def save(self) -> AccountDelivery:
        delivery, _created = AccountDelivery.objects.update_or_create(
            account=self.account,
            defaults={
                "folder": folders.get(self.owner, self.cleaned_data["folder"]),
                "mark_read": self.cleaned_data["mark_read"],
            },
        )
        return delivery
