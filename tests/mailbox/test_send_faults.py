"""Sending under faults: a real SMTP server (aiosmtpd) behind a proxy whose faults the
test controls (testkit.smtp_faults): refused, a reply injected at a command, a cut at a
command, a held reply. Each retryable fault is delivered exactly once; a cut or a timeout
after the final dot is one copy at the server and "Delivery unknown", never resent by
itself. (A worker killed at each step: test_send_worker_faults.py.)"""

import threading
import time
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from mailbox import delivery, leases, outbox, tasks
from mailbox.models import AttemptOutcome, Folder, Message, Outgoing, OutgoingStatus
from testkit.smtp_faults import FaultProxy
from testkit.smtp_servers import free_port
from tests.conftest import make_account


@pytest.fixture
def proxied(smtp_server):
    """(server, proxy): an aiosmtpd server and a fault proxy in front of it."""
    proxies = []

    def start(**server_options):
        server = smtp_server(**server_options)
        proxy = FaultProxy(server.host, server.port)
        proxies.append(proxy)
        return server, proxy

    yield start
    for proxy in proxies:
        proxy.close()


def account_on(user, port, host="127.0.0.1"):
    return make_account(
        user, smtp_host=host, smtp_port=port, smtp_security="none", smtp_login="", smtp_password=""
    )


def queued(account, to="bob@example.test", **fields) -> Outgoing:
    outgoing = Outgoing.objects.create(
        owner=account.user, account=account, to=to, subject="faults", body="hello\n", **fields
    )
    return outbox.queue_for_sending(outgoing)


def due_now(outgoing: Outgoing) -> None:
    """The retry's time has come (instead of waiting for the backoff)."""
    Outgoing.objects.filter(pk=outgoing.pk).update(next_attempt_at=timezone.now())


def state(outgoing: Outgoing) -> Outgoing:
    outgoing.refresh_from_db()
    return outgoing


def attempts(outgoing: Outgoing) -> list[tuple[str, str]]:
    return [(a.step, a.outcome) for a in outgoing.delivery_attempts.all()]


RETRYABLE = [
    # (fault, the step its attempt records)
    (lambda p: p.reply("greeting", "421 4.3.2 Service not available"), "connect"),
    (lambda p: p.cut("greeting"), "connect"),
    (lambda p: p.cut("ehlo"), "ehlo"),
    (lambda p: p.reply("mail", "451 4.3.0 Try again later"), "mail"),
    (lambda p: p.cut("mail"), "mail"),
    (lambda p: p.reply("rcpt", "421 4.7.0 Too many connections"), "rcpt"),
    (lambda p: p.cut("rcpt"), "rcpt"),
    (lambda p: p.reply("data", "451 4.3.0 Local problem"), "data"),
    (lambda p: p.cut("data"), "data"),
]


@pytest.mark.parametrize(("arm", "step"), RETRYABLE)
def test_a_fault_before_the_dot_is_retried_and_delivered_exactly_once(alice, proxied, arm, step):
    server, proxy = proxied()
    arm(proxy)
    outgoing = queued(account_on(alice, proxy.port))

    outbox.deliver(outgoing.pk)
    assert state(outgoing).status == OutgoingStatus.RETRYING
    assert state(outgoing).data_started_at is None
    assert server.delivered == []
    assert attempts(outgoing) == [(step, AttemptOutcome.RETRY)]

    due_now(outgoing)
    assert outbox.deliver(outgoing.pk) == "sent"
    assert len(server.delivered) == 1
    assert state(outgoing).status == OutgoingStatus.SENT
    assert attempts(outgoing)[-1] == ("dot", AttemptOutcome.SENT)


