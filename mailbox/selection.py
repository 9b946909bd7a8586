"""Select all: every message a list shows, on every page, as one selection on the server.

When every row of a page is ticked, the list offers "Select all 12,345 messages in
Inbox" (as Gmail does). Choosing it posts `select_all=1` and `upto` instead of ids:
the server rebuilds the list's set from what the bulk form already carries (the
folder, or `scope=search`, and `list`: the query and the account filter), looked up
by its owner (another user's folder is a 404), and bounded by `upto`, the highest
message id the list had when it was drawn, so mail that arrives afterwards is left
alone. The actions then run over the set as a subquery (one UPDATE whatever its size)
or, for those that read what they act on (delete forever, junk), in chunks of ids.

Undo keeps ids in the session: only for a selection of at most UNDO_LIMIT messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import BadRequest
from django.db.models import Count, Q, QuerySet
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

from . import folders
from .models import Folder, Message, UserFolder
from .search import filter_by_search, search_mail

UNDO_LIMIT = 1000
CHUNK = 500  # ids per round for the actions that read the messages they act on
FIELD = "select_all"  # the bulk form's checkbox
UPTO = "upto"  # the highest message id the list showed


def folder_messages(user, key: str) -> tuple[QuerySet, UserFolder | None]:
    """The messages of folder `key` ("inbox", "user:12") and the own folder, if one.
    Someone else's folder, or none: 404."""
    parsed = folders.parse_key(key)
    if parsed is None:
        raise Http404("No such folder")
    if parsed[1] is None:
        return Message.objects.filter(owner=user, folder=key), None
    user_folder = folders.get(user, parsed[1])
    if user_folder is None:
        raise Http404("No such folder")
    return Message.objects.filter(owner=user, folder=Folder.USER, user_folder=user_folder), (
        user_folder
    )


def listed(user, key: str, params: QueryDict, *, search: bool = False) -> QuerySet:
    """Every message the list shows (all its pages, each conversation's every message
    in it): the folder `key` or, with `search`, the search page; narrowed as `params`
    (the list's q and account) says, as pages.list_context and search_context do."""
    query = params.get("q", "").strip()
    if search:
        messages = search_mail(user, query).messages
    else:
        messages, _own = folder_messages(user, key)
        if query:
            messages = filter_by_search(messages, query, owner=user)
    account = params.get("account", "")
    if account:
        # Another user's account matches nothing (the list ignores it; so no action).
        messages = messages.filter(account_id=int(account) if account.isdigit() else 0)
    return messages


@dataclass(frozen=True)
class Offer:
    """What the banner above a list of several pages offers: all rows (messages, or
    conversations in conversation view) of the list, up to message id `upto`; `count`
    once it has been counted (the banner asks for it when it is shown: counting a
    folder of 100,000 messages on every page load would cost more than the page)."""

    upto: int
    conversations: bool
    place: str  # "in Inbox", "that match this search", …
    on_page: int = 0
    count: int | None = None
    count_url: str = ""

    @property
    def page_text(self) -> str:
        values = {"count": number_format(self.on_page, force_grouping=True)}
        if self.conversations:
            return (
                ngettext(
                    "All %(count)s conversation on this page is selected.",
                    "All %(count)s conversations on this page are selected.",
                    self.on_page,
                )
                % values
            )
        return (
            ngettext(
                "All %(count)s message on this page is selected.",
                "All %(count)s messages on this page are selected.",
                self.on_page,
            )
            % values
        )

    @property
    def choose_text(self) -> str:
        if self.count is None:
            values = {"place": self.place}
            if self.conversations:
                return gettext("Select all conversations %(place)s") % values
            return gettext("Select all messages %(place)s") % values
        values = {"count": number_format(self.count, force_grouping=True), "place": self.place}
        if self.conversations:
            return (
                ngettext(
                    "Select all %(count)s conversation %(place)s",
                    "Select all %(count)s conversations %(place)s",
                    self.count,
                )
                % values
            )
        return (
            ngettext(
                "Select all %(count)s message %(place)s",
                "Select all %(count)s messages %(place)s",
                self.count,
            )
            % values
        )

    @property
    def chosen_text(self) -> str:
        if self.count is None:
            values = {"place": self.place}
            if self.conversations:
                return gettext("All conversations %(place)s are selected.") % values
            return gettext("All messages %(place)s are selected.") % values
        values = {"count": number_format(self.count, force_grouping=True), "place": self.place}
        if self.conversations:
            return (
                ngettext(
                    "All %(count)s conversation %(place)s is selected.",
                    "All %(count)s conversations %(place)s are selected.",
                    self.count,
                )
                % values
            )
        return (
            ngettext(
                "All %(count)s message %(place)s is selected.",
                "All %(count)s messages %(place)s are selected.",
                self.count,
            )
            % values
        )


