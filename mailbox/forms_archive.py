"""Forms of the import and export page: which file, into which folder of which account."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.formatting import file_size
from accounts.models import MailAccount

from . import folders
from .export import FORMATS
from .importing import IMPORT_FOLDERS, max_upload_bytes
from .models import Folder


def import_folder_choices(user) -> list[tuple[str, str]]:
    """(folder key, label): the system folders an import may fill, then the own folders."""
    return [(f.value, f.label) for f in IMPORT_FOLDERS] + [
        (node.key, node.path) for node in folders.flat(user)
    ]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File"))  # its help names the size limit
    folder = forms.ChoiceField(label=_("Into folder"), initial=Folder.INBOX)
    account = forms.ModelChoiceField(
        label=_("Mail account"),
        queryset=MailAccount.objects.none(),
        empty_label=None,
        required=False,
        help_text=_("The account the imported messages belong to."),
    )

    def __init__(self, *args, user, too_large: bool = False, **kwargs):
        """``too_large``: the upload handler refused the file (importing.UploadLimit)."""
        super().__init__(*args, **kwargs)
        self.user = user
        self.too_large = too_large
        limit = file_size(max_upload_bytes())
        self.fields["file"].help_text = gettext(
            "An mbox file, an .eml file, or a zip of .eml files, up to %(limit)s."
        ) % {"limit": limit}
        # For the page's script: the same refusal before a byte is sent.
        self.fields["file"].widget.attrs.update(
            {
                "data-max-bytes": str(max_upload_bytes()),
                "data-too-large": self.too_large_message(),
            }
        )
        if too_large:
            self.fields["file"].required = False  # the error below says what happened
        self.fields["folder"].choices = import_folder_choices(user)
        accounts = MailAccount.objects.filter(user=user).order_by("pk")
        self.fields["account"].queryset = accounts
        first = accounts.first()
        if first is not None:
            self.fields["account"].initial = first.pk

    @staticmethod
    def too_large_message() -> str:
        return gettext(
            "The file is larger than %(limit)s, the most an import can take. Split it into "
            "smaller files, or ask the administrator to import it on the server."
        ) % {"limit": file_size(max_upload_bytes())}

    def clean_file(self):
        if self.too_large:
            raise forms.ValidationError(self.too_large_message(), code="too_large")
        return self.cleaned_data["file"]

    def clean_account(self):
        # Not asked (one account, or a script's post): the user's first account.
        account = self.cleaned_data.get("account") or self.fields["account"].queryset.first()
        if account is None:
            raise forms.ValidationError(_("Add a mail account first."))
        return account

    def destination(self) -> tuple[str, object]:
        """(system folder, own folder or None) of the cleaned folder key."""
        folder, pk = folders.parse_key(self.cleaned_data["folder"])
        return folder, folders.get(self.user, pk) if pk is not None else None


class FormatChoice(forms.Form):
    """Which format a download is in (mbox unless the request says otherwise)."""

    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], required=False)

    def chosen(self) -> str:
        return (self.cleaned_data.get("format") if self.is_valid() else "") or "mbox"
