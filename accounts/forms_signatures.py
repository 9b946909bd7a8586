"""A signature of a mail account: rich text (sanitized here, never trusted) and its plain
text, which is derived from the rich text when left empty."""

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mailcore import richtext

from .models import Signature


class SignatureForm(forms.ModelForm):
    class Meta:
        model = Signature
        fields = ["name", "html", "text", "default_for_new", "default_for_replies"]
        widgets = {
            # static/js/editor.js writes the rich text here; without it the plain text is all.
            "html": forms.HiddenInput,
            "text": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "text": _(
                "What plain-text messages show. Leave it empty to use the rich text's words."
            ),
        }

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        cleaned = super().clean()
        html = richtext.sanitize_compose_html(cleaned.get("html") or "")
        text = (cleaned.get("text") or "").replace("\r\n", "\n").strip("\n")
        if not richtext.html_to_text(html).strip():
            html = ""
        if not text and html:
            text = richtext.html_to_text(html).rstrip("\n")
        if not html and text:
            html = richtext.text_to_html(text)
        if not text:
            self.add_error("text", _("Write the signature."))
        cleaned["html"], cleaned["text"] = html, text
        return cleaned

    @transaction.atomic
    def save(self, commit=True):
        self.instance.account = self.account
        others = Signature.objects.filter(account=self.account).exclude(pk=self.instance.pk)
        # One default of each kind per account: choosing one here moves it.
        if self.cleaned_data["default_for_new"]:
            others.update(default_for_new=False)
        if self.cleaned_data["default_for_replies"]:
            others.update(default_for_replies=False)
        return super().save(commit)
