"""A send-as address (alias) of a mail account."""

from django import forms
from django.utils.translation import gettext_lazy as _

from mailcore import compose
from mailcore.addresses import AddressError, normalise_addr_spec
from mailcore.header_text import hides_or_holds_controls

from .models import SendAs


class SendAsForm(forms.ModelForm):
    class Meta:
        model = SendAs
        fields = ["email", "display_name", "signature"]
        help_texts = {
            "email": _("An address your provider lets this account send from."),
            "display_name": _("The name people see next to this address."),
        }

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["signature"].queryset = account.signatures.all()
        self.fields["signature"].empty_label = _("(the account's default)")

    def clean_email(self):
        email = self.cleaned_data["email"]
        if compose.has_control_chars(email):
            raise forms.ValidationError(_("The address cannot contain line breaks."))
        try:
            email = normalise_addr_spec(email.strip())
        except AddressError:
            raise forms.ValidationError(_("Enter a valid email address.")) from None
        if email.lower() == self.account.email.lower():
            raise forms.ValidationError(_("This is the account's own address already."))
        others = SendAs.objects.filter(account=self.account, email__iexact=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This account can already send as this address."))
        return email

    def clean_display_name(self):
        name = self.cleaned_data["display_name"]
        if hides_or_holds_controls(name):
            # Header injection: a CR or LF would start a new header.
            raise forms.ValidationError(_("The name cannot contain line breaks."))
        return name.strip()

    def save(self, commit=True):
        self.instance.account = self.account
        return super().save(commit)
