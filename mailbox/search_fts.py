"""Search on SQLite: an FTS5 index over the fields PostgreSQL's search vector covers.

``mailbox_message_fts`` is an external-content FTS5 table over mailbox_message's
subject, sender name and address, To, Cc and text body (PostgreSQL's weights A-D),
created by migration 0016 on SQLite only. Triggers on mailbox_message keep it in step
in the same transaction as every write, whatever makes it (ingest, bulk_create, a
queryset update or delete, raw SQL as the benchmarks load): no write path can forget
it. A migration that rebuilds mailbox_message (SQLite's way to alter a column) drops
the triggers with the old table: :func:`repair` puts them back after every
``migrate`` and rebuilds the index.

The tokenizer is ``unicode61`` (letters and digits of every script, Hangul and the
consonants of 초성 included, case folded, accents kept as PostgreSQL's 'simple'
configuration keeps them) and every term is a prefix query, so the semantics are
PostgreSQL's: a term matches the words it starts, 회의 finds 회의를 and 회의에서, a
one-letter term works too. A prefix index on two characters answers the commonest
Korean query, a two-syllable word, without walking the term list.

A term in more than COMMON_MATCHES messages (of every user) is not looked up in the
index: listing the newest of its messages reads few rows anyway, while the index
would hand over every match. Such terms, exclusions and 초성 are matched row by row
by a regular expression with the same meaning (a word starting with the term; LIKE
first where it can rule a row out, as it is cheaper), so the results never depend
on which way was taken.
"""

from __future__ import annotations

import re

from django.db import connections
from django.db.models import Q
from django.db.models.expressions import RawSQL

TABLE = "mailbox_message_fts"
COLUMNS = ("subject", "from_name", "from_address", "to", "cc", "text_body")
COMMON_MATCHES = 20_000
_PIECE = re.compile(r"[^\W_]+")  # unicode61's tokens: letters and digits

_LIST = ", ".join(f'"{c}"' for c in COLUMNS)
_NEW = ", ".join(f'new."{c}"' for c in COLUMNS)
_OLD = ", ".join(f'old."{c}"' for c in COLUMNS)
_CHANGED = " OR ".join(f'old."{c}" IS NOT new."{c}"' for c in COLUMNS)
# Constant SQL: the table and column names are this module's.
_INSERT = f"INSERT INTO {TABLE}(rowid, {_LIST}) VALUES (new.id, {_NEW});"  # noqa: S608
_DELETE = f"INSERT INTO {TABLE}({TABLE}, rowid, {_LIST}) VALUES ('delete', old.id, {_OLD});"  # noqa: S608
CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({_LIST}, "
    "content='mailbox_message', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0', prefix='2')"
)
TRIGGERS = {
    f"{TABLE}_insert": f"AFTER INSERT ON mailbox_message BEGIN {_INSERT} END",
    f"{TABLE}_delete": f"AFTER DELETE ON mailbox_message BEGIN {_DELETE} END",
    f"{TABLE}_update": (
        f"AFTER UPDATE OF {_LIST} ON mailbox_message WHEN {_CHANGED} BEGIN {_DELETE} {_INSERT} END"
    ),
}


def install(cursor) -> None:
    """Create the index and its triggers (what is missing), and fill it from every row."""
    cursor.execute(CREATE_TABLE)
    for name, body in TRIGGERS.items():
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
    cursor.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")  # noqa: S608


def uninstall(cursor) -> None:
    for name in TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def repair(using: str) -> bool:
    """After a migration: if the index exists but a trigger is gone (mailbox_message was
    rebuilt), put the triggers back and rebuild the index. True if it had to."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name FROM sqlite_master WHERE name = %s OR "
            "(type = 'trigger' AND tbl_name = 'mailbox_message')",
            [TABLE],
        )
        present = {name for _, name in cursor.fetchall()}
        if TABLE not in present or set(TRIGGERS) <= present:
            return False
        install(cursor)
    return True


# --------------------------------------------------------------------------- queries


def pieces(text: str) -> list[str]:
    """The tokens FTS5 makes of `text`, lower-cased."""
    return _PIECE.findall(text.lower())


def _prefixes(words: list[str]) -> str:
    return " AND ".join(f'"{piece}"*' for piece in words)  # tokens hold no quote


def words_expr(words: list[str], columns: tuple[str, ...] = ()) -> str:
    """An FTS5 query: every token of `words` starts a word (in one of `columns`)."""
    expr = f"({_prefixes(words)})"
    return "{" + " ".join(columns) + "} : " + expr if columns else expr


def phrase_expr(words: list[str]) -> str:
    """An FTS5 query for a phrase's words side by side (the order is checked by
    :func:`phrase_q`)."""
    return "NEAR(" + " ".join(f'"{piece}"*' for piece in words) + ", 0)"


def is_common(alias: str, expr: str) -> bool:
    """Whether more than COMMON_MATCHES messages match `expr` (stops counting there)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE {TABLE} MATCH %s LIMIT %s)",  # noqa: S608 - constant name
            [expr, COMMON_MATCHES + 1],
        )
        return cursor.fetchone()[0] > COMMON_MATCHES


def matches(expr: str) -> Q:
    """Messages the index finds for `expr`."""
    return Q(
        pk__in=RawSQL(  # noqa: S611 - constant SQL, the query a parameter
            f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s",  # noqa: S608 - constant name
            [expr],
        )
    )


def _guarded(column: str, literal: list[str], pattern: str) -> Q:
    """`column` matches `pattern`; LIKE first for each of `literal` that it implies (LIKE
    folds ASCII case only, so a term with other cased letters goes to the pattern alone)."""
    q = Q()
    for text in literal:
        if all(char.isascii() or char.lower() == char.upper() for char in text):
            q &= Q(**{f"{column}__icontains": text})
    return q & Q(**{f"{column}__regex": pattern})


_START = r"(?i)(?<![^\W_])"


def word_q(piece: str, columns: tuple[str, ...] = COLUMNS) -> Q:
    """Row by row, what the index finds for one token: a word of `columns` starts with it."""
    pattern = _START + re.escape(piece)
    q = Q()
    for column in columns:
        q |= _guarded(column, [piece], pattern)
    return q


def words_q(words: list[str], columns: tuple[str, ...] = COLUMNS) -> Q:
    q = Q()
    for piece in words:
        q &= word_q(piece, columns)
    return q


def phrase_q(words: list[str]) -> Q:
    """Row by row: words starting with `words`, in order, side by side in one field
    (PostgreSQL's 'a':* <-> 'b':*)."""
    pattern = _START + r"[^\W_]*[\W_]+".join(re.escape(piece) for piece in words)
    q = Q()
    for column in COLUMNS:
        q |= _guarded(column, words, pattern)
    return q
