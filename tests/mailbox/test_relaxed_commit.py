"""Commits that need not wait for the disk (mailbox.commits): only the delivery claim and
the collected addresses; the mark before the final dot and the outcome stay ordinary
commits, which make everything before them durable."""

import pytest
from django.db import connection, transaction

from contacts.models import CollectedAddress
from mailbox import commits, delivery, outbox, tasks
from mailbox.models import Outgoing, OutgoingStatus
from tests.conftest import make_account

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, as a worker's


def synchronous_commit() -> str:
    """The setting of the transaction now open (SQLite: there is none, always durable)."""
    if connection.vendor != "postgresql":
        return "on"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def relaxed_inside() -> str:
    return "off" if connection.vendor == "postgresql" else "on"


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
