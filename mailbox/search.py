"""Message search: PostgreSQL full-text search, SQLite's FTS5, LIKE on other databases.

The database is the queryset's own (``connections[qs.db]``), so one process can
search a PostgreSQL and a SQLite database alike.

Korean, on both: a term matches word prefixes (PostgreSQL's search vector, SQLite's
FTS5 index: mailbox.search_fts) or any substring (LIKE, other databases), so 회의
finds 회의를, 회의에서 and 회의에서는. A term made only of
consonants typed alone (``ㄱㅈㅎ``) is an initial-consonant (초성) search: it matches
the initials of the sender's and recipients' names (``Message.name_initials``, so
ㄱㅈㅎ finds mail from or to 김지현), or the term itself in the text, as ㅋㅋ would.
Every term must match (AND).

Attached messages (forwarded as .eml, at any depth) are searched too: their sender's
name and address, subject and text (``Message.attached_text``, as body text: the
search vector's weight D, a column of its own in the FTS5 index). The field operators
``from: to: cc: subject:`` stay on the message's own headers: ``from:`` is who sent
the user this message, not whom it forwards.

The search box understands operators (mailcore.searchquery parses them):
``from: to: cc: subject: filename: has:attachment is:unread|read|flagged in:FOLDER
account: before: after: larger: smaller:``, quoted phrases and ``-word``.
As with free text, PostgreSQL and SQLite match the words of ``from: to: cc: subject:``
as word prefixes (through the search vector's weights or the FTS5 index's columns, then
exactly on the column), other databases as substrings; a domain (``from:daum.net``)
or 초성 is a substring match on all.
:func:`filter_by_query` applies what a query asks of the messages themselves;
:func:`search_mail` adds where to look (``in:``, or the folder the search was made
in) for one owner, and words what was not understood for the page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import connections, router
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from mailcore.hangul import INITIALS, initials, is_initials
from mailcore.mime import AttachedMessage
from mailcore.searchquery import QueryError, SearchQuery, parse_query

from . import folders, search_fts
from .models import SYSTEM_FOLDERS, Attachment, Folder, Message

MAX_BODY_CHARS = 100_000  # tsvector values are capped at 1 MB
MAX_TERMS = 8
_WORD = re.compile(r"\w+")


def _uses_full_text(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def _uses_like(alias: str) -> bool:
    """PostgreSQL's search vector or plain LIKE: all but SQLite (see search_fts)."""
    return connections[alias].vendor != "sqlite"


def search_terms(query: str) -> list[str]:
    """The words of a search box query (letters and digits, Korean included)."""
    return _WORD.findall(query.lower())[:MAX_TERMS]


def name_initials(names: Iterable[str]) -> str:
    """The initials of the Korean names among ``names``, a word per name, spaces in a
    name dropped: ["김지현", "Bob", "이 민수"] → "ㄱㅈㅎ ㅇㅁㅅ"."""
    words = ("".join(initials(name).split()) for name in names)
    return " ".join(word for word in words if any(is_initials(char) for char in word))


# One weighted vector per field, concatenated: subject A, sender B, recipients C, body
# and attached messages D. Raw SQL because compiling the equivalent SearchVector
# expression tree cost more per INSERT than PostgreSQL's work for the whole row.
_VECTOR_SQL = " || ".join(
    f"setweight(to_tsvector('simple'::regconfig, %s), '{weight}')" for weight in "ABCDD"
)


def attached_text(attached: Iterable[AttachedMessage]) -> str:
    """What search reads of the messages attached to a message: each one's sender
    (name and address), subject and text, at most MAX_BODY_CHARS in all."""
    blocks = []
    for message in attached:
        sender = message.from_
        head = f"{sender.name} {sender.address}".strip() if sender else ""
        blocks.append("\n".join(t for t in (head, message.subject, message.text.strip()) if t))
    return "\n\n".join(b for b in blocks if b)[:MAX_BODY_CHARS]


