"""A rule's forward is an automatic redirect, not mail the user wrote: like Gmail's
auto-forward it leaves no copy in Sent. It keeps every outbox guarantee (bytes and row
before the task, one claim, retries, exactly once), and a failure stays where the user
sees it: the Outbox in Sent, labelled with the rule, and a notice on the Rules page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mailbox import ingest, outbox
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from rules.filtering import loop_token
from tests.conftest import dovecot_account, make_account
from tests.rules.helpers import add_rule, wire

TARGET = "me@phone.test"


def smtp_account(user, server, **fields):
    return make_account(
        user,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
        **fields,
    )


def queue_forward(account, subject="Ping", rule_name="All to phone"):
    return outbox.queue_redirect(
        account, wire(subject), TARGET, subject=subject, rule_name=rule_name
    )


def make_due(outgoing):
    Outgoing.objects.filter(pk=outgoing.pk).update(next_attempt_at=timezone.now())


@pytest.mark.dovecot
def test_a_polled_forward_is_delivered_once_and_leaves_nothing_in_sent(
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
    add_rule(alice, "All to phone", [], [("forward", TARGET)])
    delivered = pop3_user.deliver(wire("Ping"))

    with django_capture_on_commit_callbacks(execute=True):
        assert ingest.poll_account(account.pk).error == ""

    [received] = server.delivered
    assert received.rcpt_tos == [TARGET]
    assert received.data.endswith(delivered.wire)
    assert f"X-Loop: {loop_token(alice.pk)}\r\n".encode() in received.data
    forward = Outgoing.objects.get()
    assert (forward.status, forward.is_rule_forward, forward.rule_name) == (
        OutgoingStatus.SENT,
        True,
        "All to phone",
    )
    assert forward.sent_at is not None and forward.sent_message is None
    assert not Message.objects.filter(owner=alice, folder=Folder.SENT).exists()
    # The received message itself is in the Inbox, once.
    assert Message.objects.filter(owner=alice).count() == 1
    # A redelivered task finds the row claimed and sent: nothing goes out again.
    assert outbox.deliver(forward.pk) == "nothing to do"
    assert len(server.delivered) == 1


def test_the_row_and_bytes_exist_before_the_task_is_queued(
    alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    with django_capture_on_commit_callbacks() as callbacks:
        forward = queue_forward(account)
    assert callbacks  # the task is announced only after the commit
    forward.refresh_from_db()
    assert forward.status == OutgoingStatus.QUEUED and forward.is_rule_forward
    assert forward.raw_file.read().endswith(wire("Ping"))


def test_a_temporary_failure_retries_and_then_sends_once_without_a_sent_copy(alice, smtp_server):
    server = smtp_server(rcpt_replies={TARGET: "450 4.2.0 Mailbox busy"})
    account = smtp_account(alice, server)
    forward = queue_forward(account)

    assert outbox.deliver(forward.pk).startswith("retrying")
    forward.refresh_from_db()
    assert forward.status == OutgoingStatus.RETRYING and forward.sent_at is None

    server.rcpt_replies.clear()
    make_due(forward)
    assert outbox.deliver(forward.pk).startswith("sent")
    forward.refresh_from_db()
    assert forward.status == OutgoingStatus.SENT and forward.sent_message is None
    assert len(server.delivered) == 1
    assert not Message.objects.filter(owner=alice, folder=Folder.SENT).exists()


def test_a_users_own_send_still_goes_to_sent(alice, smtp_server):
    """The same delivery code, for a message the user wrote: its Sent copy is kept."""
    account = smtp_account(alice, smtp_server())
    draft = Outgoing.objects.create(
        owner=alice, account=account, to="bob@example.test", subject="Hi", body="Hello."
    )
    outbox.queue_for_sending(draft)

    assert outbox.deliver(draft.pk).startswith("sent")
    draft.refresh_from_db()
    assert draft.sent_message.folder == Folder.SENT


@pytest.fixture
def failed_forward(alice, smtp_server):
    server = smtp_server(rcpt_replies={TARGET: "550 5.1.1 No such user"})
    account = smtp_account(alice, server)
    forward = queue_forward(account, subject="Server down", rule_name="Alerts to phone")
    assert outbox.deliver(forward.pk).startswith("failed")
    forward.refresh_from_db()
    assert forward.status == OutgoingStatus.FAILED
    return forward


def test_a_failed_forward_is_in_the_outbox_labelled_with_its_rule(alice_client, failed_forward):
    page = alice_client.get(reverse("folder", args=["sent"])).content.decode()
    outbox_section = page[page.index('id="outbox-title"') :]

    assert "Forwarded by rule “Alerts to phone”" in outbox_section
    assert "Server down" in outbox_section
    assert "550 5.1.1 No such user" in outbox_section
    # Nothing to edit: no link to the compose page, a Remove button instead.
    assert f'href="{reverse("compose_edit", args=[failed_forward.pk])}"' not in outbox_section
    assert ">Remove</button>" in outbox_section
    assert "Edit and resend" not in outbox_section


def test_the_rules_page_says_a_forward_failed(alice_client, failed_forward):
    page = alice_client.get(reverse("rule_list")).content.decode()

    assert "1 forward by your rules could not be delivered." in page
    assert reverse("folder", args=["sent"]) in page


def test_remove_takes_a_failed_forward_out_of_the_outbox_and_never_makes_a_draft(
    alice, alice_client, failed_forward
):
    assert not outbox.cancel(failed_forward)  # a forward never becomes a draft

    response = alice_client.post(reverse("cancel_outgoing", args=[failed_forward.pk]))

    assert response["Location"] == reverse("folder", args=["sent"])
    assert not Outgoing.objects.filter(pk=failed_forward.pk).exists()
    page = alice_client.get(reverse("rule_list")).content.decode()
    assert "could not be delivered" not in page


def test_remove_refuses_a_forward_being_sent(alice_client, failed_forward):
    Outgoing.objects.filter(pk=failed_forward.pk).update(status=OutgoingStatus.SENDING)

    alice_client.post(reverse("cancel_outgoing", args=[failed_forward.pk]))

    assert Outgoing.objects.filter(pk=failed_forward.pk).exists()


def test_someone_elses_forward_cannot_be_removed(client, bob, failed_forward):
    client.force_login(bob)
    response = client.post(reverse("cancel_outgoing", args=[failed_forward.pk]))
    assert response.status_code == 404
    assert Outgoing.objects.filter(pk=failed_forward.pk).exists()


def test_a_task_for_a_removed_forward_does_nothing(alice, smtp_server):
    server = smtp_server()
    forward = queue_forward(smtp_account(alice, server))
    assert outbox.dismiss(forward)

    assert outbox.deliver(forward.pk) == "nothing to do"
    assert server.delivered == []


def test_a_stuck_forward_is_swept_like_any_send(alice, smtp_server):
    """A worker that died after the final dot: Delivery unknown, visible, not resent."""
    forward = queue_forward(smtp_account(alice, smtp_server()))
    long_ago = timezone.now() - timedelta(hours=1)
    Outgoing.objects.filter(pk=forward.pk).update(
        status=OutgoingStatus.SENDING, claimed_at=long_ago, data_started_at=long_ago
    )

    assert forward.pk not in outbox.due_for_delivery()
    forward.refresh_from_db()
    assert forward.status == OutgoingStatus.UNKNOWN
