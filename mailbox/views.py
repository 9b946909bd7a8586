"""Inbox, read page, downloads and bulk actions.

Each view looks its objects up scoped to request.user (404 otherwise), checks
its input, and calls one domain function.
"""

import base64
import codecs
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages as flash
from django.db.models import Count, Max, Q
from django.http import (
    FileResponse,
    Http404,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from mailcore import sanitize
from mailcore.mime import safe_filename
from mailcore.zipstream import ZipMember, stream_zip

from . import (
    actions,
    export,
    folders,
    listing,
    names,
    pages,
    search_pages,
    selection,
    signals,
    storage_io,
    thread_view,
)
from .forms import BulkActionForm
from .models import Folder, Message, TrustedSender
from .tasks import poll_account

# Types a browser may show inline from an attachment link; never HTML or SVG.
PREVIEW_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
THUMBNAIL_TYPES = INLINE_IMAGE_TYPES
MAX_INLINE_IMAGE_BYTES = 5 * 1024 * 1024
# Downloads are documents of their own: nothing in them runs, loads or may be framed;
# previews may be framed by our own pages only.
_FILE_CSP = "sandbox; default-src 'none'"
DOWNLOAD_CSP = f"{_FILE_CSP}; frame-ancestors 'none'"
# Actions after which the message is no longer in the folder the user is looking at.
MOVING_ACTIONS = {"archive", "inbox", "trash", "restore", "delete_forever", "move", "move_to"}
# Snooze and junk (mailbox.views_snooze_junk) take messages out of the list too.
MOVING_ACTIONS |= {"snooze", "unsnooze", "junk", "not_junk"}


def _folder_or_404(name: str) -> str:
    if name not in Folder.values:
        raise Http404("No such folder")
    return name


def _message_or_404(request, pk: int) -> Message:
    return get_object_or_404(
        Message.objects.select_related("account", "user_folder"), pk=pk, owner=request.user
    )


def _is_fragment(request) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def folder_view(request, folder: str = Folder.INBOX):
    folder = _folder_or_404(folder)
    if search_pages.leaves_folder(request.GET):  # in:… searches elsewhere
        return redirect(search_pages.search_url(request.GET["q"]))
    context = pages.list_context(request.user, folder, request.GET)
    if _is_fragment(request) and request.htmx.target == "list-pane":
        return render(request, "mailbox/_list_fragment.html", context)
    return render(request, "mailbox/mail.html", context)


def _list_fragment(request, folder: str, list_query: str, action: str, acted_ids: list[int]):
    """After `action` (empty if it failed): the list pane, the folder counts, the toast,
    and the reading pane if the message open in it was acted on."""
    context = _list_context(request.user, folder, QueryDict(list_query))
    current = _current_message_id(request)
    if current is not None and current in acted_ids:
        if action in MOVING_ACTIONS:
            context["reading_pane"] = "empty"
        else:
            context.update(_message_context(request, _message_or_404(request, current)))
            context["thread"] = thread_view.thread_items(request.user, context["message"], context)
            names.annotate_page(request.user, context)
            context["reading_pane"] = "message"
    response = render(request, "mailbox/_list_fragment.html", context)
    if context.get("reading_pane") == "empty":
        # The open message left this folder: the address bar follows the list.
        response["HX-Push-Url"] = _list_url(folder, context["list_query"])
    return response


def _list_url(folder: str, list_query: str) -> str:
    if folder == search_pages.SCOPE:
        url = reverse("search")
        return f"{url}?{list_query}" if list_query else url
    return pages.list_url(folder, list_query)


def _list_context(user, folder: str, params: QueryDict) -> dict:
    """The list pane of a folder key, or of a search across folders (SCOPE)."""
    if folder == search_pages.SCOPE:
        return search_pages.search_context(user, params)
    return pages.list_context(user, folder, params)


def _shown_list(request, key: str) -> str:
    """The list the page shows: the search the bulk form came from, or `key`."""
    return search_pages.SCOPE if request.POST.get("scope") == search_pages.SCOPE else key


def _current_message_id(request) -> int | None:
    """The message open in the reading pane, from the page's address (htmx sends it)."""
    path = urlsplit(request.htmx.current_url or "").path if request.htmx else ""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.kwargs.get("pk") if match.url_name == "read_message" else None


def _apply(request, data, everything=None) -> tuple[str, list[int]]:
    """Run the action `data` asks for (on `everything`, a "select all", if given):
    (action, message ids), or ("", []) if invalid."""
    form = BulkActionForm(data, user=request.user, everything=everything)
    if not form.is_valid():
        flash.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return "", []
    count = form.apply(request.user)
    text = form.done_message(count)
    if everything is not None and everything.too_many_to_undo and form.has_inverse():
        text = f"{text} {selection.undo_note()}"
    pages.offer_undo(request, text, form.undo())
    return form.cleaned_data["action"], form.acted_ids()


def _everything(request) -> tuple[selection.Everything | None, list[int]]:
    """The bulk form's "select all", if chosen, and the open message if it is in the
    set (a large set's ids are not all known; it is asked before the action)."""
    searched = request.POST.get("scope") == search_pages.SCOPE
    everything = selection.requested(request.user, request.POST, search=searched)
    if everything is None or everything.ids is not None:
        return everything, []
    current = _current_message_id(request)
    if current is not None and everything.messages.filter(pk=current).exists():
        return everything, [current]
    return everything, []


@require_GET
def select_all_count(request):
    """The banner's offer counted ("Select all 12,345 messages in Inbox"), asked for by
    the list's script when the banner shows (mailbox.selection.Offer)."""
    offer = selection.counted(request.user, request.GET)
    return JsonResponse({"choose": offer.choose_text, "chosen": offer.chosen_text})


@require_POST
def bulk_action(request):
    data = request.POST
    everything, open_in_set = _everything(request)
    if data.get("scope") == search_pages.SCOPE:  # results from several folders
        if everything is not None:  # their folder for Undo: the selection's, not the page's
            data = data.copy()
            data.setlist("ids", [str(i) for i in everything.ids or []])
        data = search_pages.with_origin(request.user, data)
    action, acted = _apply(request, data, everything)
    if action and not acted:
        acted = open_in_set
    if data.get("scope") == search_pages.SCOPE:
        search_pages.drop_mixed_undo(request, data)
    folder = pages.list_key_or_none(request.POST.get("folder")) or Folder.INBOX
    folder = _shown_list(request, folder)
    list_query = request.POST.get("list", "")
    if _is_fragment(request):
        return _list_fragment(request, folder, list_query, action, acted)
    return redirect(_list_url(folder, list_query))


@require_POST
def empty_folder(request, folder: str):
    """Empty Trash or Junk (the URLconf says which)."""
    count = actions.empty_folder(request.user, folder)
    flash.success(
        request,
        ngettext("Deleted %(count)s message forever.", "Deleted %(count)s messages forever.", count)
        % {"count": count},
    )
    return redirect("folder", folder=folder)


def _shows_remote(request, message: Message) -> bool:
    if request.GET.get("images") == "1":
        return True
    if message.folder == Folder.JUNK:
        # Junk often forges a trusted sender: its images load only when asked, each time.
        return False
    return (
        bool(message.from_address)
        and TrustedSender.objects.filter(
            owner=request.user, address__iexact=message.from_address
        ).exists()
    )


def _message_context(request, message: Message) -> dict:
    context_list = (
        Message.objects.filter(
            owner=request.user, folder=message.folder, user_folder=message.user_folder_id
        )
        if message.folder == Folder.USER
        else Message.objects.filter(owner=request.user, folder=message.folder)
    )
    # Newer/Older (and j/k past the page) step through the list as it is shown.
    if request.user.conversation_view:
        newer, older = listing.conversation_neighbours(context_list, message)
    else:
        newer, older = listing.neighbours(context_list, message)
    context = thread_view.card_context(
        message,
        attachments=message.attachments.filter(inline=False),
        show_remote=_shows_remote(request, message),
    )
    context.update(
        {
            "preview_types": PREVIEW_TYPES,
            "thumbnail_types": THUMBNAIL_TYPES,
            "newer": newer,
            "older": older,
            "folder_label": message.user_folder.name
            if message.folder == Folder.USER and message.user_folder
            else Folder(message.folder).label,
            "message_list_url": pages.list_url(folders.key_of(message)),
            "message_key": folders.key_of(message),
            "move_choices": SimpleLazyObject(lambda: folders.move_choices(request.user)),
        }
    )
    return context


def read_message(request, pk: int):
    message = _message_or_404(request, pk)
    if not message.seen:
        # The one GET that changes state, as every mail client does on open.
        Message.objects.filter(pk=message.pk).update(seen=True)
        message.seen = True
    context = _message_context(request, message)
    context["thread"] = thread_view.thread_items(request.user, message, context)
    names.annotate_page(request.user, context)  # one query: saved names, contact links
    if _is_fragment(request):
        return render(request, "mailbox/_message_fragment.html", context)
    context.update(pages.list_context(request.user, folders.key_of(message), QueryDict()))
    context["message"] = message
    return render(request, "mailbox/mail.html", context)


@require_GET
def thread_card(request, pk: int):
    """A collapsed message of a conversation, expanded: its card, for htmx to put in
    place (any other request is sent to the message itself)."""
    message = _message_or_404(request, pk)
    if not _is_fragment(request):
        return redirect("read_message", pk=message.pk)
    item = thread_view.collapsed_card(request.user, message)
    names.annotate_people(request.user, [message])
    context = {
        "item": item,
        "labels": thread_view.thread_labels(),
        "preview_types": PREVIEW_TYPES,
        "thumbnail_types": THUMBNAIL_TYPES,
    }
    return render(request, "mailbox/_thread_card.html", context)


def _inline_images(message: Message) -> dict[str, str]:
    """cid → data: URL for the message's inline images of safe types."""
    images, budget = {}, MAX_INLINE_IMAGE_BYTES
    for part in message.attachments.exclude(content_id="").filter(
        content_type__in=INLINE_IMAGE_TYPES
    ):
        if part.size > budget:
            continue
        budget -= part.size
        with storage_io.open_stream(part.file.name) as f:
            data = base64.b64encode(f.read()).decode("ascii")
        images[part.content_id] = f"data:{part.content_type};base64,{data}"
    return images


@xframe_options_sameorigin
def message_body(request, pk: int):
    """The HTML body as its own document, for the read page's sandboxed iframe."""
    message = _message_or_404(request, pk)
    allow_remote = _shows_remote(request, message)
    images = _inline_images(message) if "cid:" in message.html_body else {}
    clean = sanitize.sanitize_email_html(
        message.html_body, allow_remote=allow_remote, cid_url=images.get
    )
    # The sanitizer's output is the one HTML we render unescaped, and only here.
    response = render(
        request,
        "mailbox/body.html",
        {
            "body": mark_safe(clean.html),  # noqa: S308
            # Mail that sets no colours of its own follows the theme; mail with its own
            # colours keeps them on a light sheet.
            "follows_theme": not clean.sets_colours,
            "theme": request.user.theme,
        },
    )
    remote = " https: http:" if allow_remote else ""
    # Even if the sanitizer missed something: no script, no plugin, no form, no
    # navigation of our page, nothing fetched but our inline images (and remote
    # images when the user asked for them).
    response["Content-Security-Policy"] = (
        f"default-src 'none'; img-src data:{remote}; style-src 'unsafe-inline'; "
        "font-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
def trust_sender(request, pk: int):
    message = _message_or_404(request, pk)
    if message.from_address:
        TrustedSender.objects.get_or_create(
            owner=request.user, address=message.from_address.lower()
        )
        signals.send_on_commit(signals.images_trusted, Message, message=message)
        flash.success(
            request,
            _("Images from %(sender)s will always be shown.") % {"sender": message.from_address},
        )
    return redirect("read_message", pk=message.pk)


@require_POST
def message_action(request, pk: int):
    """One message's buttons (reading pane, list row): the bulk actions on one message."""
    message = _message_or_404(request, pk)
    data = request.POST.copy()
    data.setlist("ids", [str(message.pk)])
    data.pop(selection.FIELD, None)  # a row's own button: that message, never "select all"
    data["folder"] = key = folders.key_of(message)
    action, acted = _apply(request, data)
    list_query = request.POST.get("list", "")
    key = _shown_list(request, key)
    if _is_fragment(request):
        # The list to show is the message's folder (or the search it was found by).
        return _list_fragment(request, key, list_query, action, acted)
    if action in MOVING_ACTIONS | {"mark_unread"}:
        return redirect(_list_url(key, list_query))
    return redirect("read_message", pk=message.pk)


# A preview (an image or a PDF, never HTML or SVG) keeps the download's sandbox and
# may be framed by our own pages only: the read page's preview dialog shows a PDF in
# an <iframe>. Measured in Chromium 156: its PDF viewer renders a response whose CSP
# is `sandbox; default-src 'none'`, top-level and framed, so the sandbox stays; what
# stops the viewer is a `sandbox` *attribute* on the <iframe> (an error page instead),
# so the dialog's frame carries none and this header is what keeps the document inert:
# no script, no form, nothing fetched, an opaque origin of its own.
PREVIEW_CSP = f"{_FILE_CSP}; frame-ancestors 'self'"


def _streamed(response: FileResponse, handle) -> FileResponse:
    """A stored file's response streams in large reads, with its length when an S3
    object's GET said it (FileResponse finds a local file's itself)."""
    response.block_size = storage_io.CHUNK
    size = storage_io.stream_size(handle)
    if size is not None:
        response["Content-Length"] = str(size)
    return response


def _attachment_response(part, *, inline: bool) -> FileResponse:
    handle = storage_io.open_stream(part.file.name)
    name = part.safe_name or "attachment"
    if inline:  # Content-Disposition: inline, only for PREVIEW_TYPES
        response = FileResponse(handle, content_type=part.content_type, filename=name)
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["X-Frame-Options"] = "SAMEORIGIN"  # for browsers without frame-ancestors
    else:
        response = FileResponse(
            handle, as_attachment=True, filename=name, content_type="application/octet-stream"
        )
        response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return _streamed(response, handle)


@require_GET
def download_attachment(request, pk: int, attachment_pk: int):
    message = _message_or_404(request, pk)
    part = get_object_or_404(message.attachments, pk=attachment_pk)
    inline = request.GET.get("preview") == "1" and part.content_type in PREVIEW_TYPES
    return _attachment_response(part, inline=inline)


@require_GET
def download_all(request, pk: int):
    message = _message_or_404(request, pk)
    parts = list(message.attachments.filter(inline=False))
    if not parts:
        raise Http404("No attachments")
    try:  # bounded like every download of many files (WEBMAIL_MAX_EXPORT_BYTES)
        export.check_bounds(len(parts), sum(p.size for p in parts), attachments=True)
    except export.TooLarge as exc:
        flash.error(request, exc.text())
        return redirect("read_message", pk=message.pk)
    used: set[str] = set()
    # Streamed as it is zipped: each file is read from storage (a local file or an S3
    # object) in chunks when its turn comes, so the first bytes leave at once and memory
    # holds a chunk, however large the attachments.
    members = [
        ZipMember(
            _unique_name(part.safe_name or "attachment", used), storage_io.chunks(part.file.name)
        )
        for part in parts
    ]
    # Named for the subject; without one, for what it holds, in the user's language.
    stem = safe_filename(message.subject or _("attachments"), default="attachments")
    response = StreamingHttpResponse(stream_zip(members), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}.zip")
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


def _unique_name(name: str, used: set[str]) -> str:
    """`name`, or `name (2).ext`, … : unique in the archive even where case does not
    count (Windows and macOS unpack `Report.pdf` and `report.pdf` to one file)."""
    candidate, n = name, 1
    stem, dot, ext = name.rpartition(".")
    while candidate.casefold() in used:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})"
    used.add(candidate.casefold())
    return candidate