def search_vector(message: Message, body_text: str):
    """The search vector of subject, sender, recipients, body and attached messages;
    None off PostgreSQL.

    Assigned to the new row before its INSERT, so indexing costs no second
    statement. The 'simple' configuration does no stemming, which suits mixed
    Korean and English mail; searches match word prefixes, so 회의 finds 회의를.
    """
    if not _uses_full_text(router.db_for_write(Message, instance=message)):
        return None
    return RawSQL(  # noqa: S611 - constant SQL, every value a parameter
        _VECTOR_SQL,
        [
            message.subject,
            f"{message.from_name} {message.from_address}",
            f"{message.to} {message.cc}",
            body_text[:MAX_BODY_CHARS],
            message.attached_text[:MAX_BODY_CHARS],
        ],
        output_field=SearchVectorField(),
    )


_ADDRESS = re.compile(r"[\w.+-]+@[\w.-]+")


def _tsquery(words: list[str], weight: str = "") -> str:
    """A tsquery literal: every word must match as a prefix (in the fields of `weight`,
    "A" subject, "B" sender, "C" recipients, "D" body; all if empty).

    PostgreSQL's parser keeps an address such as minsoo.kim@daum.net as one
    token, so a typed (partial) address also matches as a prefix of that whole
    token. The literal is cast, not parsed by to_tsquery (which would split a
    partial address); every lexeme is quoted and holds only word characters
    and . + - @, so nothing in it is tsquery syntax.
    """
    clauses = []
    for word in words:
        pieces = " & ".join(f"'{piece}':*{weight}" for piece in _WORD.findall(word))
        address = _ADDRESS.fullmatch(word.strip("<>,;()\"'"))
        if address:
            clauses.append(f"('{address.group(0)}':*{weight} | ({pieces}))")
        elif pieces:
            clauses.append(f"({pieces})")
    return " & ".join(clauses)


# --------------------------------------------------------------------------- operators

_PLAIN_PHRASE = re.compile(r"[\w\s]+")
_SYLLABLES_PER_INITIAL = 21 * 28


def _matches_vector(tsquery: str, *, null_is_false: bool = False) -> Q:
    # coalesce only where needed (exclusion): it keeps the GIN index from being used.
    sql = (
        "coalesce(search_vector @@ %s::tsquery, false)"
        if null_is_false
        else "search_vector @@ %s::tsquery"
    )
    return Q(RawSQL(sql, [tsquery], output_field=BooleanField()))  # noqa: S611 - parameter


def _matches_text(term: str) -> Q:
    return (
        Q(subject__icontains=term)
        | Q(from_name__icontains=term)
        | Q(from_address__icontains=term)
        | Q(to__icontains=term)
        | Q(cc__icontains=term)
        | Q(text_body__icontains=term)
        | Q(attached_text__icontains=term)
    )


def _item_q(item: str, full_text: bool, *, null_is_false: bool = False) -> Q | None:
    """What one free-text item (a word, an address, 초성 or a phrase) matches; None if
    it has nothing to search for (punctuation only)."""
    pieces = _WORD.findall(item.lower())
    if not pieces:
        return None
    if len(item.split()) > 1:  # a phrase: its words in order
        if full_text and _PLAIN_PHRASE.fullmatch(item):
            return _matches_vector(
                " <-> ".join(f"'{piece}':*" for piece in pieces), null_is_false=null_is_false
            )
        return _matches_text(" ".join(item.split()))
    if all(is_initials(piece) for piece in pieces):
        q = Q()
        for piece in pieces:
            in_text = (
                _matches_vector(f"'{piece}':*", null_is_false=null_is_false)
                if full_text
                else _matches_text(piece)
            )
            q &= Q(name_initials__contains=piece) | in_text
        return q
    if full_text:
        return _matches_vector(_tsquery([item.lower()]), null_is_false=null_is_false)
    q = Q()
    for piece in pieces:
        q &= _matches_text(piece)
    return q


