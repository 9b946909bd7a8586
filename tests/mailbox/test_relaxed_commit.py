"""Commits that need not wait for the disk (mailbox.commits): only the delivery claim and
the collected addresses; the mark before the final dot and the outcome stay ordinary
commits, which make everything before them durable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from contacts.models import CollectedAddress
from mailbox import commits, delivery, outbox, tasks
from mailbox.models import Outgoing, OutgoingStatus
from tests.conftest import make_account

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, as a worker's


def synchronous_commit() -> str:
    """Whether a commit now waits for the disk: "on" or "off" (SQLite: FULL or NORMAL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous")
            return {2: "on", 1: "off"}[cursor.fetchone()[0]]
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def relaxed_inside() -> str:
    return "off"


def test_a_relaxed_transaction_commits_its_rows_and_only_itself_is_relaxed(alice):
    with commits.relaxed_commit():
        CollectedAddress.objects.create(owner=alice, address="carol@example.test", source="sent")
        assert synchronous_commit() == relaxed_inside()
    assert synchronous_commit() == "on"  # the next transaction is an ordinary one
    with transaction.atomic():
        assert synchronous_commit() == "on"
    assert CollectedAddress.objects.filter(owner=alice).count() == 1


def test_a_relaxed_block_rolls_back_like_any_transaction(alice):
    with pytest.raises(RuntimeError), commits.relaxed_commit():
        CollectedAddress.objects.create(owner=alice, address="carol@example.test", source="sent")
        raise RuntimeError
    assert not CollectedAddress.objects.filter(owner=alice).exists()


def test_nested_in_an_ordinary_transaction_it_leaves_that_commit_ordinary(alice):
    with transaction.atomic():
        with commits.relaxed_commit():
            CollectedAddress.objects.create(
                owner=alice, address="carol@example.test", source="sent"
            )
        assert synchronous_commit() == "on"


def test_the_mark_before_the_final_dot_and_the_outcome_are_ordinary_commits(
    alice, smtp_server, monkeypatch
):
    server = smtp_server()
    account = make_account(
        alice, smtp_port=server.port, smtp_security="none", smtp_login="", smtp_password=""
    )
    outbox.outgoing_queued.disconnect(tasks.enqueue_delivery)  # delivered by hand below
    try:
        outgoing = Outgoing.objects.create(
            owner=alice, account=account, to="bob@example.test", subject="s", body="b\n"
        )
        outbox.queue_for_sending(outgoing)
    finally:
        outbox.outgoing_queued.connect(tasks.enqueue_delivery)
    seen = {}
    send_message = delivery.smtp.send_message

    def watched(*args, before_dot, **kwargs):
        def mark() -> None:
            seen["claim committed"] = Outgoing.objects.get(pk=outgoing.pk).status
            before_dot()
            seen["mark in a transaction"] = connection.in_atomic_block
            seen["mark"] = synchronous_commit()

        return send_message(*args, before_dot=mark, **kwargs)

    save_attempt = delivery._save_attempt

    def outcome(attempt, result) -> None:
        seen["outcome"] = synchronous_commit()
        save_attempt(attempt, result)

    monkeypatch.setattr(delivery.smtp, "send_message", watched)
    monkeypatch.setattr(delivery, "_save_attempt", outcome)
    assert outbox.deliver(outgoing.pk).startswith("sent")
    assert seen == {
        "claim committed": OutgoingStatus.SENDING,
        "mark in a transaction": False,  # autocommit: an ordinary commit of its own
        "mark": "on",
        "outcome": "on",
    }
    assert len(server.delivered) == 1


SQLITE_COMMITS = """
import django, os, sys
django.setup()
from django.db import connection, transaction
from mailbox import commits
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE t (x INTEGER)")
marker = os.open(os.devnull, os.O_WRONLY)
for kind in sys.argv[1:]:
    os.write(marker, kind.encode())  # in the trace: which commit the syncs belong to
    with commits.relaxed_commit() if kind == "relaxed" else transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (1)")
with connection.cursor() as cursor:
    cursor.execute("PRAGMA synchronous")
    print(cursor.fetchone()[0])
"""


def test_on_sqlite_a_relaxed_commit_skips_the_wal_sync_and_the_next_commit_makes_it(tmp_path):
    # A real SQLite file in WAL mode (the settings' init_command), traced: which commits
    # fsync the write-ahead log.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    trace = tmp_path / "trace"
    kinds = ["relaxed", "relaxed", "ordinary", "relaxed", "ordinary"]
    result = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=write,fsync,fdatasync",
            "-o",
            str(trace),
            sys.executable,
            "-c",
            SQLITE_COMMITS,
            *kinds,
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"  # FULL again afterwards
    syncs: dict[int, int] = {}
    current = -1
    for line in trace.read_text().splitlines():
        if any(f'"{kind}"' in line for kind in ("relaxed", "ordinary")) and "write(" in line:
            current += 1
            syncs[current] = 0
        elif current >= 0 and ("fdatasync(" in line or "fsync(" in line):
            syncs[current] += 1
    assert [syncs[i] > 0 for i in range(len(kinds))] == [False, False, True, False, True]
