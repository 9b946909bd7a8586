"""Message search: PostgreSQL full-text search, LIKE on other databases."""

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet, Value

from .models import Message

MAX_BODY_CHARS = 100_000  # tsvector values are capped at 1 MB
MAX_TERMS = 8
_WORD = re.compile(r"\w+")


def _uses_full_text() -> bool:
    return connection.vendor == "postgresql"


def search_terms(query: str) -> list[str]:
    """The words of a search box query (letters and digits, Korean included)."""
    return _WORD.findall(query.lower())[:MAX_TERMS]


def update_search_vector(message: Message, body_text: str) -> None:
    """Index subject, sender, recipients and body (PostgreSQL only).

    The 'simple' configuration does no stemming, which suits mixed Korean and
    English mail; searches match word prefixes, so 회의 finds 회의를.
    """
    if not _uses_full_text():
        return
    vector = (
        SearchVector(Value(message.subject), weight="A", config="simple")
        + SearchVector(
            Value(f"{message.from_name} {message.from_address}"), weight="B", config="simple"
        )
        + SearchVector(Value(f"{message.to} {message.cc}"), weight="C", config="simple")
        + SearchVector(Value(body_text[:MAX_BODY_CHARS]), weight="D", config="simple")
    )
    Message.objects.filter(pk=message.pk).update(search_vector=vector)


def filter_by_search(messages: QuerySet, query: str) -> QuerySet:
    terms = search_terms(query)
    if not terms:
        return messages
    if _uses_full_text():
        # Every term must match as a word prefix; \w+ tokens are safe in tsquery syntax.
        raw = " & ".join(f"{term}:*" for term in terms)
        return messages.filter(search_vector=SearchQuery(raw, search_type="raw", config="simple"))
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
