"""Conversations, stored: thread ids at ingest and send, the backfill, and what pages ask.

Every message gets its ``Message.thread_id`` in the transaction that stores it
(:func:`assign_many`, called by ``ingest.store_batch``, which polled mail, the Sent
copies of the outbox and imports all go through). Placement is
``mailcore.threads.place_message``: a message joins the thread of any Message-ID it
carries or refers to (``ThreadKey`` rows, one per id per owner), threads its ids link
are merged, and a prefix-only reply without ids falls back on the subject
(``Message.thread_subject``, a digest of ``subject_key``). A thread's id is the
primary key of the message that started it; a merge keeps the smaller id, so the
oldest-stored thread wins.

Cost at ingest, for a poll's batch of messages as for one (:func:`assign_many`): one
``ThreadKey`` lookup for all of their ids, one update of the messages, one bulk insert
of the ids not known yet; a subject lookup only for a reply without references; two
updates only when threads merge.

Pages pay nothing per row: the conversation list (:func:`latest_per_thread`) keeps a
message only if no newer message of its thread is in the same list (a ``NOT EXISTS``
on the ``(owner, thread_id, folder, -date, -id)`` index), and the counts of a page's
rows are one aggregate query (:func:`conversation_sizes`).

Mail stored before threading existed is threaded by :func:`thread_owner` (the
migration ``0010`` and ``manage.py thread_mail``), which replays placement in date
order with ``mailcore.threads.assign_threads``.

Known limit: two polls of one user's accounts storing replies to one new id at the same
moment may both start a thread; the unique ``(owner, message_id)`` key keeps the
first, and the second message stays in its own thread until a later message links them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from mailcore import threads

from .models import Folder, Message, ThreadKey

# Conversations leave out what the user threw away, unless that is where they look.
HIDDEN_FOLDERS = frozenset({Folder.TRASH, Folder.JUNK})
# A reading pane shows at most this many messages of a conversation (the newest).
MAX_SHOWN = 50
BATCH = 1000


def message_keys(
    message_id: str, in_reply_to: str, references: str
) -> tuple[str | None, list[str]]:
    """(own id, ancestors oldest first) from the stored fields (bare ids)."""
    own = threads.ancestor_ids([message_id]) if message_id else []
    own_id = own[0] if own else None
    ancestors = threads.ancestor_ids(
        references.split(), [in_reply_to] if in_reply_to else None, own_id
    )
    return own_id, ancestors


def subject_digest(key: str) -> str:
    """What ``Message.thread_subject`` holds for a subject key ("" for none)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else ""


def assign(message: Message) -> int:
    """Put a just-saved message into its conversation; returns (and sets) its thread id.

    Runs in the caller's transaction (``ingest.store_message``).
    """
    assign_many([message])
    return message.thread_id


