"""Vacation replies answer new mail while the owner is away, with every safeguard of
RFC 3834 and Sieve's vacation (RFC 5230): never lists, bulk or machine mail, never the
user's own addresses, only mail visibly addressed to the account, once per sender per
period, within the dates; queued through the outbox (exactly once, no copy in Sent)."""

from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.urls import reverse

from accounts.models import SendAs
from mailbox import ingest, outbox
from mailbox.models import BlockedSender, Folder, Message, Outgoing, OutgoingStatus
from rules import vacation
from rules.models import VacationReply, VacationReplySent
from testkit import mailfactory as mf
from tests.conftest import dovecot_account, make_account
from tests.rules.helpers import add_rule

NOW = datetime(2026, 7, 10, 9, 0, tzinfo=UTC)
SENDER = "sender@example.test"


class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(NOW)
    monkeypatch.setattr(vacation, "now", clock)
    return clock


@pytest.fixture
def account(alice):
    return make_account(alice, display_name="앨리스")


@pytest.fixture
def away(account):
    return VacationReply.objects.create(
        account=account,
        enabled=True,
        subject="",
        body="휴가 중입니다. 7월 20일에 돌아옵니다.\nI am away until 20 July.\n",
        starts_on=date(2026, 7, 1),
        ends_on=date(2026, 7, 31),
        interval_days=7,
    )


_counter = iter(range(10**6))


def wire(
    subject, *, sender="Sender <sender@example.test>", to="Alice <alice@example.test>", headers=()
):
    """A message to the account, with CRLF line endings as a POP3 server sends it."""
    raw = mf.plain(
        subject,
        "안녕하세요.\n",
        from_=sender,
        to=to,
        message_id=f"<{next(_counter)}.vacation@example.test>",
        headers=headers,
    )
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def arrive(account, capture, subject="Question", **kwargs):
    """A message stored by the poll's path (arrival filters run); its queued replies."""
    raw = wire(f"{subject} {next(_counter)}", **kwargs)
    before = set(Outgoing.objects.values_list("pk", flat=True))
    with capture(execute=False):
        message = ingest.store_message(account, raw, f"uidl-{next(_counter)}", on_arrival=True)
    return message, list(Outgoing.objects.exclude(pk__in=before))


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def reply_bytes(outgoing: Outgoing) -> bytes:
    with outgoing.raw_file.open("rb") as f:
        return f.read()


# What goes out ----------------------------------------------------------------------


def test_reply_is_auto_replied_threaded_and_korean_survives(
    account, away, clock, django_capture_on_commit_callbacks
):
    message, [reply] = arrive(account, django_capture_on_commit_callbacks, subject="견적 문의")
    data = reply_bytes(reply)
    assert data.isascii()  # 7-bit clean: Korean as RFC 2047 words and base64/QP body
    msg = parse(data)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Subject"] == f"Re: {message.subject}"
    assert "견적 문의" in msg["Subject"]
    assert msg["In-Reply-To"] == f"<{message.message_id}>"
    assert f"<{message.message_id}>" in msg["References"]
    assert msg["To"].addresses[0].addr_spec == SENDER
    assert msg["From"].addresses[0].addr_spec == account.email
    assert msg["From"].addresses[0].display_name == "앨리스"
    assert "휴가 중입니다" in msg.get_content()
    assert (reply.status, reply.is_rule_forward, reply.is_automatic_reply) == (
        OutgoingStatus.QUEUED,
        True,
        True,
    )
    assert reply.envelope_from == account.email and reply.recipients == [SENDER]


def test_own_subject_in_korean_is_used(account, away, clock, django_capture_on_commit_callbacks):
    away.subject = "부재중 자동 응답"
    away.save()
    _message, [reply] = arrive(account, django_capture_on_commit_callbacks)
    assert parse(reply_bytes(reply))["Subject"] == "부재중 자동 응답"
    assert reply.subject == "부재중 자동 응답"


