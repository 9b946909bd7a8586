"""Conversations: thread keys from headers, JWZ threading, and incremental thread placement.

Three layers, all pure:

1. **Keys.** :func:`parse_message_ids` / :func:`normalize_message_id` turn Message-ID,
   In-Reply-To and References values into bare ids (no angle brackets or whitespace,
   RFC 2047 wrapping and comments removed, junk dropped); :func:`ancestor_ids` gives a
   message's ancestors oldest first, its parent last (References, then In-Reply-To
   when References do not end with it, as JWZ does); :func:`subject_key` normalizes a
   subject for the fallback (reply and forward prefixes in English, Korean, German,
   Nordic and Chinese clients' forms, counters such as ``RE[2]:``, and list tags such as
   ``[dev]`` removed; case and width folded) and says whether it had such a prefix.

2. **Incremental placement** (what ingest and send store). A thread is the set of
   messages connected by ids: a message joins the thread of any id it carries (its own
   or an ancestor's, even one only *mentioned* so far), and if its ids belong to several
   threads those threads merge. So a reply that arrives before its parent starts a
   thread recorded under the parent's id too, and the parent joins it when it comes; a
   message that links two threads (B replying to A, after C replying to B arrived
   first without A in its References) merges them. :func:`place_message` is that
   decision, with the caller's lookups passed in; the caller then records every id of
   :attr:`Placement.ids` for the thread and moves the messages and ids of
   :attr:`Placement.merge` into it. The subject is a fallback only for a message with
   no ids to go by (no References, no In-Reply-To) whose subject has a reply or forward
   prefix: it joins the thread of the latest message with the same subject key, if
   that message is at most :data:`SUBJECT_WINDOW` older (two "Invoice" mails a month
   apart are not a conversation; "Re: Invoice" a day later is). Limitation: if such a
   subject-only reply arrives before its original, they stay apart (the original has
   no prefix, so it does not look); ids never have this problem.
   :func:`assign_threads` replays placement in date order over a list, for backfilling
   existing mail and for tests.

3. **JWZ threading** (:func:`jwz_thread`, after Jamie Zawinski's algorithm as used by
   Netscape, Mutt and Thunderbird) builds the reply tree of a set of messages, for
   showing one conversation in order and indented. Differences, on purpose: a message
   without References keeps the parent other messages' References gave it; messages
   sharing a Message-ID (the sent copy and the copy a list sent back) share one node;
   the subject step only attaches prefix-only replies without ids to an original
   (non-reply) root with the same key within :data:`SUBJECT_WINDOW`, as placement does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from .mime.headers import decode_header

__all__ = [
    "MAX_REFERENCES",
    "SUBJECT_WINDOW",
    "Placement",
    "SubjectKey",
    "ThreadMessage",
    "ThreadNode",
    "ancestor_ids",
    "assign_threads",
    "jwz_thread",
    "normalize_message_id",
    "parse_message_ids",
    "place_message",
    "subject_key",
    "walk",
]

SUBJECT_WINDOW = timedelta(days=30)
# Mailing lists grow References without end; the root (first) and the nearest
# ancestors (last) carry the threading, the middle adds queries and nothing else.
MAX_REFERENCES = 100
MAX_ID_CHARS = 512

T = TypeVar("T")

# A bracketed id, or a comment (whose text, even "<...>" in it, is no id): group 1 is
# the id, empty for a comment.
_BRACKETED = re.compile(r"<([^<>]*)>|\((?:[^()\\]|\\.)*\)")
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_BARE_ID = re.compile(r"[^\s<>()\",;@]+@[^\s<>()\",;@]+")
_CONTROLS = re.compile(r"[\x00-\x20\x7f]")
_PREFIX = re.compile(
    r"\s*(?:re|aw|sv|antw|fwd?|wg|vs|답장|회신|답변|전달|回复|回覆|答复|转发|轉寄)"
    r"\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]",
    re.IGNORECASE,
)
_TAG = re.compile(r"\s*\[[^\[\]\r\n]{1,60}\]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- keys


def parse_message_ids(value: str | bytes | None) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References value, in order, once each.

    Takes ``<id>`` tokens; whitespace inside one (folding) is removed. Without any
    brackets (broken mailers), ``local@domain`` tokens are taken instead. Comments and
    text around ids ("Bob's message of ...") are ignored; ids longer than 512
    characters or empty are junk. RFC 2047 words are decoded first, since some
    mailers encode the whole header.
    """
    if not value:
        return []
    text = decode_header(value) if isinstance(value, bytes) or "=?" in value else value
    found = [i for i in _BRACKETED.findall(text) if i] or _BARE_ID.findall(_COMMENT.sub(" ", text))
    ids = (_CONTROLS.sub("", candidate) for candidate in found)
    return list(dict.fromkeys(i for i in ids if 0 < len(i) <= MAX_ID_CHARS))


