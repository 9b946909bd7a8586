"""Rich-text compose on the server: what the editor's HTML becomes, signatures, inline
images and the forgotten-attachment check.

The browser's HTML is never trusted: `clean_html` runs it through the compose allow-list
(mailcore.richtext) and derives the text part from what survived. Inline images live as
the draft's own attachments (`inline`, with a generated `content_id`); the editor shows
them from our origin (`compose_inline_image`), the stored HTML refers to them as
`cid:` URLs, and an image that is neither of the two is dropped.
"""

from __future__ import annotations

import mimetypes
import re
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from django.urls import Resolver404, resolve, reverse

from accounts.models import Signature
from mailcore import richtext

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


def clean_html(outgoing: Outgoing | None, html: str) -> tuple[str, str]:
    """(sanitized HTML, its text part) for what the editor posted.

    Images: this draft's own inline attachments, shown by URL in the editor, become
    `cid:` references; a `cid:` of one of them stays; anything else is dropped.
    """
    images = _inline_images(outgoing)
    by_pk = {a.pk: a for a in images}
    content_ids = {a.content_id for a in images}

    def image_src(url: str) -> str | None:
        if url.lower().startswith("cid:"):
            return url if unquote(url[4:]) in content_ids else None
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return None
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


def editor_content(outgoing: Outgoing | None, html: str) -> str:
    """Stored (sanitized) HTML with the draft's `cid:` images pointing at our URLs, for
    the editor; a `cid:` that is not one of the draft's images shows nothing."""
    if not html:
        return ""
    urls = {a.content_id: inline_url(a) for a in _inline_images(outgoing)}

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


def swap_signature(
    body: str, html: str, old: Signature | None, new: Signature | None
) -> tuple[str, str]:
    """(body, html) with the signature `old` replaced by `new` (the no-JavaScript path of
    compose's signature select). HTML: the marked block; text: the block after "-- "."""
    if html:
        start = html.find(_SIGNATURE_OPEN)
        replacement = signature_html(new)
        if start < 0:
            html = replacement + html if replacement else html
        else:
            depth, end = 0, len(html)
            for m in _DIV_TAG_RE.finditer(html, start):
                depth += -1 if m.group(1) else 1
                if depth == 0:
                    end = m.end()
                    break
            html = html[:start] + replacement + html[end:]
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
    for signature in account.signatures.all():
        if html and signature_html(signature) and signature_html(signature) in html:
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


def body_fields(signature: Signature | None, quote: str, *, rich: bool) -> dict:
    """A new draft's `body` and `html_body`: room to write, the signature, the quote."""
    if rich:
        html = richtext.sanitize_compose_html(
            new_body(signature, rich=True, quote=quote),
            image_src=lambda url: url if url.lower().startswith("cid:") else None,
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
