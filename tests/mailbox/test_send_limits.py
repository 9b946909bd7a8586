"""Sending limits (issue 18, abuse limits): messages an hour, recipients a message and a
day, bytes waiting to be sent; the server's defaults or the user's own set by an
administrator. Checked when a message is queued, through real SMTP (aiosmtpd): past a
limit the compose page says which one and when it frees up, and nothing is queued or
sent. Rules' forwards and vacation replies count; read receipts do not.

A controllable clock (`clock`) stands in for waiting an hour or a day.
"""

import logging
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from mailbox import ingest, outbox, send_limits, sending, snooze
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from rules.models import VacationReply
from testkit import mailfactory as mf
from tests.mailbox.test_send import compose_post, smtp_account
from tests.rules.helpers import add_rule, wire


class Clock:
    """timezone.now() as the test says (the limits, outbox and views read it)."""

    def __init__(self, monkeypatch):
        # On a minute, so the time a limit frees up is shown as it is.
        self.now = timezone.now().replace(second=0, microsecond=0)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def server(smtp_server):
    return smtp_server()


@pytest.fixture
def account(alice, server):
    return smtp_account(alice, server)


def send(client, account, capture, **data):
    """Press Send on a new message; the task runs after the commit (undo send is off)."""
    with capture(execute=True):
        return compose_post(client, {"account": account.pk, "subject": "Hello", **data})


def sent_ok(response) -> None:
    assert response.status_code == 302, response.content.decode()[:3000]


def refused(response, text: str) -> None:
    """The compose page again, saying `text`; the message stays a draft."""
    assert response.status_code == 200
    page = response.content.decode()
    assert text in page, page[:5000]
    assert Outgoing.objects.latest("id").status == OutgoingStatus.DRAFT


def send_time(when) -> str:
    return snooze.wake_time(when)


# Messages an hour -------------------------------------------------------------------


def test_the_hourly_limit_refuses_the_next_message_and_says_when_it_frees_up(
    alice_client, account, server, clock, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 2
    capture = django_capture_on_commit_callbacks
    first = clock.now
    sent_ok(send(alice_client, account, capture, to="bob@example.test"))
    clock.advance(minutes=10)
    sent_ok(send(alice_client, account, capture, to="bob@example.test"))
    clock.advance(minutes=10)

    response = send(alice_client, account, capture, to="carol@example.test", subject="Third")
    refused(
        response,
        "You have reached your limit of 2 messages an hour. You can send again: "
        + send_time(first + timedelta(hours=1)),
    )
    assert len(server.messages) == 2
    assert Outgoing.objects.filter(status=OutgoingStatus.QUEUED).count() == 0
    draft = Outgoing.objects.get(subject="Third")
    assert draft.to == "carol@example.test"  # what was written is kept in Drafts

    clock.advance(minutes=39)  # 59 minutes after the first: still within the hour
    response = compose_post(
        alice_client, {"account": account.pk, "to": "carol@example.test"}, url=_edit(draft)
    )
    assert response.status_code == 200 and len(server.messages) == 2

    clock.advance(minutes=1)  # the first one is an hour old: one more may go
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {"account": account.pk, "to": "carol@example.test", "subject": "Third"},
            url=_edit(draft),
        )
    sent_ok(response)
    assert len(server.messages) == 3
    assert server.delivered[-1].rcpt_tos == ["carol@example.test"]


def _edit(outgoing) -> str:
    return reverse("compose_edit", args=[outgoing.pk])