def normalize_message_id(value: str | bytes | None) -> str | None:
    """The (first) id of a Message-ID value, bare: ``<a@b>`` → ``a@b``; None if none."""
    ids = parse_message_ids(value)
    return ids[0] if ids else None


def ancestor_ids(
    references: str | bytes | Sequence[str] | None,
    in_reply_to: str | bytes | Sequence[str] | None = None,
    own_id: str | None = None,
) -> list[str]:
    """A message's ancestors, oldest first and its parent last (JWZ).

    References give the chain; In-Reply-To's first id is appended when References do
    not already hold it (many clients send only In-Reply-To). The message's own id and
    repeats are dropped (a loop), and long chains keep their first and last ids
    (:data:`MAX_REFERENCES` in all). Values may be raw header text or parsed lists.
    """
    chain = _ids(references)
    parents = _ids(in_reply_to)
    if parents and parents[0] not in chain:
        chain.append(parents[0])
    seen: set[str] = {own_id} if own_id else set()
    result = []
    for ident in chain:
        if ident not in seen:
            seen.add(ident)
            result.append(ident)
    if len(result) > MAX_REFERENCES:
        result = result[:1] + result[-(MAX_REFERENCES - 1) :]
    return result


def _ids(value: str | bytes | Sequence[str] | None) -> list[str]:
    if value is None or isinstance(value, str | bytes):
        return parse_message_ids(value)
    return [i for item in value for i in parse_message_ids(item if "<" in item else f"<{item}>")]


@dataclass(frozen=True)
class SubjectKey:
    """A subject for threading: ``key`` compares equal across prefixes, tags and case."""

    key: str
    is_reply: bool  # it had a reply or forward prefix
    base: str  # the subject without prefixes and tags, for display ("회의 자료")


def subject_key(subject: str | bytes | None) -> SubjectKey:
    """Strip leading reply/forward prefixes (``Re:``, ``RE[2]:``, ``Fwd:``, ``답장:``,
    ``회신:``, ``전달:``, ``AW:``, ``回复:`` ...) and list tags (``[dev]``), repeatedly,
    then fold width and case for the key. An empty key never matches anything."""
    text = decode_header(subject) if isinstance(subject, bytes) or subject else ""
    is_reply = False
    while True:
        if match := _PREFIX.match(text):
            is_reply = True
        elif not (match := _TAG.match(text)):
            break
        text = text[match.end() :]
    base = " ".join(text.split())
    key = " ".join(unicodedata.normalize("NFKC", base).casefold().split())
    return SubjectKey(key, is_reply, base)


# --------------------------------------------------------------------------- placement


@dataclass(frozen=True)
class Placement(Generic[T]):
    """Where a new message goes.

    ``thread`` is the existing thread it joins (None: start a new one); every thread in
    ``merge`` must be merged into it (their messages and ids moved); every id in ``ids``
    must be recorded as belonging to it (those not known yet, and the merged ones).
    """

    thread: T | None
    merge: frozenset[T]
    ids: tuple[str, ...]
    by_subject: bool = False


