"""Planner statistics on SQLite, the embedded default.

PostgreSQL's autovacuum keeps its statistics; SQLite has none until ANALYZE runs, and
without them its planner assumes an index equality picks about ten rows. For a search,
that makes it walk the whole folder in date order testing each row against the few
ids the FTS5 index found (measured on 100,000 messages: 9.7 ms for a word against
1.2 ms in a 1,000-message mailbox); with statistics it looks those rows up by id
(4.2 and 2.9 ms). Every other list and conversation query keeps its plan.

The hourly task (mailbox.tasks.refresh_database_statistics) analyzes when the
messages have grown or shrunk by a quarter since the last time, as SQLite's own
``PRAGMA optimize`` would (its version here only looks at tables this connection has
queried). A full ANALYZE of 1 million messages takes about a second.
"""

from __future__ import annotations

from django.db import connections

# Below this, every plan reads few rows anyway.
MIN_MESSAGES = 10_000
CHANGE = 1.25
# ANALYZE with no limit writes exact row counts here (the first number of `stat`).
_ANALYZED = "SELECT stat FROM sqlite_stat1 WHERE idx = 'message_listing_idx'"


def analyzed_messages(cursor) -> int | None:
    """How many messages there were when ANALYZE last ran; None if it never has."""
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if cursor.fetchone() is None:
        return None
    cursor.execute(_ANALYZED)
    row = cursor.fetchone()
    return int(row[0].split()[0]) if row else None


def is_stale(messages: int, analyzed: int | None) -> bool:
    if analyzed is None:
        return messages >= MIN_MESSAGES
    return not analyzed / CHANGE <= messages <= analyzed * CHANGE


def refresh(using: str = "default", *, force: bool = False) -> bool:
    """ANALYZE the SQLite database if its statistics are missing or stale (or `force`).
    True if it ran; PostgreSQL is left to autovacuum."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mailbox_message")
        messages = cursor.fetchone()[0]
        if not force and not is_stale(messages, analyzed_messages(cursor)):
            return False
        cursor.execute("PRAGMA analysis_limit = 0")  # exact counts: see _ANALYZED
        cursor.execute("ANALYZE")
    return True
