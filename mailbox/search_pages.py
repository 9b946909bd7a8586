"""The search results page: the list pane of a search across folders.

The same context keys as pages.list_context, so _list_pane.html draws it; in
addition ``search`` (the mailbox.search.Search: its place and problems) and a folder
label on each row (``m.place_label``) when results may come from several folders.
In conversation view the results are grouped as a folder's list is (one row per
conversation, its newest result, with the conversation's count). One query more than
a folder page at most (own folders, cached per request), however many rows or folders.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from mailcore.searchquery import parse_query

from . import folders, listing, names, selection, threading
from .forms import BulkActionForm
from .models import Folder, Message
from .pages import LIST_FIELDS, UNDO_SESSION_KEY, list_query
from .search import search_mail

SCOPE = "search"  # the bulk form's "scope" when the list shown is a search


def search_url(text: str) -> str:
    return f"{reverse('search')}?{urlencode({'q': text})}"


def _label_rows(messages: list) -> None:
    labels = {value: str(label) for value, label in Folder.choices}
    for m in messages:
        if m.folder == Folder.USER and m.user_folder_id:
            m.place_label = m.user_folder.name
        else:
            m.place_label = labels.get(m.folder, "")


def search_context(user, params: QueryDict) -> dict:
    """The list pane of the search `params` asks for (q, before, after, oldest): every
    folder but Trash and Junk, or where the query's ``in:`` says."""
    text = params.get("q", "").strip()
    found = search_mail(user, text)
    messages = found.messages
    accounts = list(user.mail_accounts.all())
    account = next((a for a in accounts if str(a.pk) == params.get("account")), None)
    if account is not None:
        messages = messages.filter(account=account)
    if user.conversation_view:
        # One row per conversation: its newest message among the results.
        messages = threading.latest_per_thread(messages)
    page = listing.paginate(
        messages.select_related("user_folder").only(
            *LIST_FIELDS, "user_folder", "user_folder__name"
        ),
        before=params.get("before"),
        after=params.get("after"),
        oldest=params.get("oldest") == "1",
    )
    if user.conversation_view:
        # Rows may come from several folders: each counts as it opens from its own.
        threading.conversation_sizes(user, page.messages, None)
    if found.place.is_many:
        _label_rows(page.messages)
    names.name_senders(user, page.messages)
    kept = QueryDict(mutable=True)
    kept["q"] = text
    if account is not None:
        kept["account"] = str(account.pk)
    return {
        "folder": "",
        "user_folder": None,
        "folder_label": found.place.label,
        "select_all": selection.offer(
            page,
            conversations=user.conversation_view,
            place=selection.place("", searched=True, account=account),
            count_params={"scope": SCOPE, "list": list_query(params)},
        ),
        "search": found,
        "search_scope": SCOPE,
        "list_url": reverse("search"),
        "filter_query": kept.urlencode(),
        "account_filter": account,
        "move_choices": SimpleLazyObject(lambda: folders.move_choices(user)),
        "query": text,
        "list_query": list_query(params),
        "page": page,
        "latest_id": "",
        "accounts": accounts,
        "skipped": [],
        "bulk_actions": BulkActionForm.actions_for(""),
        "drafts": [],
        "outbox": [],
    }


def leaves_folder(params: QueryDict) -> bool:
    """Whether a search made in a folder asks to look elsewhere (``in:``), so the
    folder page sends it on to the search page."""
    text = params.get("q", "")
    if "in:" not in text.lower():
        return False
    query = parse_query(text)
    return bool(query.folder) or any(error.operator == "in" for error in query.errors)


def with_origin(user, data: QueryDict) -> QueryDict:
    """A bulk action on search results: the selected messages' folder as the form's
    "folder" when they share one, so Undo moves them back there (a folder page's form
    says its own folder; a search's list may mix several)."""
    ids = [int(i) for i in data.getlist("ids") if i.isdigit()]
    keys = {
        folders.key_of(m)
        for m in Message.objects.filter(owner=user, pk__in=ids).only("folder", "user_folder")
    }
    if len(keys) != 1:
        return data
    data = data.copy()
    data["folder"] = keys.pop()
    return data


def drop_mixed_undo(request, data: QueryDict) -> None:
    """No "Undo" that would move messages from several folders all into one."""
    undo = request.session.get(UNDO_SESSION_KEY)
    if not data.get("folder") and undo and undo.get("action") == "move":
        request.session[UNDO_SESSION_KEY] = {"text": undo["text"]}
