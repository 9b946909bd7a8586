"""What every mail page shows around its main content: the folder list with unread
counts, the list pane for a folder, and the toast that offers Undo.

Views call these; templates get the same context whether the whole page is rendered
or only a fragment of it is swapped in by htmx.
"""

from __future__ import annotations

from django.db.models import Count
from django.http import QueryDict
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from . import listing
from .forms import BulkActionForm
from .models import SYSTEM_FOLDERS, Folder, Message, Outgoing, OutgoingStatus, SkippedMessage
from .search import filter_by_search

LIST_FIELDS = (
    "pk",
    "subject",
    "from_name",
    "from_address",
    "date",
    "snippet",
    "has_attachments",
    "seen",
    "flagged",
    "parse_error",
    "folder",
)
FOLDER_ICONS = {
    Folder.INBOX: "inbox",
    Folder.ARCHIVE: "archive",
    Folder.SENT: "send",
    Folder.DRAFTS: "file-pen",
    Folder.TRASH: "trash-2",
    Folder.JUNK: "folder",
    Folder.SNOOZED: "folder",
}
OUTBOX_STATES = [
    OutgoingStatus.QUEUED,
    OutgoingStatus.SENDING,
    OutgoingStatus.RETRYING,
    OutgoingStatus.FAILED,
]
# The list's own parameters, carried through actions so the list comes back as it was.
LIST_PARAMS = ("q", "before", "after", "oldest")
UNDO_SESSION_KEY = "undo"


def folder_or_none(name: str | None) -> str | None:
    return name if name in SYSTEM_FOLDERS else None


def folder_list(user) -> list[dict]:
    unread = dict(
        Message.objects.filter(owner=user, seen=False)
        .values("folder")
        .annotate(n=Count("*"))
        .values_list("folder", "n")
    )
    return [
        {
            "name": value,
            "label": value.label,
            "icon": FOLDER_ICONS[value],
            "unread": unread.get(value, 0),
        }
        for value in SYSTEM_FOLDERS
    ]


def list_query(params: QueryDict) -> str:
    kept = QueryDict(mutable=True)
    for name in LIST_PARAMS:
        if params.get(name):
            kept[name] = params[name]
    return kept.urlencode()


def list_context(user, folder: str, params: QueryDict) -> dict:
    """The list pane of `folder` as `params` (q, before, after, oldest) asks for it."""
    query = params.get("q", "").strip()
    messages = Message.objects.filter(owner=user, folder=folder).only(*LIST_FIELDS)
    if query:
        messages = filter_by_search(messages, query)
    page = listing.paginate(
        messages,
        before=params.get("before"),
        after=params.get("after"),
        oldest=params.get("oldest") == "1",
    )
    return {
        "folder": folder,
        "folder_label": Folder(folder).label,
        "query": query,
        "list_query": list_query(params),
        "page": page,
        "latest_id": page.messages[0].pk if page.messages and page.is_first else "",
        "accounts": list(user.mail_accounts.all()),
        "skipped": SkippedMessage.objects.filter(account__user=user).select_related("account")
        if folder == Folder.INBOX
        else [],
        "bulk_actions": BulkActionForm.actions_for(folder),
        "drafts": Outgoing.objects.filter(
            owner=user, status=OutgoingStatus.DRAFT, is_read_receipt=False
        )
        if folder == Folder.DRAFTS
        else [],
        "outbox": Outgoing.objects.filter(owner=user, status__in=OUTBOX_STATES)
        if folder == Folder.SENT
        else [],
    }


def offer_undo(request, text: str, undo: dict | None) -> None:
    """Keep the toast for the next render, full page (after a redirect) or fragment."""
    request.session[UNDO_SESSION_KEY] = {"text": text, **(undo or {})}


def nav_context(request) -> dict:
    """Context processor: folder counts and the pending toast, computed only if shown."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    folders = SimpleLazyObject(lambda: folder_list(request.user))
    return {
        "nav_folders": folders,
        "inbox_unread": SimpleLazyObject(
            lambda: next(f["unread"] for f in folders if f["name"] == Folder.INBOX)
        ),
        "undo": SimpleLazyObject(lambda: request.session.pop(UNDO_SESSION_KEY, None)),
        # Translated once per response, not once per row: a list draws 50 rows.
        "row_labels": SimpleLazyObject(row_labels),
    }


def row_labels() -> dict[str, str]:
    return {
        "archive": _("Archive"),
        "trash": _("Move to Trash"),
        "restore": _("Restore"),
        "mark_read": _("Mark as read"),
        "mark_unread": _("Mark as unread"),
        "flag": _("Flag"),
        "unflag": _("Unflag"),
        "flagged": _("Flagged"),
        "attachments": _("Has attachments"),
        "unreadable": _("This message could not be fully read"),
        "unread": _("unread"),
    }
