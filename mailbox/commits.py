"""Transactions whose commit need not wait for the disk.

An ordinary PostgreSQL commit returns once its WAL record is flushed (1-3 ms on the
benchmark's disk, more while other writers flush). `relaxed_commit` marks one
transaction `synchronous_commit = off`: its commit returns at once and the WAL writer
flushes it within a fraction of a second. A crash of the database server in between
loses that transaction, never part of it and never anything committed before it; and
the next ordinary commit on the server flushes it too (the WAL is one sequence).

Only for writes whose loss in such a crash harms nothing:
- the delivery claim (delivery._claim): no byte reaches the server's final dot before
  the worker's ordinary commit of `data_started_at`, which flushes the claim with it;
  if the server crashed before, that write fails and nothing was sent, and the row is
  still queued for the next worker;
- the addresses collected from a sent message (contacts.collection): a bump of a count.

Never for the outgoing row and its bytes before the task is enqueued, the mark before
the final dot, the outcome of a delivery, or anything stored from a mail server.

On SQLite (WAL mode) the same holds with `PRAGMA synchronous = NORMAL` for that one
transaction: its commit appends to the WAL without syncing it, and the next ordinary
(FULL) commit of any connection syncs the WAL file, this transaction's frames with it.
A commit that does not wait for the disk also holds SQLite's one write lock for less
time: every other writer waits for a FULL commit's fsync.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import transaction


@contextlib.contextmanager
def relaxed_commit(using: str | None = None) -> Iterator[None]:
    """An atomic block whose commit does not wait for the WAL flush (see above). Nested
    in another transaction it is a savepoint of it and changes nothing of its commit."""
    connection = transaction.get_connection(using)
    outermost = not connection.in_atomic_block
    sqlite = outermost and connection.vendor == "sqlite"
    if sqlite:  # before BEGIN: SQLite refuses to change it inside a transaction
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = NORMAL")
    try:
        with transaction.atomic(using=using):
            if outermost and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            yield
    finally:
        if sqlite and connection.connection is not None:  # after the commit (or rollback)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = FULL")  # SQLite's default, ours