def _initials_pattern(term: str) -> str:
    """A regular expression for Korean names whose syllables start with the initials of
    `term`, spaces allowed between them: ㄱㅈ → [가-깋]\\s*[자-짛]. Both databases read it
    (PostgreSQL's ~, and Django's REGEXP function on SQLite)."""
    parts = []
    for char in term:
        if char in INITIALS:
            first = 0xAC00 + INITIALS.index(char) * _SYLLABLES_PER_INITIAL
            parts.append(f"[{chr(first)}-{chr(first + _SYLLABLES_PER_INITIAL - 1)}]")
        else:
            parts.append(re.escape(char))
    return r"\s*".join(parts)


def _field_q(columns: tuple[str, ...], value: str) -> Q:
    """`value` in any of `columns` (any case); 초성 also match the names' initials."""
    value = " ".join(value.split())
    q = Q()
    for column in columns:
        q |= Q(**{f"{column}__icontains": value})
    compact = value.replace(" ", "")
    if is_initials(compact):
        name_column = columns[0]  # from_name, to, cc: where the names are
        q |= Q(**{f"{name_column}__regex": _initials_pattern(compact)})
    return q


FIELD_COLUMNS = {
    "from_": ("from_name", "from_address"),
    "to": ("to",),
    "cc": ("cc",),
    "subject": ("subject",),
}
# Each field's weight in the search vector (see _VECTOR_SQL): To and Cc share C.
FIELD_WEIGHTS = {"from_": "B", "to": "C", "cc": "C", "subject": "A"}
_INDEXABLE_WORD = re.compile(r"[^\W_]+")


def _field_prefilter(value: str, weight: str) -> Q | None:
    """On PostgreSQL, the GIN index's view of a field operator, or None if it has none.

    A value of whole words and full addresses is found by the search vector as word
    prefixes in the field's weight, which the index answers without reading the
    user's every row (from: across folders at 100,000 messages: 488 → 124 ms);
    the LIKE on the column that follows keeps the match exact. Anything else (a domain,
    "@daum.net", 초성) has no lexeme to look up and is matched by the LIKE alone.
    """
    words = value.lower().split()
    if not _indexable(words):
        return None
    return _matches_vector(_tsquery(words, weight))


def _indexable(words: list[str]) -> bool:
    """Whether a field operator's words are whole words and full addresses (not 초성)."""
    if not words or not all(
        _INDEXABLE_WORD.fullmatch(word) or _ADDRESS.fullmatch(word) for word in words
    ):
        return False
    return not is_initials("".join(words))


# The columns of PostgreSQL's weights (FIELD_WEIGHTS) in the FTS5 index: To and Cc share C.
FTS_FIELD_COLUMNS = {
    "from_": ("from_name", "from_address"),
    "to": ("to", "cc"),
    "cc": ("to", "cc"),
    "subject": ("subject",),
}


def _fts5_word(alias: str, piece: str, owner_id: int | None) -> Q:
    """A word starting with `piece` in the text: through the index unless too common."""
    expr = search_fts.in_text(search_fts.words_expr([piece]), [piece], owner_id)
    expr = search_fts.owned_by(owner_id, expr)
    ids = search_fts.found_ids(alias, expr)
    return search_fts.word_q(piece) if ids is None else search_fts.among(ids)


