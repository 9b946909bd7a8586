"""Forms of the two-factor pages: a code, checked by the form itself."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import twofactor

WRONG_CODE = _("That code is not right. Check that your phone's clock is set automatically.")


def wait_message(wait_until) -> str:
    seconds = max(1, int((wait_until - timezone.now()).total_seconds() + 0.999))
    return ngettext(
        "Too many wrong codes. Wait %(seconds)d second, then try again.",
        "Too many wrong codes. Wait %(seconds)d seconds, then try again.",
        seconds,
    ) % {"seconds": seconds}


def code_field(help_text, *, numeric: bool) -> forms.CharField:
    attrs = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
    if numeric:
        attrs["inputmode"] = "numeric"
    return forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
    )


def password_field() -> forms.CharField:
    return forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def check_password(user, password: str) -> str:
    if not user.check_password(password):
        raise forms.ValidationError(_("That password is not right."), code="wrong")
    return password


class SetupForm(forms.Form):
    """The password again, and the code the authenticator app shows: turns it on."""

    password = password_field()
    code = code_field(_("The 6-digit code your authenticator app shows now."), numeric=True)

    def __init__(self, *args, device, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device
        self.recovery_codes: list[str] = []

    def clean_password(self):
        return check_password(self.device.user, self.cleaned_data["password"])

    def clean_code(self):
        if "password" not in self.cleaned_data:
            return self.cleaned_data["code"]  # a wrong password: the code is not checked
        codes = twofactor.confirm_setup(self.device, self.cleaned_data["code"])
        if codes is None:
            raise forms.ValidationError(WRONG_CODE, code="wrong")
        self.recovery_codes = codes
        return self.cleaned_data["code"]


class CodeCheckForm(forms.Form):
    """A code from the app or a recovery code, for the login step and turning off."""

    code = code_field(
        _("The 6-digit code from your authenticator app, or one of your recovery codes."),
        numeric=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.check = twofactor.CodeCheck()

    def clean_code(self):
        self.check = twofactor.check_code(self.user, self.cleaned_data["code"])
        if self.check.wait_until is not None:
            raise forms.ValidationError(wait_message(self.check.wait_until), code="throttled")
        if self.check.device is None:
            raise forms.ValidationError(WRONG_CODE, code="wrong")
        return self.cleaned_data["code"]


class TurnOffForm(CodeCheckForm):
    """Turning two-factor login off: the password and a code."""

    password = password_field()
    field_order = ["password", "code"]

    def clean_password(self):
        return check_password(self.user, self.cleaned_data["password"])

    def clean_code(self):
        if "password" not in self.cleaned_data:
            return self.cleaned_data["code"]  # a wrong password: no code is used up
        return super().clean_code()