def place(folder_label: str, *, searched: bool, account=None) -> str:
    """Where the selection is, for the banner: "in Inbox", "that match this search",
    with the account when the list shows one account's mail."""
    values = {"folder": folder_label, "account": getattr(account, "email", "")}
    if searched:
        if account is not None:
            return gettext("that match this search in %(account)s") % values
        return gettext("that match this search")
    if account is not None:
        return gettext("in %(folder)s of %(account)s") % values
    return gettext("in %(folder)s") % values


def offer(page, *, conversations: bool, place: str, count_params: dict) -> Offer | None:
    """The banner's offer for a list whose page is `page`, or None when the page is the
    whole list (ticking every row already selects everything). Not counted here (see
    Offer); `upto` is the newest message id there was when the page's rows were read
    (listing.Page.newest_id), so that what arrives after this page was drawn is left out."""
    if page.is_first and page.is_last:
        return None
    upto = page.newest_id
    if not upto:
        return None
    query = urlencode({**count_params, UPTO: upto, "conversations": int(conversations)})
    return Offer(
        upto,
        conversations,
        place,
        len(page.messages),
        count_url=f"{reverse('select_all_count')}?{query}",
    )


def counted(user, data: QueryDict) -> Offer:
    """The offer of the list `data` names (folder or search, its `list` params, `upto`),
    with its rows counted: messages, or conversations (one row per conversation, and
    unthreaded mail a row of its own, as threading.latest_per_thread lists them)."""
    upto = data.get(UPTO, "")
    if not upto.isdigit():
        raise BadRequest("no upto")
    search = data.get("scope") == "search"
    params = QueryDict(data.get("list", ""))
    key = "" if search else data.get("folder", "")
    messages = listed(user, key, params, search=search)
    account = (
        user.mail_accounts.filter(pk=params.get("account", "")).first()
        if (params.get("account", "").isdigit())
        else None
    )
    if search:
        where = place("", searched=True, account=account)
    else:
        _messages, user_folder = folder_messages(user, key)
        label = user_folder.name if user_folder else Folder(key).label
        where = place(label, searched=bool(params.get("q", "").strip()), account=account)
    conversations = data.get("conversations") == "1"
    if conversations:
        rows = Count("thread_id", distinct=True) + Count("pk", filter=Q(thread_id__isnull=True))
    else:
        rows = Count("pk")
    count = messages.filter(pk__lte=int(upto)).order_by().aggregate(rows=rows)["rows"]
    return Offer(int(upto), conversations, where, count=count)


@dataclass
class Everything:
    """A chosen "select all": the list's messages up to `upto`; `ids` when there are
    at most UNDO_LIMIT of them (then the actions act on exactly those, and Undo is
    offered), else None."""

    messages: QuerySet
    ids: list[int] | None

    @property
    def too_many_to_undo(self) -> bool:
        return self.ids is None

    def run(self, function: Callable, owner, target=None, *, chunked: bool = False) -> int:
        """`function(owner, ids_or_queryset, target)` over the whole selection: once with
        the ids or the set as a subquery, or (`chunked`) once per CHUNK ids."""
        if self.ids is not None:
            return function(owner, self.ids, target)
        if not chunked:
            return function(owner, self.messages, target)
        done, last = 0, 0
        while True:
            ids = list(
                self.messages.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:CHUNK]
            )
            if not ids:
                return done
            done += function(owner, ids, target)
            last = ids[-1]


def requested(user, data: QueryDict, *, search: bool) -> Everything | None:
    """The bulk form's "select all", if ticked: the set of the list it came from.
    Another user's folder: 404; no valid `upto`: 400."""
    if data.get(FIELD) not in ("1", "on"):
        return None
    upto = data.get(UPTO, "")
    if not upto.isdigit():
        raise BadRequest("select_all without upto")
    key = "" if search else data.get("folder", "")
    params = QueryDict(data.get("list", ""))
    messages = listed(user, key, params, search=search).filter(pk__lte=int(upto))
    first = list(messages.order_by("pk").values_list("pk", flat=True)[: UNDO_LIMIT + 1])
    return Everything(messages, first if len(first) <= UNDO_LIMIT else None)


def undo_note() -> str:
    return gettext("Undo is not offered for more than %(limit)s messages.") % {
        "limit": number_format(UNDO_LIMIT, force_grouping=True)
    }
