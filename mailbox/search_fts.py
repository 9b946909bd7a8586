"""Search on SQLite: an FTS5 index over the fields PostgreSQL's search vector covers.

``mailbox_message_fts`` is an external-content FTS5 table over mailbox_message's
subject, sender name and address, To, Cc, text body and the text of attached messages
(PostgreSQL's weights A-D), and the owner's id, created by migration 0017 on SQLite
only (0022 rebuilt it with attached messages, the owner and longer prefixes).
Triggers on mailbox_message keep it in step in the same transaction as every write,
whatever makes it (ingest, bulk_create, a queryset update or delete, raw SQL as the
benchmarks load): no write path can forget it. A migration that rebuilds
mailbox_message (SQLite's way to alter a column) drops the triggers with the old
table: :func:`repair` puts them back after every ``migrate`` and rebuilds the index.

The tokenizer is ``unicode61`` (letters and digits of every script, Hangul and the
consonants of 초성 included, case folded, accents kept as PostgreSQL's 'simple'
configuration keeps them) and every term is a prefix query, so the semantics are
PostgreSQL's: a term matches the words it starts, 회의 finds 회의를 and 회의에서, a
one-letter term works too. Prefix indexes on two to four characters answer the
commonest queries (a two-syllable Korean word, a short name, an address's domain)
without merging the posting lists of every word they start.

A term in more than COMMON_MATCHES messages (of every user) is not looked up in the
index: listing the newest of its messages reads few rows anyway, while the index
would hand over every match. Such terms, exclusions and 초성 are matched row by row
by a regular expression with the same meaning (a word starting with the term; LIKE
first where it can rule a row out, as it is cheaper), so the results never depend
on which way was taken.
"""

from __future__ import annotations

import json
import re

from django.db import connections
from django.db.models import Q
from django.db.models.expressions import RawSQL

TABLE = "mailbox_message_fts"
COLUMNS = ("subject", "from_name", "from_address", "to", "cc", "text_body", "attached_text")
# The owner's id is indexed too, so that a search asks for one user's matches: the
# index then hands over hundreds of ids rather than every user's thousands (measured
# on eleven users' 1.1 million messages: a sender's mail 2.0 ms instead of 6.3, a
# word's page 0.8 ms instead of 4.2), and a term is "common" by the user's own mail.
OWNER = "owner_id"
INDEXED = (*COLUMNS, OWNER)
COMMON_MATCHES = 20_000
_PIECE = re.compile(r"[^\W_]+")  # unicode61's tokens: letters and digits


# Prefix indexes on the first 2, 3 and 4 characters: a query term is a prefix query,
# and without an index of its length FTS5 merges the posting lists of every word that
# starts with it (a name like "kim" or an address's "net" walks hundreds of thousands
# of entries). Measured on 1.1 million messages: the index 75% larger, building it
# 95 µs more per message, a sender's name or address found in 2-6 ms instead of 13-32.
PREFIXES = "2 3 4"


def create_table(columns: tuple[str, ...], prefixes: str = PREFIXES) -> str:
    listed = ", ".join(f'"{c}"' for c in columns)
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({listed}, "
        "content='mailbox_message', content_rowid='id', "
        f"tokenize='unicode61 remove_diacritics 0', prefix='{prefixes}')"
    )


def triggers(columns: tuple[str, ...]) -> dict[str, str]:
    """The triggers that keep the index of `columns` in step (constant SQL: the table
    and column names are this module's or a migration's)."""
    listed = ", ".join(f'"{c}"' for c in columns)
    new = ", ".join(f'new."{c}"' for c in columns)
    old = ", ".join(f'old."{c}"' for c in columns)
    changed = " OR ".join(f'old."{c}" IS NOT new."{c}"' for c in columns)
    insert = f"INSERT INTO {TABLE}(rowid, {listed}) VALUES (new.id, {new});"  # noqa: S608
    delete = f"INSERT INTO {TABLE}({TABLE}, rowid, {listed}) VALUES ('delete', old.id, {old});"  # noqa: S608
    return {
        f"{TABLE}_insert": f"AFTER INSERT ON mailbox_message BEGIN {insert} END",
        f"{TABLE}_delete": f"AFTER DELETE ON mailbox_message BEGIN {delete} END",
        f"{TABLE}_update": (
            f"AFTER UPDATE OF {listed} ON mailbox_message WHEN {changed} "
            f"BEGIN {delete} {insert} END"
        ),
    }


CREATE_TABLE = create_table(INDEXED)
TRIGGERS = triggers(INDEXED)


def install(cursor, columns: tuple[str, ...] = INDEXED, prefixes: str = PREFIXES) -> None:
    """Create the index of `columns` and its triggers (what is missing), and fill it from
    every row. Migrations name their own columns and prefixes: those of their time."""
    cursor.execute(create_table(columns, prefixes))
    for name, body in triggers(columns).items():
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


def in_text(expr: str, words: list[str], owner_id: int | None) -> str:
    """`expr` for free text: in every column but the owner's id (a search for "7" is
    not user 7's mail). Only a term that starts with a digit could match that column's
    tokens, and only such a query pays for the column filter (it makes FTS5 read
    positions: 36 ms instead of 19 for a common word); an index without the owner
    column (a migration's older one) is asked for no owner and needs none."""
    if owner_id is None or not any(piece[:1].isdigit() for piece in words):
        return expr
    return f"- {{{OWNER}}} : ({expr})"


def owned_by(owner_id: int | None, expr: str) -> str:
    """`expr` among `owner_id`'s messages only (every user's if None)."""
    return expr if owner_id is None else f'{OWNER} : "{int(owner_id)}" AND {expr}'


def found_ids(alias: str, expr: str) -> list[int] | None:
    """The ids of the messages the index finds for `expr`, or None if there are more
    than COMMON_MATCHES. One evaluation of the query: the list then stands for it in
    the page's queries (count, page, neighbours)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s LIMIT %s",  # noqa: S608 - constant name
            [expr, COMMON_MATCHES + 1],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return None if len(ids) > COMMON_MATCHES else ids


# The longest prefix index (PREFIXES): a longer term is a merge of every word it starts.
INDEXED_PREFIX = 4


def surely_common(alias: str, owner_id: int, piece: str) -> bool:
    """Whether `piece` alone, as a whole word, is in more than COMMON_MATCHES of the
    owner's messages; then so is every word it starts. A term longer than the prefix
    indexes makes FTS5 merge the postings of every word it starts before it can count
    (a common word: 19 ms), while the whole word is a seek in one list (2-5 ms)."""
    if len(piece) <= INDEXED_PREFIX:
        return False
    expr = owned_by(owner_id, in_text(f'"{piece}"', [piece], owner_id))
    return found_ids(alias, expr) is None


def among(ids: list[int]) -> Q:
    """Messages whose id is in `ids`, as one parameter (a JSON array) rather than one
    per id. With planner statistics (mailbox.db_statistics) SQLite then looks the few
    rows up by id instead of walking the whole folder in date order."""
    return Q(
        pk__in=RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])  # noqa: S611 - constant SQL
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