def _fts5_item(
    item: str, alias: str, owner_id: int | None = None
) -> tuple[str | None, Q | None, Q | None]:
    """One free-text item on SQLite: (index query, the same row by row, what must hold
    of the row either way); None where there is none."""
    words = search_fts.pieces(item)
    if not _WORD.findall(item.lower()):
        return None, None, None  # punctuation only: nothing to search for
    if len(item.split()) > 1:  # a phrase: its words in order
        if _PLAIN_PHRASE.fullmatch(item) and words:
            # The index finds the words side by side; the row is checked for their order.
            expr = search_fts.in_text(search_fts.phrase_expr(words), words, owner_id)
            return expr, Q(), search_fts.phrase_q(words)
        return None, None, _matches_text(" ".join(item.split()))
    if words and all(is_initials(piece) for piece in words):
        q = Q()
        for piece in words:
            q &= Q(name_initials__contains=piece) | _fts5_word(alias, piece, owner_id)
        return None, None, q
    if not words:  # only underscores: no token
        return None, None, _matches_text(item.lower())
    expr = search_fts.in_text(search_fts.words_expr(words), words, owner_id)
    return expr, search_fts.words_q(words), None


def _one_word(query: SearchQuery) -> str | None:
    """The query's only term, if it is one plain word and nothing else is asked."""
    items = query.text[:MAX_TERMS]
    if len(items) != 1 or any(getattr(query, name) for name in FTS_FIELD_COLUMNS):
        return None
    words = search_fts.pieces(items[0])
    return words[0] if len(words) == 1 and not is_initials(words[0]) else None


def _filter_text_fts5(messages: QuerySet, query: SearchQuery, owner_id: int | None) -> QuerySet:
    """Free text, exclusions and the word view of field operators on SQLite, with the
    semantics of PostgreSQL's search vector (see mailbox.search_fts): through the FTS5
    index (asked for `owner_id`'s messages when given), or row by row for a term too
    common for the index to help."""
    found: list[tuple[str, Q]] = []  # (index query, the same row by row)
    exacts: list[Q] = []  # checked after the index has narrowed the rows
    for item in query.text[:MAX_TERMS]:
        expr, rowwise, exact = _fts5_item(item, messages.db, owner_id)
        if expr is not None and rowwise is not None:
            found.append((expr, rowwise))
        if exact is not None:
            exacts.append(exact)
    for name, columns in FTS_FIELD_COLUMNS.items():
        for value in getattr(query, name)[:MAX_TERMS]:
            words = search_fts.pieces(value)
            if words and _indexable(value.lower().split()):
                found.append(
                    (search_fts.words_expr(words, columns), search_fts.words_q(words, columns))
                )
    if found:
        expr = search_fts.owned_by(owner_id, " AND ".join(e for e, _ in found))
        word = _one_word(query)
        # One word alone (the commonest search): whether it is common is known in a seek.
        common = (
            owner_id is not None
            and word is not None
            and search_fts.surely_common(messages.db, owner_id, word)
        )
        ids = None if common else search_fts.found_ids(messages.db, expr)
        if ids is None:
            for _, rowwise in found:
                messages = messages.filter(rowwise)
        else:
            messages = messages.filter(search_fts.among(ids))
    for exact in exacts:
        messages = messages.filter(exact)
    for item in query.exclude[:MAX_TERMS]:
        _, rowwise, exact = _fts5_item(item, messages.db, owner_id)
        q = exact if exact is not None else rowwise
        if q is not None:
            messages = messages.exclude(q)
    return messages


def start_of_day(day: dt.date, zone) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), zone)


