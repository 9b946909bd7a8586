"""The address book's forms: a contact with a small formset of addresses, groups,
merging, collected addresses, import and export.

Names and addresses go into mail headers when the user writes to a contact, so a line
break or control character in any of them is a form error naming the field, and every
address is checked as compose checks what is typed into To.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mailcore.addresses import AddressError, normalise_addr_spec
from mailcore.mime.headers import has_control_chars

from .editing import ContactData, EmailData
from .models import CollectedAddress, Contact, ContactGroup

LINE_BREAK_ERROR = _("This cannot contain line breaks.")


def _no_controls(value: str) -> str:
    if has_control_chars(value):
        raise forms.ValidationError(LINE_BREAK_ERROR, code="control")
    return value.strip()


def checked_address(value: str) -> str:
    """`value` as an address we can send to, or a ValidationError saying why not."""
    value = value.strip()
    if has_control_chars(value):
        raise forms.ValidationError(LINE_BREAK_ERROR, code="control")
    try:
        normalise_addr_spec(value)
    except AddressError:
        raise forms.ValidationError(
            _("“%(item)s” is not a valid email address."), params={"item": value}, code="invalid"
        ) from None
    return value


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "display_name",
            "korean_name",
            "latin_name",
            "organization",
            "phone",
            "notes",
            "groups",
        ]
        widgets = {
            "groups": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"display_name": _("The name put in the To field when you write.")}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = ContactGroup.objects.filter(owner=owner)
        if not self.fields["groups"].queryset.exists():
            del self.fields["groups"]

    def _clean_text(self, name: str) -> str:
        return _no_controls(self.cleaned_data.get(name, ""))

    def clean_display_name(self):
        return self._clean_text("display_name")

    def clean_korean_name(self):
        return self._clean_text("korean_name")

    def clean_latin_name(self):
        return self._clean_text("latin_name")

    def clean_organization(self):
        return self._clean_text("organization")

    def clean_phone(self):
        return self._clean_text("phone")


class EmailForm(forms.Form):
    address = forms.CharField(label=_("Email address"), max_length=320, required=False)
    preferred = forms.BooleanField(label=_("Preferred"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].widget.attrs.update(
            {"autocomplete": "off", "inputmode": "email", "spellcheck": "false"}
        )

    def clean_address(self):
        value = self.cleaned_data.get("address", "")
        return checked_address(value) if value.strip() else ""


class BaseEmailFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            address = form.cleaned_data.get("address", "")
            if not address or form.cleaned_data.get("DELETE"):
                continue
            key = address.casefold()
            if key in seen:
                form.add_error("address", _("This address is listed twice."))
            seen.add(key)

    def emails(self) -> list[EmailData]:
        return [
            EmailData(f.cleaned_data["address"], f.cleaned_data.get("preferred", False))
            for f in self.forms
            if f.cleaned_data.get("address") and not f.cleaned_data.get("DELETE")
        ]


EmailFormSet = forms.formset_factory(
    EmailForm, formset=BaseEmailFormSet, extra=1, can_delete=True, max_num=20, absolute_max=20
)


class ContactEditor:
    """The contact form and its addresses, validated together."""

    def __init__(self, data=None, *, owner, contact: Contact | None = None, initial=None):
        self.form = ContactForm(data, instance=contact, owner=owner, initial=initial or {})
        emails_initial = (
            [{"address": e.address, "preferred": e.preferred} for e in contact.emails.all()]
            if contact is not None
            else [{"address": (initial or {}).get("address", ""), "preferred": True}]
            if (initial or {}).get("address")
            else []
        )
        self.adding_row = bool(data is not None and data.get("add_address"))
        if self.adding_row:
            # "Add another address" without JavaScript: the same rows and one more.
            data = data.copy()
            total = data.get("emails-TOTAL_FORMS", "0")
            data["emails-TOTAL_FORMS"] = str(min(int(total) + 1, 20) if total.isdigit() else 1)
        self.emails = EmailFormSet(data, prefix="emails", initial=emails_initial)

    def is_valid(self) -> bool:
        form_ok = self.form.is_valid()
        emails_ok = self.emails.is_valid()
        if form_ok and emails_ok:
            data = self.form.cleaned_data
            names = [data.get(n, "") for n in ("display_name", "korean_name", "latin_name")]
            if not any(names) and not self.emails.emails():
                self.form.add_error(None, _("Give the contact a name or an email address."))
                return False
        return form_ok and emails_ok and not self.adding_row

    @property
    def error_count(self) -> int:
        count = len(self.form.errors) + len(self.emails.non_form_errors())
        return count + sum(len(f.errors) for f in self.emails.forms)

    def data(self) -> ContactData:
        cleaned = self.form.cleaned_data
        return ContactData(
            display_name=cleaned.get("display_name", ""),
            korean_name=cleaned.get("korean_name", ""),
            latin_name=cleaned.get("latin_name", ""),
            organization=cleaned.get("organization", ""),
            phone=cleaned.get("phone", ""),
            notes=cleaned.get("notes", ""),
            emails=self.emails.emails(),
        )

    def groups(self):
        return self.form.cleaned_data.get("groups", []) if "groups" in self.form.fields else None


class GroupForm(forms.ModelForm):
    class Meta:
        model = ContactGroup
        fields = ["name"]

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner

    def clean_name(self):
        name = _no_controls(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(_("Give the group a name."))
        taken = ContactGroup.objects.filter(owner=self.owner, name=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("You already have a group with this name."))
        return name


class SelectionForm(forms.Form):
    """Contacts chosen on the list (checkboxes), and what to do with them."""

    ACTIONS = (
        ("merge", _("Merge")),
        ("add_to_group", _("Add to group")),
        ("remove_from_group", _("Remove from group")),
    )
    ids = forms.ModelMultipleChoiceField(queryset=Contact.objects.none(), label=_("Contacts"))
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    group = forms.ModelChoiceField(
        queryset=ContactGroup.objects.none(), required=False, label=_("Group")
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = Contact.objects.filter(owner=owner)
        self.fields["group"].queryset = ContactGroup.objects.filter(owner=owner)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("add_to_group", "remove_from_group") and not data.get("group"):
            self.add_error("group", _("Choose a group."))
        if action == "merge" and len(data.get("ids") or []) < 2:
            self.add_error("ids", _("Choose two or more contacts to merge."))
        return data


class MergeForm(forms.Form):
    """Which of the chosen contacts the others are merged into."""

    ids = forms.ModelMultipleChoiceField(queryset=Contact.objects.none(), label=_("Contacts"))
    keep = forms.ModelChoiceField(
        queryset=Contact.objects.none(),
        label=_("Keep this contact's name and details"),
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        own = Contact.objects.filter(owner=owner)
        self.fields["ids"].queryset = own
        self.fields["keep"].queryset = own

    def clean(self):
        data = super().clean()
        chosen = list(data.get("ids") or [])
        if len(chosen) < 2:
            self.add_error("ids", _("Choose two or more contacts to merge."))
        elif data.get("keep") is not None and data["keep"] not in chosen:
            self.add_error("keep", _("Choose one of the contacts being merged."))
        return data


class CollectedForm(forms.ModelForm):
    class Meta:
        model = CollectedAddress
        fields = ["name"]

    def clean_name(self):
        return _no_controls(self.cleaned_data.get("name", ""))


class PromoteForm(forms.Form):
    keep_collected = forms.BooleanField(
        label=_("Keep it among the collected addresses too"), required=False, initial=True
    )


MAX_IMPORT_BYTES = 10 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "A vCard file (.vcf, vCard 3.0 or 4.0) or a CSV file exported by Gmail, "
            "Outlook or Naver, up to 10 MB."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return upload


class ExportForm(forms.Form):
    group = forms.ModelChoiceField(
        queryset=ContactGroup.objects.none(),
        required=False,
        label=_("Contacts"),
        empty_label=_("All contacts"),
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = ContactGroup.objects.filter(owner=owner)