def test_reply_goes_to_the_return_path_not_from_or_reply_to(
    account, away, clock, django_capture_on_commit_callbacks
):
    headers = [
        ("Return-Path", "<bounces-123@mailer.example.test>"),
        ("Reply-To", "someone-else@example.test"),
    ]
    # A machine-looking return path is refused; a person's envelope address is answered.
    _m, replies = arrive(account, django_capture_on_commit_callbacks, headers=headers)
    assert replies == []
    headers[0] = ("Return-Path", "<kim.envelope@example.test>")
    _m, [reply] = arrive(account, django_capture_on_commit_callbacks, headers=headers)
    assert reply.recipients == ["kim.envelope@example.test"]


def test_empty_return_path_is_never_answered(
    account, away, clock, django_capture_on_commit_callbacks
):
    _m, replies = arrive(
        account, django_capture_on_commit_callbacks, headers=[("Return-Path", "<>")]
    )
    assert replies == []


def test_reply_from_the_alias_the_sender_wrote_to(
    account, away, clock, django_capture_on_commit_callbacks
):
    SendAs.objects.create(account=account, email="sales@example.test", display_name="영업팀")
    raw_to = "Sales <sales@example.test>"
    _m, [reply] = arrive(account, django_capture_on_commit_callbacks, to=raw_to)
    sender = parse(reply_bytes(reply))["From"].addresses[0]
    assert (sender.addr_spec, sender.display_name) == ("sales@example.test", "영업팀")
    assert reply.envelope_from == account.email


# Safeguards ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        [("List-Id", "<team.lists.example.test>")],
        [("List-Unsubscribe", "<mailto:leave@example.test>")],
        [("List-Post", "<mailto:team@lists.example.test>")],
        [("Precedence", "list")],
        [("Precedence", "bulk")],
        [("Precedence", "junk")],
        [("Auto-Submitted", "auto-replied")],
        [("Auto-Submitted", "auto-generated")],
        [("Auto-Submitted", "auto-notified; owner-email=x@example.test")],
        [("X-Auto-Response-Suppress", "OOF, AutoReply")],
    ],
    ids=lambda h: f"{h[0][0]}: {h[0][1]}",
)
def test_lists_bulk_and_automatic_mail_get_no_reply(
    account, away, clock, django_capture_on_commit_callbacks, headers
):
    _m, replies = arrive(account, django_capture_on_commit_callbacks, headers=headers)
    assert replies == []
    assert not VacationReplySent.objects.exists()


def test_auto_submitted_no_is_answered(account, away, clock, django_capture_on_commit_callbacks):
    _m, replies = arrive(
        account, django_capture_on_commit_callbacks, headers=[("Auto-Submitted", "no")]
    )
    assert len(replies) == 1


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@example.test",
        "postmaster@example.test",
        "noreply@shop.example.test",
        "no-reply@shop.example.test",
        "do-not-reply@shop.example.test",
        "team-request@lists.example.test",
        "owner-team@lists.example.test",
    ],
)
def test_machine_senders_get_no_reply(
    account, away, clock, django_capture_on_commit_callbacks, sender
):
    _m, replies = arrive(account, django_capture_on_commit_callbacks, sender=sender)
    assert replies == []


def test_own_addresses_get_no_reply(
    alice, account, away, clock, django_capture_on_commit_callbacks
):
    other = make_account(alice, email="alice.work@example.test")
    SendAs.objects.create(account=other, email="boss@example.test")
    for own in (account.email, other.email, "BOSS@example.test"):
        _m, replies = arrive(account, django_capture_on_commit_callbacks, sender=own)
        assert replies == [], own


def test_only_mail_addressed_to_the_account_in_to_or_cc(
    account, away, clock, django_capture_on_commit_callbacks
):
    # Bcc'd, or through a list that names only itself: no reply.
    _m, replies = arrive(account, django_capture_on_commit_callbacks, to="team@example.test")
    assert replies == []
    _m, replies = arrive(
        account,
        django_capture_on_commit_callbacks,
        to="team@example.test",
        headers=[("Cc", "Alice <ALICE@example.test>")],
    )
    assert len(replies) == 1