def filter_by_query(messages: QuerySet, query: SearchQuery, *, zone=None, owner=None) -> QuerySet:
    """`messages` that match everything `query` asks of a message itself.

    Not ``in:``: where to look is the caller's (see :func:`search_mail`). Dates are days
    in `zone` (the active time zone by default: the user's). At most MAX_TERMS values per
    kind of term are used. `owner`, whose messages `messages` are, lets SQLite's index
    look among that user's mail only (the result is the same without it).
    """
    zone = zone or timezone.get_current_timezone()
    full_text = _uses_full_text(messages.db)
    if connections[messages.db].vendor == "sqlite":
        messages = _filter_text_fts5(messages, query, owner.pk if owner is not None else None)
    words: list[str] = []
    for item in query.text[:MAX_TERMS] if _uses_like(messages.db) else ():
        pieces = _WORD.findall(item.lower())
        if (
            full_text
            and len(item.split()) == 1
            and pieces
            and not all(is_initials(p) for p in pieces)
        ):
            words.append(item.lower())  # one tsquery for all plain words
            continue
        q = _item_q(item, full_text)
        if q is not None:
            messages = messages.filter(q)
    if words:
        messages = messages.filter(_matches_vector(_tsquery(words)))
    for item in query.exclude[:MAX_TERMS] if _uses_like(messages.db) else ():
        q = _item_q(item, full_text, null_is_false=True)
        if q is not None:
            messages = messages.exclude(q)
    for name, columns in FIELD_COLUMNS.items():
        for value in getattr(query, name)[:MAX_TERMS]:
            if not value.strip():
                continue
            prefilter = _field_prefilter(value, FIELD_WEIGHTS[name]) if full_text else None
            if prefilter is not None:
                messages = messages.filter(prefilter)
            messages = messages.filter(_field_q(columns, value))
    for value in query.filename[:MAX_TERMS]:
        named = Attachment.objects.filter(message=OuterRef("pk"), filename__icontains=value)
        messages = messages.filter(Exists(named))
    if query.has_attachment:
        messages = messages.filter(has_attachments=True)
    if query.unread is not None:
        messages = messages.filter(seen=not query.unread)
    if query.flagged:
        messages = messages.filter(flagged=True)
    if query.account and query.account.strip():
        messages = messages.filter(account__email__icontains=query.account.strip())
    if query.after:
        messages = messages.filter(date__gte=start_of_day(query.after, zone))
    if query.before:
        messages = messages.filter(date__lt=start_of_day(query.before, zone))
    if query.larger is not None:
        messages = messages.filter(size__gt=query.larger)
    if query.smaller is not None:
        messages = messages.filter(size__lt=query.smaller)
    return messages


def filter_by_search(messages: QuerySet, query: str, *, zone=None, owner=None) -> QuerySet:
    """`messages` (`owner`'s, if given) that match the search box string `query`
    (``in:`` aside)."""
    return filter_by_query(messages, parse_query(query), zone=zone, owner=owner)


# --------------------------------------------------------------------------- where to look

ALL_MAIL = "all"  # every folder but Trash and Junk: Gmail's "All Mail", a search's default
ANYWHERE = "anywhere"  # every folder, Trash and Junk too (Gmail's in:anywhere)
_ALIASES = {  # Gmail's names for the same places
    "spam": Folder.JUNK,
    "bin": Folder.TRASH,
    "draft": Folder.DRAFTS,
    "allmail": ALL_MAIL,
    "everywhere": ANYWHERE,
}


def _norm(name: str) -> str:
    """A folder name or path compared without spaces and case: "Work / Reports" and
    "work/reports" are one; 받은 편지함 and 받은편지함 too."""
    return "".join(name.split()).casefold().strip("/")


def scope_label(key: str) -> str:
    if key == ALL_MAIL:
        return pgettext("search scope", "All folders but Trash and Junk")
    if key == ANYWHERE:
        return pgettext("search scope", "All folders, Trash and Junk too")
    return str(Folder(key).label)


def _place_names() -> dict[str, str]:
    """Normalized name → place key: system folders and the two scopes, by key and by
    label in every language."""
    names = {key: key for key in [*SYSTEM_FOLDERS, ALL_MAIL, ANYWHERE]}
    names.update(_ALIASES)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for key in [*SYSTEM_FOLDERS, ALL_MAIL, ANYWHERE]:
                names.setdefault(_norm(scope_label(key)), key)
            names.setdefault(_norm(pgettext("search scope", "All mail")), ALL_MAIL)
    return names