KEPT_SESSION_FAULTS = [
    # (fault on the session kept from the first message, the second message's attempts)
    (lambda p: p.cut("mail"), [("dot", AttemptOutcome.SENT)]),  # a new session at once
    (lambda p: p.reply("mail", "421 4.4.2 Idle too long"), [("dot", AttemptOutcome.SENT)]),
    (lambda p: p.reply("mail", "451 4.3.0 Try again later"), [("mail", AttemptOutcome.RETRY)]),
    (lambda p: p.cut("rcpt"), [("rcpt", AttemptOutcome.RETRY)]),
    (lambda p: p.reply("rcpt", "421 4.7.0 Closing"), [("rcpt", AttemptOutcome.RETRY)]),
    (lambda p: p.cut("data"), [("data", AttemptOutcome.RETRY)]),
    (lambda p: p.reply("data", "451 4.3.0 Local problem"), [("data", AttemptOutcome.RETRY)]),
]


@pytest.mark.parametrize(("arm", "first_attempt"), KEPT_SESSION_FAULTS)
def test_a_fault_on_a_kept_session_still_delivers_each_message_exactly_once(
    alice, proxied, arm, first_attempt
):
    server, proxy = proxied()
    account = account_on(alice, proxy.port)
    first, second = queued(account), queued(account)
    assert outbox.deliver(first.pk) == "sent"
    assert delivery.SMTP_SESSIONS.idle() == 1  # kept for the next message
    arm(proxy)

    outbox.deliver(second.pk)
    assert attempts(second) == first_attempt
    if state(second).status == OutgoingStatus.RETRYING:
        due_now(second)
        assert outbox.deliver(second.pk) == "sent"

    assert state(second).status == OutgoingStatus.SENT
    assert attempts(second)[-1] == ("dot", AttemptOutcome.SENT)
    sent_ids = [
        BytesParser(policy=policy.default).parsebytes(m.data)["Message-ID"].strip("<>")
        for m in server.delivered
    ]
    assert sorted(sent_ids) == sorted([first.message_id, second.message_id])


def test_a_cut_after_the_dot_on_a_kept_session_is_one_copy_and_delivery_unknown(alice, proxied):
    server, proxy = proxied()
    account = account_on(alice, proxy.port)
    first, second = queued(account), queued(account)
    assert outbox.deliver(first.pk) == "sent"
    proxy.cut_after_reply("dot")

    outbox.deliver(second.pk)

    assert state(second).status == OutgoingStatus.UNKNOWN
    assert outbox.due_for_delivery() == []  # never resent by itself
    assert len(server.delivered) == 2 and delivery.SMTP_SESSIONS.idle() == 0


def test_consecutive_messages_of_an_account_share_one_session(alice, proxied):
    server, proxy = proxied()
    account = account_on(alice, proxy.port)
    for outgoing in [queued(account) for _ in range(3)]:
        assert outbox.deliver(outgoing.pk) == "sent"
    assert proxy.steps_seen.count("greeting") == 1
    assert server.verbs().count("MAIL") == 3 and len(server.delivered) == 3


def test_a_refused_connection_is_retried_and_delivered_exactly_once(alice, smtp_server):
    account = account_on(alice, free_port())
    outgoing = queued(account)
    outbox.deliver(outgoing.pk)
    assert state(outgoing).status == OutgoingStatus.RETRYING
    assert attempts(outgoing) == [("connect", AttemptOutcome.RETRY)]

    server = smtp_server()
    account.smtp_port = server.port
    account.save()
    due_now(outgoing)
    assert outbox.deliver(outgoing.pk) == "sent"
    assert len(server.delivered) == 1


def test_451_after_the_dot_is_retried_and_delivered_exactly_once(alice, smtp_server):
    server = smtp_server(data_replies=["451 4.3.0 Queue full"])
    outgoing = queued(account_on(alice, server.port))
    outbox.deliver(outgoing.pk)
    assert state(outgoing).status == OutgoingStatus.RETRYING
    assert attempts(outgoing) == [("dot", AttemptOutcome.RETRY)]
    due_now(outgoing)
    outbox.deliver(outgoing.pk)
    assert len(server.delivered) == 1


