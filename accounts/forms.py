import zoneinfo

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mailcore import destinations as policy_rules
from mailcore.security import Security

from . import destinations, mail_errors
from .models import DEFAULT_PORTS, PORT_SECURITY, MailAccount, User

PASSWORD_HELP_KEEP = _("Leave empty to keep the saved password.")


class WriteOnlyPasswordField(forms.CharField):
    """A password input that never renders a value back to the browser."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.PasswordInput(render_value=False))
        super().__init__(*args, **kwargs)


class KeepSavedPasswordsMixin:
    """Empty password inputs mean "keep the saved one" (passwords are write-only)."""

    password_fields = ("pop3_password", "smtp_password")

    def _post_clean(self):
        # Restore saved passwords before the instance is updated from cleaned_data.
        for name in self.password_fields:
            if not self.cleaned_data.get(name) and self.instance.pk:
                self.cleaned_data[name] = getattr(self.instance, name)
        if self.cleaned_data.get("clear_smtp_password"):
            self.cleaned_data["smtp_password"] = ""
        super()._post_clean()


class MailAccountForm(KeepSavedPasswordsMixin, forms.ModelForm):
    pop3_password = WriteOnlyPasswordField(label=_("POP3 password"))
    smtp_password = WriteOnlyPasswordField(label=_("SMTP password"))
    clear_smtp_password = forms.BooleanField(
        label=_("Remove the saved SMTP password"), required=False
    )

    class Meta:
        model = MailAccount
        fields = [
            "email",
            "display_name",
            "pop3_host",
            "pop3_port",
            "pop3_security",
            "pop3_login",
            "pop3_password",
            "use_apop",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_login",
            "smtp_password",
            "allow_insecure_tls",
            "leave_on_server",
            "poll_interval",
            "enabled",
        ]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["pop3_port"].required = False
        self.fields["smtp_port"].required = False
        self.fields["pop3_security"].required = False
        self.fields["smtp_security"].required = False
        saved = self.instance.pk is not None
        for name in ("pop3_password", "smtp_password"):
            if saved and getattr(self.instance, name):
                self.fields[name].help_text = PASSWORD_HELP_KEEP
        if not (saved and self.instance.smtp_password):
            del self.fields["clear_smtp_password"]

    def _fill_port_and_security(self, cleaned, proto: str) -> None:
        # A port alone implies its conventional security, and a security mode
        # alone implies its conventional port (995 SSL, 110 STARTTLS, ...).
        port, security = cleaned.get(f"{proto}_port"), cleaned.get(f"{proto}_security")
        if f"{proto}_port" in self.errors:
            return
        if port is not None and not security:
            cleaned[f"{proto}_security"] = PORT_SECURITY.get(port, Security.STARTTLS)
        elif security and port is None:
            cleaned[f"{proto}_port"] = DEFAULT_PORTS[proto][security]
        elif port is None and not security:
            default = Security.SSL if proto == "pop3" else Security.STARTTLS
            cleaned[f"{proto}_security"] = default
            cleaned[f"{proto}_port"] = DEFAULT_PORTS[proto][default]

    def _check_destination(self, cleaned, proto: str) -> None:
        """The operator's destination policy (accounts.destinations): a forbidden host or
        port is a field error. Checked again on the resolved address at every connection,
        so a name that resolves elsewhere later is refused then."""
        host, port = cleaned.get(f"{proto}_host"), cleaned.get(f"{proto}_port")
        if not host or port is None:
            return
        policy = destinations.policy(self.instance)
        try:
            try:
                policy_rules.check(host, port, policy)
            except OSError:  # the name does not resolve now: refuse what can be refused
                policy_rules.check_before_resolving(host, port, policy)
        except policy_rules.DestinationRefused as refused:
            field = (
                f"{proto}_port" if refused.reason == policy_rules.REASON_PORT else f"{proto}_host"
            )
            self.add_error(field, mail_errors.describe_refusal(**refused.values))

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        owner = self.user or self.instance.user
        taken = MailAccount.objects.filter(user=owner, email__iexact=email)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("You already have an account with this address."))
        return email

    def clean(self):
        cleaned = super().clean()
        self._fill_port_and_security(cleaned, "pop3")
        self._fill_port_and_security(cleaned, "smtp")
        self._check_destination(cleaned, "pop3")
        self._check_destination(cleaned, "smtp")
        if not cleaned.get("pop3_password") and not self.instance.pop3_password:
            self.add_error("pop3_password", _("Enter the password for the POP3 server."))
        return cleaned

    def save(self, commit=True):
        account = super().save(commit=False)
        if self.user is not None and not account.pk:
            account.user = self.user
        if commit:
            account.save()
        return account


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        choices=lambda: (
            [("", _("Server default"))]
            + [(name, name) for name in sorted(zoneinfo.available_timezones())]
        ),
    )

    class Meta:
        model = User
        fields = [
            "language",
            "theme",
            "list_density",
            "conversation_view",
            "keyboard_shortcuts",
            "time_zone",
            # The address book fills itself (contacts.collection); each can be turned off.
            "collect_recipients",
            "collect_reply_senders",
            "collect_trusted_senders",
            # Undo send: how long a sent message waits (mailbox.sending).
            "undo_send_seconds",
            # Rich text or plain text for new messages (a message can switch).
            "compose_format",
        ]
        widgets = {
            "compose_format": forms.RadioSelect,
            "undo_send_seconds": forms.RadioSelect,
            "language": forms.RadioSelect,
            "theme": forms.RadioSelect,
            "list_density": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language is named in itself: mark it so, for screen readers (lang).
        self.fields["language"].choices = [
            (code, format_html('<span lang="{}">{}</span>', code, name) if code else name)
            for code, name in User.Language.choices
        ]
        # Not sent (a page from before undo send): the setting stays as it is.
        self.fields["undo_send_seconds"].required = False
        self.fields["compose_format"].required = False

    def clean_compose_format(self):
        # Not sent (a page from before rich text): the setting stays as it is.
        return self.cleaned_data.get("compose_format") or self.instance.compose_format

    def clean_undo_send_seconds(self):
        value = self.cleaned_data.get("undo_send_seconds")
        return self.instance.undo_send_seconds if value in (None, "") else value