def test_once_per_sender_per_interval(account, away, clock, django_capture_on_commit_callbacks):
    _m, first = arrive(account, django_capture_on_commit_callbacks)
    clock.moment = NOW + timedelta(days=6, hours=23)
    _m, second = arrive(account, django_capture_on_commit_callbacks)
    _m, other_sender = arrive(
        account, django_capture_on_commit_callbacks, sender="Kim <kim@example.test>"
    )
    clock.moment = NOW + timedelta(days=7)
    _m, after_interval = arrive(account, django_capture_on_commit_callbacks)
    assert (len(first), len(second), len(other_sender), len(after_interval)) == (1, 0, 1, 1)
    sent = VacationReplySent.objects.get(vacation=away, sender=SENDER)
    assert sent.sent_at == NOW + timedelta(days=7)


def test_claim_is_taken_once_even_by_two_pollers(account, away):
    assert vacation.claim(away, "Kim@Example.test", NOW) is True
    # A second poller that saw no row yet: its INSERT hits the unique constraint.
    assert vacation.claim(away, "kim@example.test", NOW) is False
    assert VacationReplySent.objects.filter(vacation=away).count() == 1


def test_changed_message_answers_everyone_again(
    account, away, clock, django_capture_on_commit_callbacks
):
    arrive(account, django_capture_on_commit_callbacks)
    away.body = "Back on 25 July."
    vacation.save_vacation(away)
    _m, replies = arrive(account, django_capture_on_commit_callbacks)
    assert len(replies) == 1


@pytest.mark.parametrize(
    ("moment", "answered"),
    [
        (datetime(2026, 6, 30, 14, 59, tzinfo=UTC), False),  # 23:59 on 30 June, Seoul
        (datetime(2026, 6, 30, 15, 0, tzinfo=UTC), True),  # 00:00 on 1 July, Seoul
        (datetime(2026, 7, 31, 14, 59, tzinfo=UTC), True),  # 23:59 on 31 July, Seoul
        (datetime(2026, 7, 31, 15, 0, tzinfo=UTC), False),  # 1 August, Seoul
    ],
)
def test_dates_are_days_in_the_users_time_zone(
    alice, account, away, clock, django_capture_on_commit_callbacks, moment, answered
):
    alice.time_zone = "Asia/Seoul"
    alice.save()
    clock.moment = moment
    _m, replies = arrive(account, django_capture_on_commit_callbacks)
    assert bool(replies) is answered


def test_disabled_vacation_sends_nothing(account, away, clock, django_capture_on_commit_callbacks):
    away.enabled = False
    away.save()
    _m, replies = arrive(account, django_capture_on_commit_callbacks)
    assert replies == []


def test_blocked_senders_and_mail_for_junk_get_no_reply(
    alice, account, away, clock, django_capture_on_commit_callbacks
):
    BlockedSender.objects.create(owner=alice, address=SENDER)
    message, replies = arrive(account, django_capture_on_commit_callbacks)
    assert (message.folder, replies) == (Folder.JUNK, [])
    BlockedSender.objects.all().delete()
    add_rule(alice, "Spam words", [("subject", "contains", "Lottery")], [("move", "Junk")])
    message, replies = arrive(account, django_capture_on_commit_callbacks, subject="Lottery")
    assert (message.folder, replies) == (Folder.JUNK, [])


def test_other_accounts_vacation_does_not_answer(
    alice, away, clock, django_capture_on_commit_callbacks
):
    other = make_account(alice, email="alice.work@example.test")
    _m, replies = arrive(other, django_capture_on_commit_callbacks, to="alice.work@example.test")
    assert replies == []


# Delivery ------------------------------------------------------------------------------


def smtp_fields(server):
    return {
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": "none",
        "smtp_login": "",
        "smtp_password": "",
    }