def test_a_cut_after_the_dot_is_one_copy_and_delivery_unknown(alice, alice_client, proxied):
    server, proxy = proxied()
    proxy.cut_after_reply("dot")
    outgoing = queued(account_on(alice, proxy.port))

    outbox.deliver(outgoing.pk)
    outgoing = state(outgoing)
    assert outgoing.status == OutgoingStatus.UNKNOWN
    assert len(server.delivered) == 1  # the server did take it
    assert attempts(outgoing) == [("dot", AttemptOutcome.UNKNOWN)]
    # Never resent by itself: not by a redelivered task, not by the sweep.
    assert outbox.deliver(outgoing.pk) == "nothing to do"
    assert outgoing.pk not in outbox.due_for_delivery(timezone.now() + timedelta(hours=1))
    assert len(server.delivered) == 1

    with translation.override("en"):
        text = outgoing.last_error_text
    assert f"the connection to 127.0.0.1:{proxy.port} was lost at" in text
    assert "The server may have accepted it." in text
    page = alice_client.get(reverse("folder", args=[Folder.SENT])).content.decode()
    assert "Delivery unknown" in page and "Send again" in page and "Mark as sent" in page
    with translation.override("ko"):
        korean = state(outgoing).last_error_text
    assert f"127.0.0.1:{proxy.port}" in korean and korean != text


def test_a_timeout_after_the_dot_is_one_copy_and_delivery_unknown(alice, proxied, monkeypatch):
    monkeypatch.setattr(delivery, "SMTP_TIMEOUT", 1.5)
    server, proxy = proxied()
    proxy.hold_reply("dot")
    outgoing = queued(account_on(alice, proxy.port))

    outbox.deliver(outgoing.pk)
    assert state(outgoing).status == OutgoingStatus.UNKNOWN
    assert len(server.delivered) == 1
    [attempt] = state(outgoing).delivery_attempts.all()
    with translation.override("en"):
        assert "did not answer in time" in attempt.reply_text
    assert outbox.deliver(outgoing.pk) == "nothing to do"


def unknown(alice, proxied):
    server, proxy = proxied()
    proxy.cut_after_reply("dot")
    outgoing = queued(account_on(alice, proxy.port))
    outbox.deliver(outgoing.pk)
    assert state(outgoing).status == OutgoingStatus.UNKNOWN
    return server, outgoing


def test_send_again_sends_the_same_bytes_with_the_same_message_id(
    alice, alice_client, proxied, django_capture_on_commit_callbacks
):
    server, outgoing = unknown(alice, proxied)
    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eagerly)
        response = alice_client.post(reverse("send_again", args=[outgoing.pk]))
    assert response.status_code == 302
    assert state(outgoing).status == OutgoingStatus.SENT
    first, second = server.delivered
    assert first.data == second.data  # the same bytes, so the same Message-ID
    parsed = BytesParser(policy=policy.default).parsebytes(second.data)
    assert parsed["Message-ID"].strip("<>") == outgoing.message_id


def test_mark_as_sent_stores_the_sent_copy_and_sends_nothing(alice, alice_client, proxied):
    server, outgoing = unknown(alice, proxied)
    alice_client.post(reverse("mark_as_sent", args=[outgoing.pk]))
    outgoing = state(outgoing)
    assert outgoing.status == OutgoingStatus.SENT
    assert outgoing.sent_message.folder == Folder.SENT
    assert len(server.delivered) == 1
    page = alice_client.get(reverse("read_message", args=[outgoing.sent_message_id]))
    assert "Marked as sent by you for bob@example.test" in page.content.decode()


def test_delivery_page_shows_each_attempt(alice, alice_client, proxied):
    server, proxy = proxied()
    proxy.reply("rcpt", "451 4.7.1 Greylisted, come back later")
    outgoing = queued(account_on(alice, proxy.port))
    outbox.deliver(outgoing.pk)
    due_now(outgoing)
    outbox.deliver(outgoing.pk)

    page = alice_client.get(reverse("outgoing_delivery", args=[outgoing.pk])).content.decode()
    assert "Delivery attempts" in page
    assert "451 4.7.1 Greylisted, come back later" in page
    assert "RCPT TO" in page and "End of message (the final dot)" in page
    assert f"127.0.0.1:{proxy.port}" in page
    assert "250 2.0.0 Ok: queued as Q1" in page
    sent = alice_client.get(reverse("read_message", args=[state(outgoing).sent_message_id]))
    assert "451 4.7.1 Greylisted, come back later" in sent.content.decode()


