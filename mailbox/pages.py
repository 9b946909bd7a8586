"""What every mail page shows around its main content: the folder list with unread
counts, the list pane for a folder, and the toast that offers Undo.

Views call these; templates get the same context whether the whole page is rendered
or only a fragment of it is swapped in by htmx.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from . import folders, listing, names, selection, threading, wording
from .forms import BulkActionForm
from .models import SYSTEM_FOLDERS, Folder, Message, Outgoing, OutgoingStatus, SkippedMessage
from .row_html import RowLabels
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
    "thread_id",
    "snoozed_until",  # shown instead of the date in Snoozed
)
FOLDER_ICONS = {
    Folder.INBOX: "inbox",
    Folder.ARCHIVE: "archive",
    Folder.SENT: "send",
    Folder.DRAFTS: "file-pen",
    Folder.TRASH: "trash-2",
    Folder.JUNK: "shield-alert",
    Folder.SNOOZED: "clock",
}
OUTBOX_STATES = [
    OutgoingStatus.QUEUED,
    OutgoingStatus.SENDING,
    OutgoingStatus.RETRYING,
    OutgoingStatus.FAILED,
    OutgoingStatus.UNKNOWN,
]
# The list's own parameters, carried through actions so the list comes back as it was.
LIST_PARAMS = ("q", "before", "after", "oldest", "account")
# The ones that choose what is listed (not which page of it): kept by the page links.
FILTER_PARAMS = ("q", "account")
UNDO_SESSION_KEY = "undo"


def folder_or_none(name: str | None) -> str | None:
    return name if name in SYSTEM_FOLDERS else None


def list_key_or_none(key: str | None) -> str | None:
    """A system folder's name or an own folder's "user:<id>" (whose ever it is: the list
    looks it up by its owner)."""
    return key if folders.parse_key(key) else None


def list_url(key: str, query: str = "") -> str:
    parsed = folders.parse_key(key)
    if parsed and parsed[1] is not None:
        url = reverse("user_folder", args=[parsed[1]])
    else:
        url = reverse("folder", args=[key])
    return f"{url}?{query}" if query else url


def _unread_counts(user) -> tuple[dict, dict]:
    """Unread messages per system folder and per own folder: one query over the unread
    rows only (the partial message_unread_idx)."""
    system: dict[str, int] = {}
    own: dict[int, int] = {}
    rows = (
        Message.objects.filter(owner=user, seen=False)
        .values("folder", "user_folder")
        .annotate(n=Count("*"))
        .values_list("folder", "user_folder", "n")
    )
    for folder, user_folder, n in rows:
        if folder == Folder.USER:
            own[user_folder] = own.get(user_folder, 0) + n
        system[folder] = system.get(folder, 0) + n
    return system, own


def own_folder_list(user, unread: dict[int, int]) -> list[dict]:
    """The own folders as a tree (each with its "children"), with unread counts."""

    def nodes(level) -> list[dict]:
        return [
            {
                "key": node.key,
                "pk": node.pk,
                "label": node.name,
                "depth": node.depth,
                "unread": unread.get(node.pk, 0),
                "children": nodes(node.children),
            }
            for node in level
        ]

    return nodes(folders.tree(user))


def folder_list(user) -> list[dict]:
    unread, own_unread = _unread_counts(user)
    user._own_unread = own_unread
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


def filter_query(params: QueryDict) -> str:
    kept = QueryDict(mutable=True)
    for name in FILTER_PARAMS:
        if params.get(name):
            kept[name] = params[name]
    return kept.urlencode()


def list_context(user, folder: str, params: QueryDict) -> dict:
    """The list pane of `folder` (a folder key: "inbox", "user:12") as `params` (q,
    before, after, oldest, account) asks for it. Someone else's folder: 404."""
    messages, user_folder = selection.folder_messages(user, folder)
    messages = messages.only(*LIST_FIELDS)
    accounts = list(user.mail_accounts.all())
    account = next((a for a in accounts if str(a.pk) == params.get("account")), None)
    if account is not None:
        messages = messages.filter(account=account)
    query = params.get("q", "").strip()
    if query:
        messages = filter_by_search(messages, query, owner=user)
    if user.conversation_view:
        messages = threading.latest_per_thread(messages)
    page = listing.paginate(
        messages,
        before=params.get("before"),
        after=params.get("after"),
        oldest=params.get("oldest") == "1",
    )
    if user.conversation_view:
        threading.conversation_sizes(user, page.messages, folder)
    names.name_senders(user, page.messages)  # one query: saved names for bare addresses
    folder_label = user_folder.name if user_folder else Folder(folder).label
    where = selection.place(folder_label, searched=bool(query), account=account)
    return {
        "folder": folder,
        "user_folder": user_folder,
        "folder_label": folder_label,
        # "Select all N messages in …" when the list has more than this page.
        "select_all": selection.offer(
            page,
            conversations=user.conversation_view,
            place=where,
            count_params={"folder": folder, "list": list_query(params)},
        ),
        "list_url": list_url(folder),
        "filter_query": filter_query(params),
        "account_filter": account,
        "move_choices": SimpleLazyObject(lambda: folders.move_choices(user)),
        "query": query,
        "list_query": list_query(params),
        "page": page,
        "latest_id": page.messages[0].pk if page.messages and page.is_first else "",
        "accounts": accounts,
        "skipped": SkippedMessage.objects.filter(account__user=user).select_related("account")
        if folder == Folder.INBOX
        else [],
        "bulk_actions": BulkActionForm.actions_for(folder),
        "drafts": Outgoing.objects.filter(
            owner=user, status=OutgoingStatus.DRAFT, is_read_receipt=False
        )
        if folder == Folder.DRAFTS
        else [],
        "outbox": Outgoing.objects.filter(
            # and sent messages whose Sent copy storage could not keep yet (mailbox.outbox)
            Q(status__in=OUTBOX_STATES)
            | Q(
                status=OutgoingStatus.SENT,
                sent_message__isnull=True,
                last_error__startswith=wording.SENT_COPY_MISSING,
            ),
            owner=user,
        )
        if folder == Folder.SENT
        else [],
    }


def offer_undo(request, text: str, undo: dict | None) -> None:
    """Keep the toast for the next render, full page (after a redirect) or fragment."""
    request.session[UNDO_SESSION_KEY] = {"text": text, **(undo or {})}


def _nav_own_folders(user, system) -> list[dict]:
    len(system)  # computes the unread counts of every folder, own ones included
    return own_folder_list(user, getattr(user, "_own_unread", {}))


def nav_context(request) -> dict:
    """Context processor: folder counts and the pending toast, computed only if shown."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    system = SimpleLazyObject(lambda: folder_list(request.user))
    return {
        "nav_folders": system,
        # After nav_folders (whose one query counts the own folders' unread mail too).
        "nav_own_folders": SimpleLazyObject(lambda: _nav_own_folders(request.user, system)),
        "inbox_unread": SimpleLazyObject(
            lambda: next(f["unread"] for f in system if f["name"] == Folder.INBOX)
        ),
        "undo": SimpleLazyObject(lambda: request.session.pop(UNDO_SESSION_KEY, None)),
        # Translated once per response, not once per row: a list draws 50 rows.
        "row_labels": RowLabels.translated(),
    }