def place_message(
    message_id: str | None,
    ancestors: Sequence[str],
    subject: str | SubjectKey,
    lookup_ids: Callable[[Sequence[str]], Mapping[str, T]],
    lookup_subject: Callable[[str], T | None] | None = None,
    choose: Callable[[Iterable[T]], T] = min,
) -> Placement[T]:
    """Decide which thread a new message joins; see the module docstring.

    ``lookup_ids(ids)`` returns the thread of each id already recorded (the others are
    left out); ``lookup_subject(key)`` the thread of the latest message with that
    subject key within :data:`SUBJECT_WINDOW`, or None: it is called only for a
    prefix-only reply without ids. When ids span several threads, ``choose`` picks the
    one to keep (by default the smallest: the oldest, with increasing ids).
    """
    ids = tuple(dict.fromkeys([*([message_id] if message_id else []), *ancestors]))
    known = lookup_ids(ids) if ids else {}
    threads = set(known.values())
    if threads:
        keep = choose(threads)
        return Placement(keep, frozenset(threads - {keep}), ids)
    if not ancestors and lookup_subject is not None:
        key = subject if isinstance(subject, SubjectKey) else subject_key(subject)
        if key.is_reply and key.key:
            found = lookup_subject(key.key)
            if found is not None:
                return Placement(found, frozenset(), ids, by_subject=True)
    return Placement(None, frozenset(), ids)


@dataclass(frozen=True)
class ThreadMessage:
    """A message as threading sees it; ``key`` is the caller's id for it (a primary key)."""

    key: Hashable
    message_id: str | None
    ancestors: tuple[str, ...] = ()  # from ancestor_ids()
    subject: str = ""
    date: datetime | None = None  # aware


def assign_threads(
    messages: Iterable[ThreadMessage], window: timedelta = SUBJECT_WINDOW
) -> dict[Hashable, int]:
    """Thread numbers (0, 1, ... in order of first message) by replaying placement.

    Messages are placed in date order, as they would have arrived; the result is what
    ingest would have stored, so it is the backfill for existing mail.
    """
    ordered = sorted(messages, key=_date)
    owner: dict[int, int] = {}  # union-find over thread numbers

    def find(thread: int) -> int:
        while owner[thread] != thread:
            owner[thread] = owner[owner[thread]]
            thread = owner[thread]
        return thread

    by_id: dict[str, int] = {}
    by_subject: dict[str, tuple[datetime, int]] = {}
    placed: dict[Hashable, int] = {}
    for message in ordered:
        key = subject_key(message.subject)
        when = _date(message)

        def recent(subject: str, when: datetime = when) -> int | None:
            last = by_subject.get(subject)
            return find(last[1]) if last and when - last[0] <= window else None

        placement = place_message(
            message.message_id,
            message.ancestors,
            key,
            lambda ids: {i: find(by_id[i]) for i in ids if i in by_id},
            recent,
        )
        thread = placement.thread
        if thread is None:
            thread = len(owner)
            owner[thread] = thread
        for other in placement.merge:
            owner[other] = thread
        for ident in placement.ids:
            by_id.setdefault(ident, thread)
        if key.key:
            by_subject[key.key] = (when, thread)
        placed[message.key] = thread
    numbers: dict[int, int] = {}
    return {key: numbers.setdefault(find(t), len(numbers)) for key, t in placed.items()}


def _date(message: ThreadMessage) -> datetime:
    return message.date or _EPOCH


# --------------------------------------------------------------------------- JWZ tree