def test_delivery_pages_and_choices_are_the_owners_only(client, alice, bob, proxied):
    server, outgoing = unknown(alice, proxied)
    client.force_login(bob)
    assert client.get(reverse("outgoing_delivery", args=[outgoing.pk])).status_code == 404
    assert client.post(reverse("send_again", args=[outgoing.pk])).status_code == 404
    assert client.post(reverse("mark_as_sent", args=[outgoing.pk])).status_code == 404
    assert state(outgoing).status == OutgoingStatus.UNKNOWN


def test_send_again_and_mark_as_sent_need_delivery_unknown(alice, alice_client, smtp_server):
    server = smtp_server()
    outgoing = queued(account_on(alice, server.port))
    outbox.deliver(outgoing.pk)
    alice_client.post(reverse("send_again", args=[outgoing.pk]))
    alice_client.post(reverse("mark_as_sent", args=[outgoing.pk]))
    assert len(server.delivered) == 1
    assert state(outgoing).status == OutgoingStatus.SENT


# Per recipient -------------------------------------------------------------------


def rcpts(server) -> list[list[str]]:
    """The RCPT addresses of each session, in order (a MAIL starts a session)."""
    sessions: list[list[str]] = []
    for verb, argument in server.events:
        if verb == "MAIL":
            sessions.append([])
        elif verb == "RCPT":
            sessions[-1].append(argument.split()[0].strip("<>"))
    return sessions


def test_accepted_and_5xx_recipients_are_not_retried(alice, smtp_server):
    server = smtp_server(
        rcpt_replies={
            "gone@example.test": "550 5.1.1 No such user",
            "later@example.test": "451 4.2.0 Try later",
        }
    )
    to = "bob@example.test, gone@example.test, later@example.test"
    outgoing = queued(account_on(alice, server.port), to=to)
    outbox.deliver(outgoing.pk)
    assert state(outgoing).status == OutgoingStatus.RETRYING
    server.rcpt_replies.pop("later@example.test")
    due_now(outgoing)
    outbox.deliver(outgoing.pk)
    assert rcpts(server) == [
        ["bob@example.test", "gone@example.test", "later@example.test"],
        ["later@example.test"],
    ]
    assert [m.rcpt_tos for m in server.delivered] == [["bob@example.test"], ["later@example.test"]]
    assert state(outgoing).status == OutgoingStatus.SENT


def test_a_550_before_a_421_is_not_retried(alice, smtp_server):
    server = smtp_server(
        rcpt_replies={
            "gone@example.test": "550 5.1.1 No such user",
            "busy@example.test": "421 4.7.0 Closing connection",
        }
    )
    to = "gone@example.test, busy@example.test"
    outgoing = queued(account_on(alice, server.port), to=to)
    outbox.deliver(outgoing.pk)
    assert state(outgoing).status == OutgoingStatus.RETRYING
    server.rcpt_replies.pop("busy@example.test")
    due_now(outgoing)
    outbox.deliver(outgoing.pk)
    assert rcpts(server)[-1] == ["busy@example.test"]
    assert [m.rcpt_tos for m in server.delivered] == [["busy@example.test"]]


def test_recipients_refused_before_a_cut_after_the_dot_stay_refused(alice, proxied):
    server, proxy = proxied(rcpt_replies={"gone@example.test": "550 5.1.1 No such user"})
    proxy.cut_after_reply("dot")
    outgoing = queued(account_on(alice, proxy.port), to="bob@example.test, gone@example.test")
    outbox.deliver(outgoing.pk)
    outgoing = state(outgoing)
    assert outgoing.status == OutgoingStatus.UNKNOWN
    assert outgoing.recipient_results["gone@example.test"]["code"] == 550
    assert "bob@example.test" not in outgoing.recipient_results  # unknown: not recorded


# Cancel and "Sending since" ---------------------------------------------------------


