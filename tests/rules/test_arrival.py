"""Rules on arrival, through the real poll path (Dovecot): each action, order and stop,
forward guards, and a crash between store and commit."""

import pytest
from django.core.files.storage import default_storage

from mailbox import actions, ingest, outbox
from mailbox.models import Attachment, Folder, Message, Outgoing, OutgoingStatus, UserFolder
from rules.filtering import loop_token
from tests.conftest import dovecot_account
from tests.rules.helpers import add_rule, wire

pytestmark = pytest.mark.dovecot


def poll(account):
    result = ingest.poll_account(account.pk)
    assert result.error == ""
    return result


def only_message(account, subject):
    return Message.objects.get(account=account, subject=subject)


def read(name):
    with default_storage.open(name, "rb") as f:
        return f.read()


def test_move_files_new_mail_into_an_existing_own_folder(alice, dovecot, pop3_user):
    clients = UserFolder.objects.create(owner=alice, name="Clients")
    acme = UserFolder.objects.create(owner=alice, parent=clients, name="ACME")
    add_rule(alice, "ACME", [("from", "contains", "acme.example")], [("move", "Clients/ACME")])
    pop3_user.deliver(wire("Invoice 7", sender="Billing <billing@acme.example>"))
    pop3_user.deliver(wire("Lunch?", sender="Bob <bob@example.test>"))
    account = dovecot_account(alice, dovecot, pop3_user)

    assert poll(account).new == 2

    invoice = only_message(account, "Invoice 7")
    assert (invoice.folder, invoice.user_folder) == (Folder.USER, acme)
    assert only_message(account, "Lunch?").folder == Folder.INBOX