@dataclass(frozen=True)
class Place:
    """Where a search looks: a folder key ("inbox", "user:12"), ALL_MAIL or ANYWHERE."""

    key: str
    label: str

    @property
    def is_many(self) -> bool:
        """Results may come from several folders (rows show theirs)."""
        return self.key in (ALL_MAIL, ANYWHERE)

    def messages(self, owner) -> QuerySet:
        mine = Message.objects.filter(owner=owner)
        if self.key == ANYWHERE:
            return mine
        if self.key == ALL_MAIL:
            return mine.exclude(folder__in=[Folder.TRASH, Folder.JUNK])
        folder, user_folder = folders.parse_key(self.key) or (self.key, None)
        if user_folder is not None:
            return mine.filter(folder=Folder.USER, user_folder_id=user_folder)
        return mine.filter(folder=folder)


def find_place(owner, name: str) -> Place | None:
    """The place ``in:name`` means for `owner`: a system folder by key or label (either
    language), all/anywhere, or an own folder by its path ("Work/Reports") or, if only
    one folder has it, its name. None if nothing matches."""
    wanted = _norm(name)
    key = _place_names().get(wanted)
    if key is not None:
        return Place(key, scope_label(key))
    nodes = folders.flat(owner)
    by_path = [n for n in nodes if _norm(n.path) == wanted]
    by_name = [n for n in nodes if _norm(n.name) == wanted]
    found = by_path or (by_name if len(by_name) == 1 else [])
    return Place(found[0].key, found[0].path) if found else None


def place_of(owner, key: str | None) -> Place | None:
    """The place of a folder key (the folder a search was made in); None if not owner's."""
    parsed = folders.parse_key(key)
    if parsed is None:
        return None
    if parsed[1] is None:
        return Place(parsed[0], scope_label(parsed[0]))
    folder = folders.get(owner, parsed[1])
    return Place(key, folder.name) if folder else None


# --------------------------------------------------------------------------- a search


@dataclass
class Search:
    text: str  # as typed
    query: SearchQuery
    place: Place
    messages: QuerySet  # unordered, not paginated
    problems: list[str] = field(default_factory=list)  # worded, for the page


def search_mail(owner, text: str, *, within: str | None = None, zone=None) -> Search:
    """`owner`'s messages that match the search box string `text`.

    Where: ``in:`` if the query names a place, else the folder key `within` (the
    folder the search was made in), else every folder but Trash and Junk. What was not
    understood (a bad date, an unknown folder ...) is left out and worded in `problems`.
    """
    query = parse_query(text)
    problems = [describe(error) for error in query.errors]
    place = None
    if query.folder:
        place = find_place(owner, query.folder)
        if place is None:
            problems.append(describe(QueryError("in", query.folder, "unknown-folder")))  # type: ignore[arg-type]
    if place is None and within:
        place = place_of(owner, within)
    if place is None:
        place = Place(ALL_MAIL, scope_label(ALL_MAIL))
    messages = filter_by_query(place.messages(owner), query, zone=zone, owner=owner)
    return Search(text=text, query=query, place=place, messages=messages, problems=problems)


def describe(error: QueryError) -> str:
    """What went wrong with one operator, in the active language, naming the operator."""
    values = {"operator": f"{error.operator}:", "value": error.value}
    if error.code == "invalid-date":
        return _("%(operator)s “%(value)s” is not a date: write it as YYYY-MM-DD.") % values
    if error.code == "invalid-size":
        return (
            _("%(operator)s “%(value)s” is not a size: write a number with K, M or G, like 10M.")
            % values
        )
    if error.code == "unknown-value" and error.operator == "has":
        return _("%(operator)s only has:attachment is understood, not “%(value)s”.") % values
    if error.code == "unknown-value":
        return _("%(operator)s write is:unread, is:read or is:flagged, not “%(value)s”.") % values
    if error.code == "missing-value":
        return _("%(operator)s needs something to search for after the colon.") % values
    if error.code == "negated":
        return _("-%(operator)s cannot be excluded with a minus sign.") % values
    if error.code == "unknown-folder":
        return _("%(operator)s you have no folder called “%(value)s”.") % values
    return _("%(operator)s “%(value)s” was not understood.") % values
