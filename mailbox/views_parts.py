"""A forwarded message (a ``message/rfc822`` attachment) opened as a message.

Parsed from its stored part's bytes (the exact slice of the raw message), at any
depth: ``?in=2.1`` opens the second attachment of the attached message, then that
one's first. It opens in the reading pane as a message (an htmx swap, pushed to the
history like a list row's link; without JavaScript, or on a history restore, the
whole page with it in the pane): its headers and text, its HTML body in the same
sandboxed frame as any message's, and its own attachments as downloads.
Every view looks the outer message up scoped to the user (404 otherwise).
"""

from __future__ import annotations

import base64
import re

from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from mailcore import mime, sanitize

from . import folders, pages, storage_io
from .views import (
    DOWNLOAD_CSP,
    INLINE_IMAGE_TYPES,
    MAX_INLINE_IMAGE_BYTES,
    _is_fragment,
    _message_or_404,
    _shows_remote,
)

MESSAGE_TYPES = ("message/rfc822", "message/global")
_PATH = re.compile(r"[1-9][0-9]{0,3}(?:\.[1-9][0-9]{0,3}){0,15}")


def _trail(request) -> list[int]:
    value = request.GET.get("in", "")
    if not value:
        return []
    if not _PATH.fullmatch(value):
        raise Http404("No such part")
    return [int(n) for n in value.split(".")]


def _opened(request, pk: int, attachment_pk: int):
    """(outer message, attachment row, trail, parsed attached message)."""
    message = _message_or_404(request, pk)
    part = get_object_or_404(message.attachments, pk=attachment_pk, content_type__in=MESSAGE_TYPES)
    with storage_io.open_stream(part.file.name) as f:
        data = f.read()
    trail = _trail(request)
    parsed = mime.parse_message(data, message.received_at)
    for index in trail:
        if index > len(parsed.attachments):
            raise Http404("No such part")
        inner = parsed.attachments[index - 1]
        if inner.content_type not in MESSAGE_TYPES:
            raise Http404("No such part")
        parsed = mime.parse_message(inner.payload, message.received_at)
    return message, part, trail, parsed


@require_GET
def attached_message(request, pk: int, attachment_pk: int):
    """The attached message in the reading pane (the pane's fragment for htmx, else the
    mail page with it in the pane)."""
    message, part, trail, parsed = _opened(request, pk, attachment_pk)
    context = {
        "message": message,
        "attached": _attached_context(request, message, part, trail, parsed),
    }
    if _is_fragment(request):
        return render(request, "mailbox/_attached_message_fragment.html", context)
    context.update(pages.list_context(request.user, folders.key_of(message), QueryDict()))
    context["message"] = message
    return render(request, "mailbox/mail.html", context)


def _attached_context(request, message, part, trail: list[int], parsed) -> dict:
    here = ".".join(map(str, trail))
    files = [
        {
            "index": index,
            "name": a.safe_name,
            "size": a.size,
            "is_message": a.content_type in MESSAGE_TYPES,
            "in": f"{here}.{index}" if here else str(index),
        }
        for index, a in enumerate(parsed.attachments, 1)
        if not a.inline
    ]
    return {
        "part": part,
        "parsed": parsed,
        "here": here,
        "parent": ".".join(map(str, trail[:-1])),
        "depth": len(trail),
        "depth_index": trail[-1] if trail else 0,
        "files": files,
        "show_remote": _shows_remote(request, message),
        # render_plain_text escapes everything it does not generate itself.
        "text_html": mark_safe(sanitize.render_plain_text(parsed.text_body))  # noqa: S308
        if parsed.text_body and not parsed.html_body
        else "",
    }


@require_GET
@xframe_options_sameorigin
def attached_message_body(request, pk: int, attachment_pk: int):
    """The attached message's HTML body as its own document, for the sandboxed iframe."""
    message, _part, _trail_, parsed = _opened(request, pk, attachment_pk)
    allow_remote = _shows_remote(request, message)
    images, budget = {}, MAX_INLINE_IMAGE_BYTES
    for a in parsed.attachments:
        if a.content_id and a.content_type in INLINE_IMAGE_TYPES and a.size <= budget:
            budget -= a.size
            data = base64.b64encode(a.payload).decode("ascii")
            images[a.content_id] = f"data:{a.content_type};base64,{data}"
    clean = sanitize.sanitize_email_html(
        parsed.html_body, allow_remote=allow_remote, cid_url=images.get
    )
    response = render(
        request,
        "mailbox/body.html",
        {
            "body": mark_safe(clean.html),  # noqa: S308 - the sanitizer's output only
            "follows_theme": not clean.sets_colours,
            "theme": request.user.theme,
        },
    )
    remote = " https: http:" if allow_remote else ""
    response["Content-Security-Policy"] = (
        f"default-src 'none'; img-src data:{remote}; style-src 'unsafe-inline'; "
        "font-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def attached_message_file(request, pk: int, attachment_pk: int, index: int):
    """One attachment of the attached message, as a download."""
    _message, _part, _trail_, parsed = _opened(request, pk, attachment_pk)
    if not 1 <= index <= len(parsed.attachments):
        raise Http404("No such attachment")
    file = parsed.attachments[index - 1]
    response = HttpResponse(file.payload, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, file.safe_name)
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response