@dataclass(eq=False)
class ThreadNode:
    """A node of a reply tree: a message id with its messages (none for a missing one)."""

    message_id: str | None
    messages: list[ThreadMessage] = field(default_factory=list)
    children: list[ThreadNode] = field(default_factory=list)
    parent: ThreadNode | None = field(default=None, repr=False)

    @property
    def date(self) -> datetime:
        """The earliest date of this node's messages, or of its subtree when it has none."""
        if self.messages:
            return min(_date(m) for m in self.messages)
        return min((child.date for child in self.children), default=_EPOCH)

    def keys(self) -> list[Hashable]:
        """The caller's keys of every message in this subtree, in display order."""
        return [message.key for _depth, node in walk([self]) for message in node.messages]


def walk(nodes: Iterable[ThreadNode], depth: int = 0) -> Iterator[tuple[int, ThreadNode]]:
    """(depth, node) depth-first in display order: what an indented view shows."""
    for node in nodes:
        yield depth, node
        yield from walk(node.children, depth + 1)


def jwz_thread(
    messages: Iterable[ThreadMessage], window: timedelta = SUBJECT_WINDOW
) -> list[ThreadNode]:
    """The reply forest of ``messages``, roots and children sorted by date."""
    table: dict[str, ThreadNode] = {}
    anonymous: list[ThreadNode] = []

    def node_for(ident: str) -> ThreadNode:
        if ident not in table:
            table[ident] = ThreadNode(ident)
        return table[ident]

    for message in messages:
        if message.message_id:
            node = node_for(message.message_id)
        else:
            node = ThreadNode(None)
            anonymous.append(node)
        first = not node.messages
        node.messages.append(message)
        previous: ThreadNode | None = None
        for ident in message.ancestors:
            current = node_for(ident)
            if previous is not None and current.parent is None:
                _link(previous, current)
            previous = current
        if first and previous is not None and previous is not node:
            _link(previous, node, replace=True)
    roots = [n for n in [*table.values(), *anonymous] if n.parent is None]
    roots = [kept for root in roots for kept in _prune(root, top=True)]
    roots = _group_by_subject(roots, window)
    _sort(roots)
    return roots


def _link(parent: ThreadNode, child: ThreadNode, replace: bool = False) -> None:
    """Make ``child`` a child of ``parent`` unless that would make a loop."""
    if child.parent is parent:
        return
    ancestor: ThreadNode | None = parent
    while ancestor is not None:
        if ancestor is child:
            return
        ancestor = ancestor.parent
    if child.parent is not None:
        if not replace:
            return
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def _prune(node: ThreadNode, top: bool = False) -> list[ThreadNode]:
    """JWZ step 4: drop empty leaves; an empty node gives its children to its parent
    (at the top only when it has one child, else it stays to hold them together)."""
    children = [kept for child in node.children for kept in _prune(child)]
    node.children = children
    for child in children:
        child.parent = node
    if node.messages:
        return [node]
    if not children:
        return []
    if top and len(children) > 1:
        return [node]
    for child in children:
        child.parent = node.parent
    return children


def _group_by_subject(roots: list[ThreadNode], window: timedelta) -> list[ThreadNode]:
    originals: dict[str, list[ThreadNode]] = {}
    for root in roots:
        if root.messages and not root.messages[0].ancestors:
            key = subject_key(root.messages[0].subject)
            if key.key and not key.is_reply:
                originals.setdefault(key.key, []).append(root)
    result = []
    for root in roots:
        target = None
        if root.messages and not any(m.ancestors for m in root.messages):
            key = subject_key(root.messages[0].subject)
            if key.is_reply and key.key:
                earlier = [
                    o
                    for o in originals.get(key.key, ())
                    if o is not root and timedelta(0) <= root.date - o.date <= window
                ]
                target = max(earlier, key=lambda o: o.date, default=None)
        if target is None:
            result.append(root)
        else:
            root.parent = target
            target.children.append(root)
    return result


def _sort(nodes: list[ThreadNode]) -> None:
    nodes.sort(key=lambda node: node.date)
    for node in nodes:
        node.messages.sort(key=_date)
        _sort(node.children)
