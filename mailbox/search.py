"""Message search: PostgreSQL full-text search, LIKE on other databases."""

import re

from django.contrib.postgres.search import SearchVectorField
from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import Message

MAX_BODY_CHARS = 100_000  # tsvector values are capped at 1 MB
MAX_TERMS = 8
_WORD = re.compile(r"\w+")


def _uses_full_text() -> bool:
    return connection.vendor == "postgresql"


def search_terms(query: str) -> list[str]:
    """The words of a search box query (letters and digits, Korean included)."""
    return _WORD.findall(query.lower())[:MAX_TERMS]


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
    if not _uses_full_text():
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


def _tsquery(query: str) -> str:
    """A tsquery literal: every word must match as a prefix.

    PostgreSQL's parser keeps an address such as minsoo.kim@daum.net as one
    token, so a typed (partial) address also matches as a prefix of that whole
    token. The literal is cast, not parsed by to_tsquery (which would split a
    partial address); every lexeme is quoted and holds only word characters
    and . + - @, so nothing in it is tsquery syntax.
    """
    clauses = []
    for word in query.lower().split()[:MAX_TERMS]:
        pieces = " & ".join(f"'{piece}':*" for piece in _WORD.findall(word))
        address = _ADDRESS.fullmatch(word.strip("<>,;()\"'"))
        if address:
            clauses.append(f"('{address.group(0)}':* | ({pieces}))")
        elif pieces:
            clauses.append(f"({pieces})")
    return " & ".join(clauses)


def filter_by_search(messages: QuerySet, query: str) -> QuerySet:
    terms = search_terms(query)
    if not terms:
        return messages
    if _uses_full_text():
        return messages.filter(
            RawSQL("search_vector @@ %s::tsquery", [_tsquery(query)], output_field=BooleanField())
        )
    for term in terms:
        messages = messages.filter(
            Q(subject__icontains=term)
            | Q(from_name__icontains=term)
            | Q(from_address__icontains=term)
            | Q(to__icontains=term)
            | Q(cc__icontains=term)
            | Q(text_body__icontains=term)
        )
    return messages