def test_reply_is_delivered_once_without_a_sent_copy_or_collected_contact(
    alice, away, clock, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    MailAccountModel = type(away.account)
    MailAccountModel.objects.filter(pk=away.account_id).update(**smtp_fields(server))
    account = MailAccountModel.objects.get(pk=away.account_id)
    with django_capture_on_commit_callbacks(execute=True):
        ingest.store_message(account, wire("안부"), "uidl-d1", on_arrival=True)
    [received] = server.messages
    assert received.rcpt_tos == [SENDER] and received.mail_from == account.email
    assert b"Auto-Submitted: auto-replied\r\n" in received.data
    reply = Outgoing.objects.get()
    assert reply.status == OutgoingStatus.SENT and reply.sent_message is None
    assert not Message.objects.filter(owner=alice, folder=Folder.SENT).exists()
    assert outbox.deliver(reply.pk) == "nothing to do"
    assert len(server.messages) == 1


@pytest.mark.dovecot
def test_a_real_poll_answers_once(
    alice, dovecot, pop3_user, smtp_server, clock, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = dovecot_account(alice, dovecot, pop3_user, **smtp_fields(server))
    VacationReply.objects.create(account=account, enabled=True, body="부재중입니다.")
    pop3_user.deliver(wire("첫 번째"))
    pop3_user.deliver(wire("두 번째"))
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest.poll_account(account.pk).error == ""
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest.poll_account(account.pk).error == ""  # nothing new: nothing again
    assert Message.objects.filter(owner=alice, folder=Folder.INBOX).count() == 2
    [received] = server.messages
    assert received.rcpt_tos == [SENDER]
    msg = parse(received.data)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert "부재중입니다." in msg.get_content()
    assert Outgoing.objects.get().status == OutgoingStatus.SENT


# Settings page ------------------------------------------------------------------------


def test_settings_page_saves_and_validates(alice_client, account):
    url = reverse("vacation_edit", args=[account.pk])
    assert alice_client.get(url).status_code == 200
    response = alice_client.post(
        url,
        {
            "enabled": "on",
            "subject": "Away\r\nBcc: victim@example.test",
            "body": "",
            "starts_on": "2026-07-10",
            "ends_on": "2026-07-01",
            "interval_days": "0",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"subject", "body", "ends_on", "interval_days"}
    response = alice_client.post(
        url,
        {
            "enabled": "on",
            "subject": "부재중",
            "body": "휴가 중입니다.",
            "starts_on": "2026-07-01",
            "ends_on": "2026-07-31",
            "interval_days": "3",
        },
    )
    assert response.status_code == 302
    saved = VacationReply.objects.get(account=account)
    assert (saved.enabled, saved.subject, saved.interval_days) == (True, "부재중", 3)
    assert saved.ends_on == date(2026, 7, 31)


def test_settings_page_is_linked_from_the_account_list(alice_client, account):
    page = alice_client.get(reverse("account_list")).content.decode()
    assert reverse("vacation_edit", args=[account.pk]) in page


def test_another_users_vacation_is_404(client, bob, account, away):
    client.force_login(bob)
    url = reverse("vacation_edit", args=[account.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"enabled": "", "body": "x", "interval_days": "7"}).status_code == 404
    away.refresh_from_db()
    assert away.enabled is True


def test_outbox_names_a_queued_vacation_reply(
    alice_client, account, away, clock, django_capture_on_commit_callbacks
):
    _m, [reply] = arrive(account, django_capture_on_commit_callbacks)
    page = alice_client.get(reverse("folder", args=[Folder.SENT])).content.decode()
    assert "Vacation reply" in page and "Forwarded by" not in page
    # Removed, not taken back to Drafts: there is nothing the user wrote to edit.
    alice_client.post(reverse("cancel_outgoing", args=[reply.pk]))
    assert not Outgoing.objects.filter(pk=reply.pk).exists()