@require_GET
def view_source(request, pk: int):
    message = _message_or_404(request, pk)
    response = StreamingHttpResponse(
        _as_utf8(storage_io.chunks(message.raw_file.name)), content_type="text/plain; charset=utf-8"
    )
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


def _as_utf8(chunks):
    """Bytes as UTF-8 text, invalid sequences replaced, chunk by chunk (a sequence split
    between two chunks is kept whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    for chunk in chunks:
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


@require_GET
def download_eml(request, pk: int):
    message = _message_or_404(request, pk)
    stem = safe_filename(message.subject or _("message"), default="message")
    handle = storage_io.open_stream(message.raw_file.name)
    response = FileResponse(
        handle, as_attachment=True, filename=f"{stem}.eml", content_type="message/rfc822"
    )
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    return _streamed(response, handle)


def _poll_status(user) -> list[dict]:
    return [
        {
            "account": a.email,
            "last_poll_at": a.last_poll_at and a.last_poll_at.isoformat(),
            "new": a.last_poll_new,
            "error": a.last_poll_error_text,
        }
        for a in user.mail_accounts.filter(enabled=True)
    ]


@require_POST
def check_mail(request):
    requested_at = timezone.now()
    for account_id in request.user.mail_accounts.filter(enabled=True).values_list("pk", flat=True):
        poll_account.delay_on_commit(account_id)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"requested_at": requested_at.isoformat()})
    return redirect("home")


# New mail without reloading: how many new messages the status answer names (for desktop
# notifications). How often pages ask is settings.WEBMAIL_NEW_MAIL_SECONDS.
NEW_MAIL_NAMED = 5


def _newest_id(user, folder: str) -> int | None:
    """The first row of the folder's first page: one step into message_listing_idx."""
    return (
        Message.objects.filter(owner=user, folder=folder)
        .order_by("-date", "-id")
        .values_list("pk", flat=True)
        .first()
    )


