"""Message search: PostgreSQL full-text search, LIKE on other databases.

The database is the queryset's own (``connections[qs.db]``), so one process can
search a PostgreSQL and a SQLite database alike.

Korean, on both: a term matches word prefixes (PostgreSQL) or any substring
(LIKE), so 회의 finds 회의를, 회의에서 and 회의에서는. A term made only of
consonants typed alone (``ㄱㅈㅎ``) is an initial-consonant (초성) search: it matches
the initials of the sender's and recipients' names (``Message.name_initials``, so
ㄱㅈㅎ finds mail from or to 김지현), or the term itself in the text, as ㅋㅋ would.
Every term must match (AND).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.postgres.search import SearchVectorField
from django.db import connections, router
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from mailcore.hangul import initials, is_initials

from .models import Message

MAX_BODY_CHARS = 100_000  # tsvector values are capped at 1 MB
MAX_TERMS = 8
_WORD = re.compile(r"\w+")


def _uses_full_text(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def search_terms(query: str) -> list[str]:
    """The words of a search box query (letters and digits, Korean included)."""
    return _WORD.findall(query.lower())[:MAX_TERMS]


def name_initials(names: Iterable[str]) -> str:
    """The initials of the Korean names among ``names``, a word per name, spaces in a
    name dropped: ["김지현", "Bob", "이 민수"] → "ㄱㅈㅎ ㅇㅁㅅ"."""
    words = ("".join(initials(name).split()) for name in names)
    return " ".join(word for word in words if any(is_initials(char) for char in word))


# One weighted vector per field, concatenated: subject A, sender B, recipients C, body D.
# Raw SQL because compiling the equivalent SearchVector expression tree cost more
# per INSERT than PostgreSQL's work for the whole row.
_VECTOR_SQL = " || ".join(
    f"setweight(to_tsvector('simple'::regconfig, %s), '{weight}')" for weight in "ABCD"
)


def search_vector(message: Message, body_text: str):
    """The search vector of subject, sender, recipients and body; None off PostgreSQL.

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
        ],
        output_field=SearchVectorField(),
    )


_ADDRESS = re.compile(r"[\w.+-]+@[\w.-]+")


def _split(query: str) -> tuple[list[str], list[str]]:
    """(words for the text search, initials terms) of a query, at most MAX_TERMS in all."""
    words: list[str] = []
    initial_terms: list[str] = []
    for word in query.lower().split()[:MAX_TERMS]:
        pieces = _WORD.findall(word)
        if pieces and all(is_initials(piece) for piece in pieces):
            initial_terms.extend(pieces)
        elif pieces:
            words.append(word)
    return words, initial_terms[:MAX_TERMS]


def _tsquery(words: list[str]) -> str:
    """A tsquery literal: every word must match as a prefix.

    PostgreSQL's parser keeps an address such as minsoo.kim@daum.net as one
    token, so a typed (partial) address also matches as a prefix of that whole
    token. The literal is cast, not parsed by to_tsquery (which would split a
    partial address); every lexeme is quoted and holds only word characters
    and . + - @, so nothing in it is tsquery syntax.
    """
    clauses = []
    for word in words:
        pieces = " & ".join(f"'{piece}':*" for piece in _WORD.findall(word))
        address = _ADDRESS.fullmatch(word.strip("<>,;()\"'"))
        if address:
            clauses.append(f"('{address.group(0)}':* | ({pieces}))")
        elif pieces:
            clauses.append(f"({pieces})")
    return " & ".join(clauses)


def _matches_vector(tsquery: str) -> Q:
    return Q(RawSQL("search_vector @@ %s::tsquery", [tsquery], output_field=BooleanField()))


def _matches_text(term: str) -> Q:
    return (
        Q(subject__icontains=term)
        | Q(from_name__icontains=term)
        | Q(from_address__icontains=term)
        | Q(to__icontains=term)
        | Q(cc__icontains=term)
        | Q(text_body__icontains=term)
    )


def filter_by_search(messages: QuerySet, query: str) -> QuerySet:
    words, initial_terms = _split(query)
    full_text = _uses_full_text(messages.db)
    if words and full_text:
        messages = messages.filter(_matches_vector(_tsquery(words)))
    elif words:
        for term in search_terms(" ".join(words)):
            messages = messages.filter(_matches_text(term))
    for term in initial_terms:
        in_text = _matches_vector(f"'{term}':*") if full_text else _matches_text(term)
        messages = messages.filter(Q(name_initials__contains=term) | in_text)
    return messages