def test_move_to_a_missing_folder_creates_it(alice, dovecot, pop3_user):
    add_rule(alice, "News", [("subject", "contains", "weekly")], [("move", "Reading/News")])
    pop3_user.deliver(wire("The weekly digest"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    message = only_message(account, "The weekly digest")
    news = UserFolder.objects.get(owner=alice, name="News")
    assert news.parent.name == "Reading" and news.parent.parent is None
    assert (message.folder, message.user_folder) == (Folder.USER, news)


def test_move_to_archive_uses_the_system_folder(alice, dovecot, pop3_user):
    add_rule(alice, "Receipts", [("subject", "matches", "Receipt *")], [("move", "Archive")])
    pop3_user.deliver(wire("Receipt 2026-12"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    message = only_message(account, "Receipt 2026-12")
    assert (message.folder, message.user_folder) == (Folder.ARCHIVE, None)
    assert not UserFolder.objects.filter(owner=alice).exists()


def test_mark_read_and_flag(alice, dovecot, pop3_user):
    add_rule(alice, "Boss", [("from", "is", "boss@example.test")], [("mark_read",), ("flag",)])
    pop3_user.deliver(wire("Status?", sender="The Boss <boss@example.test>"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    message = only_message(account, "Status?")
    assert (message.folder, message.seen, message.flagged) == (Folder.INBOX, True, True)


def test_trash_puts_it_in_trash_and_restore_brings_it_to_the_inbox(alice, dovecot, pop3_user):
    add_rule(alice, "Spammy", [("subject", "contains", "WIN BIG")], [("trash",)])
    pop3_user.deliver(wire("win big today"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    message = only_message(account, "win big today")
    assert (message.folder, message.trashed_from) == (Folder.TRASH, Folder.INBOX)
    actions.restore(alice, [message.pk])
    message.refresh_from_db()
    assert message.folder == Folder.INBOX


def test_forward_queues_the_unchanged_message_with_loop_guards(alice, dovecot, pop3_user):
    add_rule(alice, "To phone", [("subject", "contains", "urgent")], [("forward", "me@phone.test")])
    delivered = pop3_user.deliver(wire("Urgent: server down"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    message = only_message(account, "Urgent: server down")
    assert read(message.raw_file.name) == delivered.wire  # the stored original is untouched
    queued = Outgoing.objects.get(owner=alice)
    assert (queued.status, queued.recipients, queued.envelope_from) == (
        OutgoingStatus.QUEUED,
        ["me@phone.test"],
        account.email,
    )
    sent = read(queued.raw_file.name)
    head, _, rest = sent.partition(b"Auto-Submitted: auto-generated\r\n")
    assert b"Resent-To: me@phone.test\r\n" in head
    assert b"Resent-From: " + account.email.encode() in head
    assert rest == f"X-Loop: {loop_token(alice.pk)}\r\n".encode() + delivered.wire


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ([("Auto-Submitted", "auto-replied")], "Robot <robot@example.test>"),
        ([("X-Loop", "LOOP")], "Someone <someone@example.test>"),
        ([], "Me <me@phone.test>"),
    ],
    ids=["auto-submitted", "x-loop", "target-is-the-sender"],
)
def test_forward_guards_refuse_loops_and_auto_replies(alice, dovecot, pop3_user, headers, sender):
    headers = [(name, value.replace("LOOP", loop_token(alice.pk))) for name, value in headers]
    add_rule(alice, "Everything", [], [("forward", "me@phone.test"), ("flag",)])
    pop3_user.deliver(wire("Out of office", sender=sender, headers=headers))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    assert only_message(account, "Out of office").flagged  # the rule ran...
    assert not Outgoing.objects.exists()  # ...but forwarded nothing


def test_rules_run_in_order_and_the_first_move_wins(alice, dovecot, pop3_user):
    add_rule(alice, "first", [("subject", "contains", "report")], [("move", "Reports")])
    add_rule(alice, "second", [("subject", "contains", "report")], [("move", "Archive"), ("flag",)])
    pop3_user.deliver(wire("Monthly report"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    message = only_message(account, "Monthly report")
    assert message.user_folder.name == "Reports"
    assert message.flagged  # later rules still add their flags


def test_stop_ends_processing_of_later_rules(alice, dovecot, pop3_user):
    add_rule(alice, "first", [("subject", "contains", "report")], [("mark_read",)], stop=True)
    add_rule(alice, "second", [("subject", "contains", "report")], [("flag",)])
    add_rule(alice, "off", [], [("trash",)], enabled=False)
    pop3_user.deliver(wire("Monthly report"))
    pop3_user.deliver(wire("Something else"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    report = only_message(account, "Monthly report")
    assert (report.seen, report.flagged, report.folder) == (True, False, Folder.INBOX)
    other = only_message(account, "Something else")
    assert (other.seen, other.flagged, other.folder) == (False, False, Folder.INBOX)


def test_rules_of_another_user_do_not_apply(alice, bob, dovecot, pop3_user):
    add_rule(bob, "bob's", [], [("trash",)])
    pop3_user.deliver(wire("For alice"))
    account = dovecot_account(alice, dovecot, pop3_user)

    poll(account)

    assert only_message(account, "For alice").folder == Folder.INBOX


@pytest.mark.parametrize("where", ["attachments", "forward"])
def test_a_crash_before_commit_leaves_nothing_and_the_next_poll_filters_once(
    alice, dovecot, pop3_user, monkeypatch, where
):
    add_rule(
        alice,
        "Invoices",
        [("subject", "contains", "invoice")],
        [("move", "Invoices"), ("forward", "books@example.test")],
    )
    pop3_user.deliver(wire("Invoice 8"))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    real_queue = outbox.queue_redirect

    def queue_then_die(*args, **kwargs):
        real_queue(*args, **kwargs)  # the forward row is written...
        raise RuntimeError("worker killed")  # ...and the transaction never commits

    def bulk_create_dies(*args, **kwargs):
        raise RuntimeError("database went away")

    if where == "forward":
        monkeypatch.setattr(outbox, "queue_redirect", queue_then_die)
    else:
        monkeypatch.setattr(Attachment.objects, "bulk_create", bulk_create_dies)
    with pytest.raises(RuntimeError):
        ingest.poll_account(account.pk)

    assert not Message.objects.filter(account=account).exists()
    assert not Outgoing.objects.exists()
    assert pop3_user.server_message_count() == 1  # still on the server

    monkeypatch.undo()
    assert poll(account).new == 1
    assert poll(account).new == 0

    message = only_message(account, "Invoice 8")
    assert message.user_folder.name == "Invoices"
    assert list(Outgoing.objects.values_list("recipients", flat=True)) == [["books@example.test"]]
    assert pop3_user.server_message_count() == 0


def test_trash_from_an_accounts_own_delivery_folder_restores_there(alice, dovecot, pop3_user):
    from mailbox.models import AccountDelivery

    account = dovecot_account(alice, dovecot, pop3_user)
    work = UserFolder.objects.create(owner=alice, name="Work")
    AccountDelivery.objects.create(account=account, folder=work)
    add_rule(alice, "Noise", [("subject", "contains", "noise")], [("trash",)])
    pop3_user.deliver(wire("Noise again"))
    pop3_user.deliver(wire("Real work"))

    poll(account)

    assert only_message(account, "Real work").user_folder == work
    noise = only_message(account, "Noise again")
    assert (noise.folder, noise.trashed_from, noise.user_folder) == (
        Folder.TRASH,
        Folder.USER,
        work,
    )
    actions.restore(alice, [noise.pk])
    noise.refresh_from_db()
    assert (noise.folder, noise.user_folder) == (Folder.USER, work)


def test_a_move_to_inbox_overrides_the_accounts_delivery_folder(alice, dovecot, pop3_user):
    from mailbox.models import AccountDelivery

    account = dovecot_account(alice, dovecot, pop3_user)
    AccountDelivery.objects.create(
        account=account, folder=UserFolder.objects.create(owner=alice, name="Side")
    )
    add_rule(alice, "Boss", [("from", "contains", "boss@")], [("move", "INBOX")])
    pop3_user.deliver(wire("See me", sender="boss@example.test"))

    poll(account)

    message = only_message(account, "See me")
    assert (message.folder, message.user_folder) == (Folder.INBOX, None)


def test_a_forward_reaches_the_smtp_server_after_the_poll_commits(
    alice, dovecot, pop3_user, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = dovecot_account(
        alice,
        dovecot,
        pop3_user,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )
    add_rule(alice, "All to phone", [], [("forward", "me@phone.test")])
    delivered = pop3_user.deliver(wire("Ping"))

    with django_capture_on_commit_callbacks(execute=True):
        poll(account)

    [received] = server.delivered
    assert (received.mail_from, received.rcpt_tos) == (account.email, ["me@phone.test"])
    assert received.data.endswith(delivered.wire)
    assert f"X-Loop: {loop_token(alice.pk)}\r\n".encode() in received.data
    assert Outgoing.objects.get().status == OutgoingStatus.SENT


def test_a_poll_reads_the_owners_arrival_settings_once_not_once_per_message(
    alice, dovecot, pop3_user
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mailbox.models import BlockedSender
    from rules.models import VacationReply

    add_rule(alice, "ACME", [("from", "contains", "acme.example")], [("flag",)])
    BlockedSender.objects.create(owner=alice, address="@spam.example")
    for n in range(4):
        pop3_user.deliver(wire(f"Invoice {n}", sender="Billing <billing@acme.example>"))
    pop3_user.deliver(wire("Win", sender="x@spam.example"))
    account = dovecot_account(alice, dovecot, pop3_user)
    VacationReply.objects.create(account=account, enabled=False, subject="Away", body="Away")

    with CaptureQueriesContext(connection) as captured:
        assert poll(account).new == 5

    def reads(table: str) -> int:
        return sum(
            1 for q in captured if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
        )

    assert reads("rules_rule") == 1
    assert reads("mailbox_blockedsender") == 1
    assert reads("mailbox_accountdelivery") == 1
    assert reads("rules_vacationreply") == 1
    # And what they decide still holds for every message.
    assert Message.objects.filter(account=account, flagged=True).count() == 4
    assert only_message(account, "Win").folder == Folder.JUNK