def assign_many(messages: list[Message], *, saved: bool = True) -> None:
    """:func:`assign` for messages of one owner saved together, in their order: each is
    placed as if the ones before it had been assigned one by one, in a fixed number of
    queries (one ``ThreadKey`` lookup, one update of the messages, one insert of the new
    keys), plus a subject lookup for each reply without references and two updates per
    merge. Runs in the caller's transaction (``ingest.store_batch``).

    ``saved=False``: the messages have their ids but are not inserted yet; their thread
    fields are only set on them, for their INSERT (no update)."""
    if not messages:
        return
    owner = messages[0].owner_id
    if any(m.owner_id != owner for m in messages):
        raise ValueError("assign_many takes the messages of one owner")
    planned = []
    for m in messages:
        own_id, ancestors = message_keys(m.message_id, m.in_reply_to, m.references)
        planned.append((m, own_id, ancestors, threads.subject_key(m.subject)))
    wanted = {i for _, own_id, ancestors, _ in planned for i in (own_id, *ancestors) if i}
    # Message-ID → thread: the owner's recorded keys, then those this batch records.
    known: dict[str, int] = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), BATCH):
        known.update(
            ThreadKey.objects.filter(
                owner_id=owner, message_id__in=wanted_list[start : start + BATCH]
            ).values_list("message_id", "thread_id")
        )
    new_keys: dict[str, int] = {}
    placed: list[Message] = []  # of this batch, thread set, not yet written

    for m, own_id, ancestors, key in planned:
        digest = subject_digest(key.key)

        def lookup_ids(ids):
            return {i: known[i] for i in ids if i in known}

        def lookup_subject(_key: str, m=m, digest=digest) -> int | None:
            # The latest earlier message with this subject, by (date, id): stored ones
            # (already threaded) and this batch's placed ones.
            since = m.date - threads.SUBJECT_WINDOW
            stored = (
                Message.objects.filter(
                    owner_id=owner, thread_subject=digest, date__gte=since, thread_id__isnull=False
                )
                .exclude(pk__in=[p.pk for p in messages])
                .order_by("-date", "-id")
                .values_list("date", "id", "thread_id")
                .first()
            )
            batch = [
                (p.date, p.pk, p.thread_id)
                for p in placed
                if p.thread_subject == digest and p.date >= since
            ]
            candidates = [*([stored] if stored else []), *batch]
            return max(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None

        placement = threads.place_message(own_id, ancestors, key, lookup_ids, lookup_subject)
        thread = m.pk if placement.thread is None else placement.thread
        if placement.merge:
            merged = list(placement.merge)
            Message.objects.filter(owner_id=owner, thread_id__in=merged).update(thread_id=thread)
            ThreadKey.objects.filter(owner_id=owner, thread_id__in=merged).update(thread_id=thread)
            for table in (known, new_keys):
                for ident, t in table.items():
                    if t in placement.merge:
                        table[ident] = thread
            for p in placed:
                if p.thread_id in placement.merge:
                    p.thread_id = thread
        for ident in placement.ids:
            if ident not in known:
                known[ident] = new_keys[ident] = thread
        m.thread_id, m.thread_subject = thread, digest
        placed.append(m)

    if saved and len(messages) == 1:
        Message.objects.filter(pk=messages[0].pk).update(
            thread_id=messages[0].thread_id, thread_subject=messages[0].thread_subject
        )
    elif saved:
        Message.objects.bulk_update(messages, ["thread_id", "thread_subject"], batch_size=BATCH)
    if new_keys:
        ThreadKey.objects.bulk_create(
            [ThreadKey(owner_id=owner, message_id=i, thread_id=t) for i, t in new_keys.items()],
            batch_size=BATCH,
            ignore_conflicts=True,
        )


# Backfill --------------------------------------------------------------------


def thread_owner(owner_id: int, message_model=Message, key_model=ThreadKey) -> int:
    """(Re)thread all of one user's mail as ingest would have; returns the message count.

    Takes the model classes so the data migration can pass its historical ones. Reads
    in chunks and writes in batches; the user's keys are rebuilt from scratch.
    """
    # In the order of the messages' own dates (the historical model of migration 0010
    # has no header_date yet).
    fields = {f.name for f in message_model._meta.get_fields()}
    own_date = Coalesce("header_date", "date") if "header_date" in fields else F("date")
    rows = (
        message_model.objects.filter(owner_id=owner_id)
        .order_by()
        .values_list("pk", "message_id", "in_reply_to", "references", "subject", own_date)
        .iterator(chunk_size=BATCH * 2)
    )
    items, digests = [], {}
    for pk, message_id, in_reply_to, references, subject, date in rows:
        own_id, ancestors = message_keys(message_id, in_reply_to, references)
        items.append(threads.ThreadMessage(pk, own_id, tuple(ancestors), subject, date))
        digests[pk] = subject_digest(threads.subject_key(subject).key)
    numbers = threads.assign_threads(items)
    first: dict[int, int] = {}  # thread number → smallest pk in it: the thread id
    for pk, number in numbers.items():
        first[number] = min(pk, first.get(number, pk))
    keys: dict[str, int] = {}
    for item in items:
        thread = first[numbers[item.key]]
        for ident in (item.message_id, *item.ancestors):
            if ident:
                keys.setdefault(ident, thread)
    with transaction.atomic():
        key_model.objects.filter(owner_id=owner_id).delete()
        message_model.objects.bulk_update(
            [
                message_model(pk=pk, thread_id=first[number], thread_subject=digests[pk])
                for pk, number in numbers.items()
            ],
            ["thread_id", "thread_subject"],
            batch_size=BATCH,
        )
        key_model.objects.bulk_create(
            [key_model(owner_id=owner_id, message_id=i, thread_id=t) for i, t in keys.items()],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
    return len(items)


def unthreaded_owner_ids(message_model=Message) -> list[int]:
    return list(
        message_model.objects.filter(thread_id__isnull=True)
        .order_by()
        .values_list("owner_id", flat=True)
        .distinct()
    )


# What pages ask ------------------------------------------------------------------


def latest_per_thread(messages: QuerySet) -> QuerySet:
    """`messages` (a folder's list, searched or not) with one row per conversation: the
    newest of its messages in that list. Unthreaded messages stay rows of their own."""
    newer = (
        messages.order_by()
        .filter(thread_id=OuterRef("thread_id"), date__gte=OuterRef("date"))
        .filter(Q(date__gt=OuterRef("date")) | Q(id__gt=OuterRef("id")))
    )
    return messages.exclude(Exists(newer))


def _shown(folder: str | None) -> frozenset[str]:
    """The folders left out of a conversation seen from `folder`."""
    return HIDDEN_FOLDERS - {folder}


def conversation_sizes(owner, messages: Iterable[Message], folder: str | None) -> None:
    """Set ``thread_size`` on each of a page's rows: one query for the whole page.

    The count leaves out what the conversation opened from `folder` leaves out (Trash
    and Junk, unless `folder` is one of them); `folder` None (a search's rows, from
    several folders): each row's own folder, as the reading pane opens it."""
    rows = list(messages)
    ids = {m.thread_id for m in rows if m.thread_id is not None}
    if folder is None:
        _sizes_by_own_folder(owner, rows, ids)
        return
    sizes = (
        dict(
            Message.objects.filter(owner=owner, thread_id__in=ids)
            .exclude(folder__in=_shown(folder))
            .order_by()
            .values("thread_id")
            .annotate(n=Count("*"))
            .values_list("thread_id", "n")
        )
        if ids
        else {}
    )
    for m in rows:
        m.thread_size = sizes.get(m.thread_id, 1)


def _sizes_by_own_folder(owner, rows: list[Message], ids: set[int]) -> None:
    per_folder: dict[int, dict[str, int]] = {}
    if ids:
        counts = (
            Message.objects.filter(owner=owner, thread_id__in=ids)
            .order_by()
            .values("thread_id", "folder")
            .annotate(n=Count("*"))
            .values_list("thread_id", "folder", "n")
        )
        for thread, where, n in counts:
            per_folder.setdefault(thread, {})[where] = n
    for m in rows:
        counts = per_folder.get(m.thread_id, {})
        hidden = _shown(m.folder)
        m.thread_size = sum(n for where, n in counts.items() if where not in hidden) or 1


# What a collapsed message of a conversation shows (its summary line), and nothing more:
# its body, headers and attachments come when it is expanded.
SUMMARY_FIELDS = (
    "owner_id",
    "thread_id",
    "folder",
    "user_folder__name",
    "from_name",
    "from_address",
    "seen",
    "snippet",
    "date",
    "header_date",
)


def conversation(message: Message, limit: int | None = None) -> tuple[list[Message], bool]:
    """The messages of `message`'s conversation, oldest first, from every account and
    folder but Trash and Junk (unless `message` is there): the newest `limit` of them,
    and `message` itself if it is older. Second: whether older ones were left out.

    `message` is returned as it is, the newest is loaded whole (with its account, own
    folder and delivery record), the others with their SUMMARY_FIELDS only.

    Oldest first by their own dates: a message woken from snooze (its `date` moved to
    the top of the Inbox) keeps its place in the conversation."""
    if message.thread_id is None:
        return [message], False
    limit = limit or MAX_SHOWN
    # Which ones first, from the thread index alone, then those rows. One query with
    # ORDER BY date LIMIT lets SQLite (without ANALYZE statistics) walk the owner's
    # whole mailbox by date instead: 150 ms instead of 1 at 100,000 messages.
    keys = sorted(
        Message.objects.filter(owner_id=message.owner_id, thread_id=message.thread_id)
        .exclude(folder__in=_shown(message.folder))
        .order_by()
        .values_list("date", "id", "header_date"),
        reverse=True,
    )
    more = len(keys) > limit
    keys = keys[:limit]
    newest = max(((header or date), pk) for date, pk, header in keys)[1]
    # Two queries whatever the conversation's shape (so a page's query count is
    # constant): the others' summaries, and the newest whole unless it is `message`.
    others = (
        Message.objects.filter(owner_id=message.owner_id, thread_id=message.thread_id)
        .exclude(folder__in=_shown(message.folder))
        .exclude(pk__in=[message.pk, newest])
        .order_by()  # sorted below: an ORDER BY would send SQLite down the date index
    )
    if more:  # the newest `limit` only
        oldest_date, oldest_pk, _ = keys[-1]
        others = others.filter(Q(date__gt=oldest_date) | Q(date=oldest_date, pk__gte=oldest_pk))
    members = [message]
    members += others.select_related("user_folder").only(*SUMMARY_FIELDS)
    members += (
        Message.objects.filter(owner_id=message.owner_id, pk=newest)
        .exclude(pk=message.pk)
        .select_related("account", "outgoing", "user_folder")
    )
    return sorted(members, key=lambda m: (m.own_date, m.pk)), more
