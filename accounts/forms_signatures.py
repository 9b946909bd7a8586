"""A signature of a mail account: rich text (sanitized here, never trusted) and its plain
text, which is derived from the rich text when left empty; and the images it may show
(the account's SignatureImage rows, by our URL; any other image is dropped)."""

import html as html_lib
import os
import re
from dataclasses import dataclass

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mailcore import richtext

from .formatting import file_size
from .models import Signature, SignatureImage

_IMG_RE = re.compile(r"<img\b[^>]*>")


@dataclass(frozen=True)
class ImageUpload:
    """An uploaded signature image, checked: its type is what its bytes say."""

    filename: str
    content_type: str
    data: bytes


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes are (PNG, JPEG, GIF, WebP), whatever the browser said."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(upload) -> ImageUpload:
    """A signature image upload, or ValidationError: too large, or not an image."""
    name = os.path.basename((upload.name or "").replace("\\", "/")).strip() or "image"
    if upload.size > SignatureImage.MAX_BYTES:
        raise forms.ValidationError(
            _("“%(name)s” is too large: a signature image can be up to %(limit)s."),
            params={"name": name, "limit": file_size(SignatureImage.MAX_BYTES)},
        )
    data = upload.read()
    content_type = sniff_image(data)
    if content_type is None:
        raise forms.ValidationError(
            _("“%(name)s” is not a PNG, JPEG, GIF or WebP image."), params={"name": name}
        )
    return ImageUpload(name[-255:], content_type, data)


class SignatureImageForm(forms.Form):
    """One image for the signature editor's "Insert image" (and its paste and drop)."""

    image = forms.FileField(label=_("Image"))

    def clean_image(self):
        return check_image(self.cleaned_data["image"])


def image_tag(image: SignatureImage) -> str:
    return f'<img src="{image.url()}" alt="{html_lib.escape(image.filename)}">'


class SignatureForm(forms.ModelForm):
    # Without JavaScript: an image put at the end of the rich text on save. Its bytes are
    # a blob, which the mailbox app writes: its subclass (mailbox.views_signature_images)
    # implements add_image; this form alone has no image field.
    image = forms.FileField(
        label=_("Add an image"),
        required=False,
        help_text=_("PNG, JPEG, GIF or WebP, up to 1 MB. It goes at the end of the rich text."),
    )
    stores_images = False
    field_order = ["name", "text", "image"]

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
        if not self.stores_images:
            del self.fields["image"]
        else:
            self.fields["image"].widget.attrs["accept"] = ",".join(SignatureImage.TYPES)

    def add_image(self, upload: ImageUpload) -> SignatureImage:
        """Store the upload as one of the account's signature images."""
        raise NotImplementedError

    def _image_src(self, url: str) -> str | None:
        # Only this account's own signature images, by their URL; anything else goes.
        image = SignatureImage.at_url(url, account=self.account)
        return image.url() if image else None

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        return check_image(upload) if upload else None

    def clean(self):
        cleaned = super().clean()
        posted = cleaned.get("html") or ""
        html = richtext.sanitize_compose_html(posted, self._image_src)
        text = (cleaned.get("text") or "").replace("\r\n", "\n").strip("\n")
        kept = ""
        if not posted.strip() and self.instance.html:
            # Without JavaScript the rich text follows the plain text; its images stay.
            old = richtext.sanitize_compose_html(self.instance.html, self._image_src)
            kept = "".join(f"<p>{tag}</p>" for tag in _IMG_RE.findall(old))
        words = richtext.html_to_text(_IMG_RE.sub("", html))  # an image has no words here
        if not words.strip() and "<img" not in html:
            html = ""
        if not text and html:
            text = words.rstrip("\n")
        if not html and text:
            html = richtext.text_to_html(text)
        html += kept
        if not text and not html and not cleaned.get("image") and not self.has_error("image"):
            self.add_error("text", _("Write the signature."))
        cleaned["html"], cleaned["text"] = html, text
        return cleaned

    @transaction.atomic
    def save(self, commit=True):
        self.instance.account = self.account
        upload = self.cleaned_data.get("image")
        if upload:
            tag = image_tag(self.add_image(upload))
            self.instance.html = richtext.sanitize_compose_html(
                self.instance.html + f"<p>{tag}</p>", self._image_src
            )
        others = Signature.objects.filter(account=self.account).exclude(pk=self.instance.pk)
        # One default of each kind per account: choosing one here moves it.
        if self.cleaned_data["default_for_new"]:
            others.update(default_for_new=False)
        if self.cleaned_data["default_for_replies"]:
            others.update(default_for_replies=False)
        return super().save(commit)
