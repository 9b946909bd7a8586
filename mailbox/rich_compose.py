"""Rich-text compose on the server: what the editor's HTML becomes, signatures, inline
images and the forgotten-attachment check.

The browser's HTML is never trusted: `clean_html` runs it through the compose allow-list
(mailcore.richtext) and derives the text part from what survived. Inline images live as
the draft's own attachments (`inline`, with a generated `content_id`); the editor shows
them from our origin (`compose_inline_image`), the stored HTML refers to them as
`cid:` URLs, and an image that is neither of the two is dropped.

A signature shows its images (accounts.SignatureImage) by our URL; a draft whose
signature shows one carries it as its own inline image (`SignatureImages`): the same
blob, no copy, a new Content-ID, so the recipient gets it as a multipart/related part.
"""

from __future__ import annotations

import mimetypes
import re
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from django.urls import Resolver404, resolve, reverse

from accounts.models import Signature, SignatureImage
from mailcore import richtext

from . import ingest
from .models import Outgoing, OutgoingAttachment

# What an inline image may be (the editor shows it, the recipient's client too).
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_CID_SRC_RE = re.compile(r'src="cid:([^"]+)"')


def image_type(item) -> str | None:
    """The image type of an upload or attachment if compose may show it inline, else None."""
    content_type = (getattr(item, "content_type", "") or "").split(";")[0].strip().lower()
    if content_type not in INLINE_IMAGE_TYPES:
        guessed = mimetypes.guess_type(getattr(item, "name", "") or getattr(item, "filename", ""))
        content_type = guessed[0] or ""
    return content_type if content_type in INLINE_IMAGE_TYPES else None


def new_content_id(account) -> str:
    """A Content-ID (without <>) on the account's domain, unique like a Message-ID."""
    return make_msgid(domain=account.email.rpartition("@")[2] or "localhost")[1:-1]


def inline_url(attachment: OutgoingAttachment) -> str:
    return reverse("compose_inline_image", args=[attachment.outgoing_id, attachment.pk])


def _inline_images(outgoing: Outgoing | None) -> list[OutgoingAttachment]:
    if outgoing is None or outgoing.pk is None:
        return []
    return list(outgoing.attachments.filter(inline=True).exclude(content_id=""))


def clean_html(
    outgoing: Outgoing | None, html: str, images: SignatureImages | None = None
) -> tuple[str, str]:
    """(sanitized HTML, its text part) for what the editor posted.

    Images: this draft's own inline attachments, shown by URL in the editor, become
    `cid:` references; a `cid:` of one of them stays; with `images`, the owner's
    signature images become the draft's too (`SignatureImages.src`); anything else is
    dropped.
    """
    own = _inline_images(outgoing)
    by_pk = {a.pk: a for a in own}
    content_ids = {a.content_id for a in own}

    def image_src(url: str) -> str | None:
        if url.lower().startswith("cid:"):
            return url if unquote(url[4:]) in content_ids else None
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return None
        if images is not None and (signature_image := images.src(url)):
            return signature_image
        try:
            match = resolve(parts.path)
        except Resolver404:
            return None
        if match.url_name != "compose_inline_image" or outgoing is None:
            return None
        if match.kwargs.get("pk") != outgoing.pk:
            return None
        attachment = by_pk.get(match.kwargs.get("attachment_pk"))
        return f"cid:{attachment.content_id}" if attachment else None

    cleaned = richtext.sanitize_compose_html(html, image_src)
    return cleaned, richtext.html_to_text(cleaned)


def editor_content(
    outgoing: Outgoing | None, html: str, images: SignatureImages | None = None
) -> str:
    """Stored (sanitized) HTML with the draft's `cid:` images pointing at our URLs, for
    the editor; a `cid:` that is not one of the draft's images shows nothing. `images`:
    signature images given a `cid:` by a form not saved (shown by their own URL)."""
    if not html:
        return ""
    urls = {a.content_id: inline_url(a) for a in _inline_images(outgoing)}
    if images is not None:
        urls.update(images.urls())

    def replace(m: re.Match[str]) -> str:
        url = urls.get(unquote(m.group(1)))
        return f'src="{url}"' if url else m.group(0)

    return _CID_SRC_RE.sub(replace, html)