def _mail_status(user, folder: str, since: int | None) -> dict:
    """The Inbox's unread count, the newest message of `folder`, and the unread Inbox
    messages that arrived after `since` (a `cursor` of an earlier answer).

    Cheap enough to ask every few seconds: each query reads one index entry or only
    the unread Inbox rows (the partial message_unread_idx); the messages are named
    only when there are new ones.
    """
    inbox_newest = _newest_id(user, Folder.INBOX)
    newest = inbox_newest if folder == Folder.INBOX else _newest_id(user, folder)
    unread = Message.objects.filter(owner=user, folder=Folder.INBOX, seen=False).aggregate(
        count=Count("pk"),
        top=Max("pk"),
        fresh=Count("pk", filter=Q(pk__gt=since or 0)),
    )
    fresh = unread["fresh"] if since is not None else 0
    new = []
    if fresh:
        new = [
            {
                "id": m.pk,
                "sender": m.from_name or m.from_address or _("(unknown sender)"),
                "subject": m.subject,
                "date": m.date.isoformat(),
                "url": reverse("read_message", args=[m.pk]),
            }
            for m in Message.objects.filter(
                owner=user, folder=Folder.INBOX, seen=False, pk__gt=since, pk__lte=unread["top"]
            )
            .order_by("-pk")
            .only("pk", "subject", "from_name", "from_address", "date")[:NEW_MAIL_NAMED]
        ]
    return {
        "inbox_unread": unread["count"],
        "folder": folder,
        "latest": newest,
        # Whatever is at or below the cursor has been seen by this page (or was there
        # when it loaded): a message marked unread again is not announced as new.
        "cursor": max(since or 0, unread["top"] or 0, inbox_newest or 0),
        "new_count": fresh,
        "new": new,
    }


def _since(value: str | None) -> int | None:
    try:
        return max(int(value), 0) if value else None
    except ValueError:
        return None


@require_GET
def poll_status(request):
    """JSON for pages that keep themselves current: the accounts' last polls ("Check
    mail now"), and with ?folder=&since= what newmail.js needs (see _mail_status)."""
    folder = pages.folder_or_none(request.GET.get("folder")) or Folder.INBOX
    return JsonResponse(
        {
            "accounts": _poll_status(request.user),
            "poll_seconds": settings.WEBMAIL_NEW_MAIL_SECONDS,
            **_mail_status(request.user, folder, _since(request.GET.get("since"))),
        }
    )