def with_attachment(account) -> Outgoing:
    outgoing = Outgoing.objects.create(
        owner=account.user, account=account, to="bob@example.test", subject="cancel me"
    )
    outbox.add_upload(
        outgoing, SimpleUploadedFile("보고서.pdf", b"%PDF-1.4 cancel", "application/pdf")
    )
    return outgoing


def assert_back_in_drafts_with_its_attachment(outgoing: Outgoing) -> None:
    outgoing = state(outgoing)
    assert outgoing.status == OutgoingStatus.DRAFT
    [attachment] = outgoing.attachments.all()
    with attachment.file.open("rb") as f:
        assert f.read() == b"%PDF-1.4 cancel"
    assert outbox.deliver(outgoing.pk) == "nothing to do"  # a task that comes later


@pytest.mark.parametrize("how", ["queued", "retrying", "scheduled"])
def test_cancel_takes_the_message_back_to_drafts_with_its_attachments(alice, alice_client, how):
    account = account_on(alice, free_port())
    outgoing = with_attachment(account)
    send_at = timezone.now() + timedelta(days=1) if how == "scheduled" else None
    outbox.queue_for_sending(outgoing, send_at=send_at)
    Outgoing.objects.filter(pk=outgoing.pk).update(send_after=send_at)
    if how == "retrying":
        outbox.deliver(outgoing.pk)  # nobody listens: retrying
        assert state(outgoing).status == OutgoingStatus.RETRYING
    cancel = "cancel_scheduled" if how == "scheduled" else "cancel_outgoing"
    page = alice_client.get(reverse("folder", args=[Folder.SENT])).content.decode()
    assert reverse(cancel, args=[outgoing.pk]) in page  # the Outbox offers Cancel
    response = alice_client.post(reverse(cancel, args=[outgoing.pk]))
    assert response.status_code == 302
    assert_back_in_drafts_with_its_attachment(outgoing)


def test_the_outbox_says_since_when_a_message_is_sending(alice, alice_client):
    account = account_on(alice, free_port())
    outgoing = queued(account)
    claimed = timezone.now().replace(hour=9, minute=41)
    Outgoing.objects.filter(pk=outgoing.pk).update(
        status=OutgoingStatus.SENDING, claimed_at=claimed, lease_until=timezone.now()
    )
    page = alice_client.get(reverse("folder", args=[Folder.SENT])).content.decode()
    when = timezone.localtime(claimed).strftime("%H:%M")
    assert f"Sending since {when}" in page
    assert reverse("cancel_outgoing", args=[outgoing.pk]) not in page  # a worker holds it


# The lease ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_session_lives(alice, proxied, monkeypatch):
    monkeypatch.setattr(leases, "LEASE_RENEWAL", 0.3)
    monkeypatch.setattr(leases, "SENDING_LEASE", timedelta(seconds=2))
    # Committed here, so the (eager) task would run at once in this thread: the test
    # sends it from another one instead.
    outbox.outgoing_queued.disconnect(tasks.enqueue_delivery)
    try:
        server, proxy = proxied()
        outgoing = queued(account_on(alice, proxy.port))
    finally:
        outbox.outgoing_queued.connect(tasks.enqueue_delivery)
    proxy.hold("mail")

    def send() -> None:
        try:
            outbox.deliver(outgoing.pk)
        finally:
            connection.close()

    sending = threading.Thread(target=send)
    sending.start()
    try:
        assert proxy.reached("mail", timeout=20)
        first = state(outgoing).lease_until
        time.sleep(1.5)
        renewed = state(outgoing).lease_until
        assert renewed > first
        # A sweep meanwhile leaves a live worker's row alone.
        outbox.due_for_delivery()
        assert state(outgoing).status == OutgoingStatus.SENDING
    finally:
        proxy.release()
        sending.join(timeout=30)
    assert state(outgoing).status == OutgoingStatus.SENT
    assert len(server.delivered) == 1


def test_a_sent_message_leaves_no_stale_row(alice, smtp_server):
    server = smtp_server()
    outgoing = queued(account_on(alice, server.port))
    outbox.deliver(outgoing.pk)
    assert Message.objects.filter(owner=alice, folder=Folder.SENT).count() == 1
    assert state(outgoing).data_started_at is None