def signature_blocks(user) -> dict[str, dict[str, str]]:
    """Each of the user's signatures as compose inserts it (rich and plain), for
    static/js/editor.js to swap when the signature select changes."""
    return {
        str(s.pk): {"html": signature_html(s), "text": signature_text(s)}
        for s in Signature.objects.filter(account__user=user, account__enabled=True)
    }


# Signatures ---------------------------------------------------------------------------


def add_signature_image(account, upload) -> SignatureImage:
    """An image checked by accounts.forms_signatures (`ImageUpload`) as one of the
    account's signature images: its bytes a content-addressed blob, stored once; the
    same bytes again are the same image."""
    name, digest = ingest.store_blob("attachments", upload.data)
    image, _created = SignatureImage.objects.get_or_create(
        account=account,
        sha256=digest,
        defaults={
            "filename": upload.filename[:255],
            "content_type": upload.content_type,
            "size": len(upload.data),
            "file": name,
        },
    )
    return image


class SignatureImages:
    """The owner's signature images in a draft's HTML, as the draft's own inline images.

    A signature shows its images by our URL (accounts.SignatureImage.url); a message
    carries each as an inline part that its HTML refers to as `cid:`. `src` turns the
    URL of one of the owner's signature images (nobody else's) into the `cid:` of the
    draft's inline image with the same bytes, or of a new one that `attach` adds once
    the draft is saved: one per image per draft, the same blob (no copy).
    """

    def __init__(self, owner, outgoing: Outgoing | None = None):
        self.owner = owner
        self._attached = {a.file.name: a.content_id for a in _inline_images(outgoing)}
        self._new: dict[str, tuple[str, SignatureImage]] = {}  # by blob name

    def src(self, url: str) -> str | None:
        image = SignatureImage.at_url(url, account__user=self.owner)
        if image is None:
            return None
        blob = image.file.name
        if blob in self._attached:
            return f"cid:{self._attached[blob]}"
        if blob not in self._new:
            self._new[blob] = (new_content_id(image.account), image)
        return f"cid:{self._new[blob][0]}"

    def urls(self) -> dict[str, str]:
        """Content-ID → our URL of each image not attached yet (for the editor)."""
        return {content_id: image.url() for content_id, image in self._new.values()}

    def attach(self, outgoing: Outgoing) -> None:
        """The images `src` gave new Content-IDs, as the saved draft's inline images."""
        if not self._new:
            return
        have = set(outgoing.attachments.values_list("content_id", flat=True))
        OutgoingAttachment.objects.bulk_create(
            [
                OutgoingAttachment(
                    outgoing=outgoing,
                    filename=image.filename,
                    content_type=image.content_type,
                    size=image.size,
                    sha256=image.sha256,
                    file=image.file.name,
                    content_id=content_id,
                    inline=True,
                )
                for content_id, image in self._new.values()
                if content_id not in have
            ]
        )
        self._attached.update({blob: cid for blob, (cid, _image) in self._new.items()})
        self._new = {}


def default_signature(account, *, reply: bool) -> Signature | None:
    if account is None:
        return None
    flag = "default_for_replies" if reply else "default_for_new"
    return account.signatures.filter(**{flag: True}).first()


def signature_text(signature: Signature | None) -> str:
    """The plain-text signature block: the "-- " delimiter line, then the signature."""
    if signature is None or not signature.text.strip():
        return ""
    return f"-- \n{signature.text}"


def signature_html(signature: Signature | None) -> str:
    """The rich signature block, marked so that compose can find and swap it."""
    if signature is None or not (signature.html.strip() or signature.text.strip()):
        return ""
    inner = signature.html or richtext.text_to_html(signature.text)
    return f'<div class="{richtext.SIGNATURE_CLASS}">-- <br>{inner}</div>'


def new_body(signature: Signature | None, *, rich: bool, quote: str = "") -> str:
    """A new message's body: room to write, the signature, then what it quotes.

    `quote` is HTML when `rich`, text otherwise.
    """
    if rich:
        return "<div><br></div>" + signature_html(signature) + quote
    block = signature_text(signature)
    text = "\n\n" + block if block else ""
    if quote:
        text += "\n\n" + quote
    return text