def test_the_refusal_is_in_korean_for_a_korean_user(
    alice, alice_client, account, server, clock, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 1
    alice.language = "ko"
    alice.save(update_fields=["language"])
    sent_ok(send(alice_client, account, django_capture_on_commit_callbacks, to="b@example.test"))
    response = send(alice_client, account, django_capture_on_commit_callbacks, to="c@example.test")
    with translation.override("ko"):
        when = send_time(clock.now + timedelta(hours=1))
    refused(response, f"시간당 메시지 한도 1통에 도달했습니다. 다시 보낼 수 있는 시각: {when}")
    assert len(server.messages) == 1


def test_a_message_taken_back_with_undo_does_not_count(
    alice, alice_client, account, server, clock, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 1
    alice.undo_send_seconds = 10
    alice.save(update_fields=["undo_send_seconds"])
    sent_ok(send(alice_client, account, django_capture_on_commit_callbacks, to="b@example.test"))
    waiting = Outgoing.objects.get()
    assert sending.take_back(waiting)  # Undo: a draft again, nothing sent
    sent_ok(send(alice_client, account, django_capture_on_commit_callbacks, to="c@example.test"))
    clock.advance(seconds=10)
    assert outbox.deliver(Outgoing.objects.latest("id").pk) == "sent"
    assert [m.rcpt_tos for m in server.delivered] == [["c@example.test"]]


def test_a_scheduled_message_counts_when_it_is_scheduled(
    alice_client, account, server, clock, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {"account": account.pk, "to": "b@example.test", "send_later": "tomorrow"},
            action="schedule",
        )
    sent_ok(response)
    assert Outgoing.objects.get().scheduled
    response = send(alice_client, account, django_capture_on_commit_callbacks, to="c@example.test")
    refused(response, "You have reached your limit of 1 message an hour.")
    assert server.messages == []


# Recipients ---------------------------------------------------------------------------


def test_too_many_recipients_in_one_message_are_refused_bcc_included(
    alice_client, account, server, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_RECIPIENTS_PER_MESSAGE = 3
    response = send(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="a@example.test, b@example.test",
        cc="c@example.test",
        bcc="d@example.test",
    )
    refused(
        response,
        "This message has 4 recipients, more than the 3 allowed in one message. "
        "Send it to fewer people at a time.",
    )
    assert server.messages == []
    sent_ok(
        send(
            alice_client,
            account,
            django_capture_on_commit_callbacks,
            to="a@example.test, b@example.test",
            bcc="d@example.test",
        )
    )
    assert sorted(server.delivered[0].rcpt_tos) == [
        "a@example.test",
        "b@example.test",
        "d@example.test",
    ]


def test_the_daily_recipient_limit_counts_every_recipient_and_frees_after_a_day(
    alice, alice_client, account, server, clock, django_capture_on_commit_callbacks
):
    alice.recipients_per_day = 5  # the user's own limit, set by an administrator
    alice.save(update_fields=["recipients_per_day"])
    capture = django_capture_on_commit_callbacks
    first = clock.now
    sent_ok(send(alice_client, account, capture, to="a@example.test, b@example.test"))
    clock.advance(hours=2)
    sent_ok(send(alice_client, account, capture, to="c@example.test"))
    clock.advance(hours=2)

    response = send(alice_client, account, capture, to="d@x.test, e@x.test, f@x.test")
    # 3 of 5 used; 3 more need 1 freed: the first message's 2 recipients, a day later.
    refused(
        response,
        "Its 3 recipients would pass your limit of 5 recipients a day (3 in the last 24 "
        "hours). You can send it: " + send_time(first + timedelta(days=1)),
    )
    assert len(server.delivered) == 2
    clock.advance(hours=19, minutes=59)  # 23:59 after the first
    draft = Outgoing.objects.latest("id")
    response = compose_post(
        alice_client,
        {"account": account.pk, "to": "d@x.test, e@x.test, f@x.test"},
        url=_edit(draft),
    )
    assert response.status_code == 200 and len(server.delivered) == 2

    clock.advance(minutes=1)
    with capture(execute=True):
        response = compose_post(
            alice_client,
            {"account": account.pk, "to": "d@x.test, e@x.test, f@x.test"},
            url=_edit(draft),
        )
    sent_ok(response)
    assert sorted(server.delivered[-1].rcpt_tos) == ["d@x.test", "e@x.test", "f@x.test"]


def test_one_message_over_the_daily_limit_is_refused_at_once(
    alice, alice_client, account, server, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_RECIPIENTS_PER_DAY = 2
    response = send(
        alice_client, account, django_capture_on_commit_callbacks, to="a@x.test, b@x.test, c@x.test"
    )
    refused(response, "This message has 3 recipients, more than your limit of 2 recipients a day.")
    assert server.messages == []


# The user's own limits ----------------------------------------------------------------


def test_a_users_own_limit_overrides_the_servers_for_that_user_only(
    alice, bob, alice_client, client, server, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 1
    alice.send_per_hour = 3
    alice.save(update_fields=["send_per_hour"])
    alices = smtp_account(alice, server)
    for n in range(3):
        sent_ok(send(alice_client, alices, django_capture_on_commit_callbacks, to=f"{n}@x.test"))
    refused(
        send(alice_client, alices, django_capture_on_commit_callbacks, to="4@x.test"),
        "limit of 3 messages an hour",
    )

    client.force_login(bob)
    bobs = smtp_account(bob, server)
    sent_ok(send(client, bobs, django_capture_on_commit_callbacks, to="b1@x.test"))
    refused(
        send(client, bobs, django_capture_on_commit_callbacks, to="b2@x.test"),
        "limit of 1 message an hour",
    )
    assert len(server.messages) == 4


def test_a_limit_of_zero_stops_the_users_sending(
    alice, alice_client, account, server, django_capture_on_commit_callbacks
):
    alice.send_per_hour = 0
    alice.save(update_fields=["send_per_hour"])
    response = send(alice_client, account, django_capture_on_commit_callbacks, to="b@x.test")
    refused(response, "Sending is turned off for your account. Ask the administrator.")
    assert server.messages == []


def test_the_admin_sets_a_users_limits_and_sees_their_use(
    client, charlie, alice, alice_client, account, django_capture_on_commit_callbacks
):
    sent_ok(
        send(alice_client, account, django_capture_on_commit_callbacks, to="a@x.test, b@x.test")
    )
    client.force_login(charlie)
    url = reverse("admin:accounts_user_change", args=[alice.pk])
    page = client.get(url).content.decode()
    for field in ("send_per_hour", "recipients_per_message", "recipients_per_day"):
        assert f'name="{field}"' in page
    assert 'name="max_pending_bytes"' in page
    assert "Messages in the last hour: 1 of 100" in page
    assert "Recipients in the last 24 hours: 2 of 1000" in page
    assert "Waiting to be sent: 0" in page

    data = admin_form_data(client.get(url))
    data["send_per_hour"] = "7"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    alice.refresh_from_db()
    assert alice.send_per_hour == 7 and alice.recipients_per_day is None
    assert "Messages in the last hour: 1 of 7" in client.get(url).content.decode()


def admin_form_data(page) -> dict:
    """What the admin's change form would post unchanged: its fields and every inline's."""
    data: dict = {}

    def add(form) -> None:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(field.widget, MultiWidget):
                for i, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{i}"] = "" if part is None else part
            elif value is True:
                data[key] = "on"
            elif value not in (None, False, [], ()):
                data[key] = value

    add(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def test_a_non_staff_user_cannot_see_the_admin_page_of_limits(client, alice, bob):
    client.force_login(bob)
    response = client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    assert response.status_code == 302 and "login" in response.url


# Bytes waiting to be sent -----------------------------------------------------------------


def test_the_pending_bytes_cap_counts_scheduled_messages_until_they_leave(
    alice_client, account, server, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        response = compose_post(
            alice_client,
            {"account": account.pk, "to": "b@x.test", "send_later": "tomorrow"},
            [SimpleUploadedFile("표.bin", b"\x00\xff" * 20_000, "application/octet-stream")],
            action="schedule",
        )
    sent_ok(response)
    scheduled = Outgoing.objects.get()
    settings.WEBMAIL_MAX_PENDING_BYTES = scheduled.size + 30_000

    response = compose_post(
        alice_client,
        {"account": account.pk, "to": "c@x.test"},
        [SimpleUploadedFile("big.bin", b"\x01" * 30_000, "application/octet-stream")],
    )
    refused(response, "Your messages waiting to be sent total ")
    assert "Send it once they have gone, or cancel some in the Outbox." in response.content.decode()
    assert server.messages == []

    assert sending.take_back(scheduled)  # Cancel in the Outbox: a draft, not waiting
    draft = Outgoing.objects.latest("id")
    with capture(execute=True):
        sent_ok(
            compose_post(alice_client, {"account": account.pk, "to": "c@x.test"}, url=_edit(draft))
        )
    assert [m.rcpt_tos for m in server.delivered] == [["c@x.test"]]


def test_one_message_bigger_than_the_pending_cap_is_refused(
    alice_client, account, server, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_MAX_PENDING_BYTES = 10_000
    response = compose_post(
        alice_client,
        {"account": account.pk, "to": "c@x.test"},
        [SimpleUploadedFile("big.bin", b"\x01" * 20_000, "application/octet-stream")],
    )
    refused(response, "more than the 9.8\xa0KB your messages waiting to be sent may total.")
    assert server.messages == []


# Automatic mail ---------------------------------------------------------------------------


def test_a_rules_forward_counts_and_past_the_limit_is_not_queued_but_the_mail_arrives(
    alice, alice_client, account, server, settings, caplog, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 2
    add_rule(alice, "All to phone", [], [("forward", "me@phone.test")])
    with django_capture_on_commit_callbacks(execute=True):
        ingest.store_message(account, wire("One"), "uidl-1", on_arrival=True)
    assert [d.rcpt_tos for d in server.delivered] == [["me@phone.test"]]
    sent_ok(send(alice_client, account, django_capture_on_commit_callbacks, to="b@x.test"))

    with caplog.at_level(logging.WARNING, logger="webmail.ops"):
        with django_capture_on_commit_callbacks(execute=True):
            message = ingest.store_message(account, wire("Two"), "uidl-2", on_arrival=True)
    assert message is not None
    assert Message.objects.filter(owner=alice, folder=Folder.INBOX).count() == 2
    assert Outgoing.objects.filter(is_rule_forward=True).count() == 1  # the first only
    assert len(server.delivered) == 2
    [record] = [r for r in caplog.records if getattr(r, "ops", {}).get("event") == "send_limit"]
    assert record.ops == {
        "event": "send_limit",
        "user": alice.pk,
        "account": account.pk,
        "message": "forward",
        "limit": "per_hour",
    }


def test_a_vacation_reply_past_the_limit_is_not_sent_and_not_claimed(
    alice, alice_client, account, server, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 1
    today = timezone.localdate()
    VacationReply.objects.create(
        account=account,
        enabled=True,
        body="휴가 중입니다.\n",
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=1),
        interval_days=7,
    )
    sent_ok(send(alice_client, account, django_capture_on_commit_callbacks, to="b@x.test"))
    raw = mf.plain(
        "Question",
        "Hello\n",
        from_="Sender <sender@example.test>",
        to="alice@example.test",
        message_id="<q1@example.test>",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest.store_message(account, raw, "uidl-q1", on_arrival=True) is not None
    assert not Outgoing.objects.filter(is_rule_forward=True).exists()
    assert len(server.messages) == 1
    assert not account.vacation_reply.sent.exists()  # the next message may be answered


def test_read_receipts_neither_count_nor_are_refused(
    alice_client, account, server, settings, django_capture_on_commit_callbacks
):
    settings.WEBMAIL_SEND_PER_HOUR = 1
    sent_ok(send(alice_client, account, django_capture_on_commit_callbacks, to="b@x.test"))
    raw = mf.plain(
        "Please confirm",
        "Hello\n",
        from_="Sender <sender@example.test>",
        to="alice@example.test",
        message_id="<rr1@example.test>",
        headers=[("Disposition-Notification-To", "sender@example.test")],
    )
    message = ingest.store_message(account, raw, "uidl-rr1")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("send_read_receipt", args=[message.pk]))
    assert response.status_code == 302
    assert Outgoing.objects.get(is_read_receipt=True).status == OutgoingStatus.SENT
    assert server.delivered[-1].rcpt_tos == ["sender@example.test"]


# Unit: counting ---------------------------------------------------------------------------


def test_usage_counts_what_left_the_drafts_in_the_window(alice, account, clock):
    now = clock.now

    def row(status, minutes_ago, recipients, size=100, **fields):
        return Outgoing.objects.create(
            owner=alice,
            account=account,
            status=status,
            queued_at=now - timedelta(minutes=minutes_ago),
            recipients=recipients,
            size=size,
            **fields,
        )

    row(OutgoingStatus.SENT, 30, ["a@x", "b@x"])
    row(OutgoingStatus.QUEUED, 10, ["c@x"], size=1000)
    row(OutgoingStatus.FAILED, 90, ["d@x", "e@x", "f@x"])
    row(OutgoingStatus.SENT, 60 * 25, ["old@x"])  # over a day ago
    row(OutgoingStatus.DRAFT, 5, ["undone@x"])  # taken back: a draft again
    row(OutgoingStatus.SENT, 5, ["rr@x"], is_read_receipt=True)
    used = send_limits.usage(alice)
    assert (used.last_hour, used.last_day, used.pending_bytes) == (2, 6, 1000)


def test_the_check_locks_the_owners_row_so_concurrent_sends_are_counted_in_turn(alice):
    """Two sends at once: the second check waits for the first one's transaction (FOR NO
    KEY UPDATE on the user's row: rows that refer to the user can still be written)."""
    with CaptureQueriesContext(connection) as queries:
        send_limits.check(alice.pk, recipients=1, size=10)
    if connection.features.has_select_for_update:
        assert any("FOR NO KEY UPDATE" in q["sql"] for q in queries.captured_queries)
    else:  # SQLite has no row locks: each transaction takes the write lock at its BEGIN
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_queueing_locks_the_owners_row_with_the_drafts_in_one_statement(alice, account):
    """queue_for_sending reads the draft and its owner (with the limits) in one statement,
    which locks both rows (FOR NO KEY UPDATE where the database has row locks): the check
    needs no query of its own to lock the owner, and concurrent sends still count in turn."""
    draft = Outgoing.objects.create(owner=alice, account=account, to="bob@example.test")
    with CaptureQueriesContext(connection) as queries:
        outbox.queue_for_sending(draft)
    owner_reads = [q["sql"] for q in queries.captured_queries if '"accounts_user"' in q["sql"]]
    assert len(owner_reads) == 1
    assert '"mailbox_outgoing"' in owner_reads[0]  # the draft's row, in the same statement
    if connection.features.has_select_for_update_of:
        assert 'FOR NO KEY UPDATE OF "mailbox_outgoing", "accounts_user"' in owner_reads[0]