_SIGNATURE_OPEN = f'<div class="{richtext.SIGNATURE_CLASS}">'
_DIV_TAG_RE = re.compile(r"<(/?)div\b[^>]*>")


def _signature_span(html: str) -> tuple[int, int] | None:
    """Where the marked signature block is in `html` (start, end), if it is there."""
    start = html.find(_SIGNATURE_OPEN)
    if start < 0:
        return None
    depth = 0
    for m in _DIV_TAG_RE.finditer(html, start):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return start, m.end()
    return start, len(html)


def swap_signature(
    body: str,
    html: str,
    old: Signature | None,
    new: Signature | None,
    images: SignatureImages | None = None,
) -> tuple[str, str]:
    """(body, html) with the signature `old` replaced by `new` (the no-JavaScript path of
    compose's signature select). HTML: the marked block (its images the draft's own,
    through `images`; without, they are left out); text: the block after "-- "."""
    if html:
        replacement = signature_html(new)
        if replacement:
            replacement = richtext.sanitize_compose_html(
                replacement, images.src if images is not None else None
            )
        span = _signature_span(html)
        if span is None:
            html = replacement + html if replacement else html
        else:
            html = html[: span[0]] + replacement + html[span[1] :]
        return richtext.html_to_text(html), html
    old_block, new_block = signature_text(old), signature_text(new)
    if old_block and old_block in body:
        return body.replace(old_block, new_block, 1), ""
    if new_block and not old_block:
        return ("\n\n" + new_block + body) if body.startswith("\n") else body, ""
    return body, ""


def shown_signature(account, body: str, html: str) -> Signature | None:
    """Which of the account's signatures the draft holds (for the select's initial value)."""
    if account is None:
        return None
    span = _signature_span(html) if html else None
    # By its words: the editor rewrites the block's markup ("-- <br>" becomes a <div>),
    # and its images are URLs in the signature but cid: in the draft.
    shown = richtext.html_to_text(html[span[0] : span[1]]).strip() if span else ""
    for signature in account.signatures.all():
        if shown and shown == richtext.html_to_text(signature_html(signature)).strip():
            return signature
        if not html and signature_text(signature) and signature_text(signature) in body:
            return signature
    return None


# Forgotten attachments ------------------------------------------------------------------


def forgot_attachment(outgoing: Outgoing) -> bool:
    """The text speaks of an attachment and nothing is attached (inline images aside)."""
    if outgoing.attachments.filter(inline=False).exists():
        return False
    return richtext.mentions_attachment(outgoing.body)


def writes_rich(user) -> bool:
    """New messages, replies and forwards start in rich text (the user's preference)."""
    return getattr(user, "compose_format", "html") == "html"


def reply_signature(account, alias) -> Signature | None:
    """A reply's or forward's signature: the alias's own, else the account's default."""
    if alias is not None and alias.signature_id:
        return alias.signature
    return default_signature(account, reply=True)


def body_fields(
    signature: Signature | None, quote: str, *, rich: bool, images: SignatureImages | None = None
) -> dict:
    """A new draft's `body` and `html_body`: room to write, the signature, the quote.

    The signature's images: the draft's own `cid:` through `images` (then `attach` them
    to the draft once created), else by their URL (for the editor of a page with no
    draft yet, whose first save makes them the draft's).
    """

    def image_src(url: str) -> str | None:
        if url.lower().startswith("cid:"):
            return url
        if images is not None:
            return images.src(url)
        image = signature and SignatureImage.at_url(url, account=signature.account)
        return image.url() if image else None

    if rich:
        html = richtext.sanitize_compose_html(
            new_body(signature, rich=True, quote=quote), image_src
        )
        return {"body": richtext.html_to_text(html), "html_body": html}
    return {"body": new_body(signature, rich=False, quote=quote), "html_body": ""}


def carry_inline_images(outgoing: Outgoing, images) -> None:
    """The original's inline images as the draft's own (content-addressed: no copy)."""
    OutgoingAttachment.objects.bulk_create(
        [
            OutgoingAttachment(
                outgoing=outgoing,
                filename=(image.filename or image.safe_name)[:255],
                content_type=image.content_type,
                size=image.size,
                sha256=image.sha256,
                file=image.file.name,
                content_id=image.content_id[:255],
                inline=True,
            )
            for image in images
        ]
    )
