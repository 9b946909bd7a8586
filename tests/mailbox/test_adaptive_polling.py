"""Adaptive polling: idle accounts back off to a ceiling, new mail brings them back,
"Check mail now" polls at once, the settings page says when the next check is due, and
the dispatcher claims due accounts in a fixed number of queries, each once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts import poll_schedule
from accounts.models import MailAccount
from mailbox import ingest
from mailbox.models import Message
from testkit.mailfactory import mail
from tests.conftest import make_account, make_user

MIN = timedelta(minutes=1)


def wire(raw: bytes) -> bytes:
    """A message with CRLF line endings, as a POP3 server sends it."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.parametrize(
    ("minutes", "idle_days", "expected_minutes"),
    [
        (5, 0, 5),
        (5, 1, 10),
        (5, 2, 20),
        (5, 3, 40),
        (5, 4, 60),  # the ceiling
        (5, 400, 60),
        (1, 5, 32),
        (1, 6, 60),
        (120, 9, 120),  # a longer interval of the user's own is kept, never stretched
    ],
)
def test_each_idle_day_doubles_the_interval_up_to_the_ceiling(minutes, idle_days, expected_minutes):
    now = timezone.now()
    idle_since = now - timedelta(days=idle_days, hours=1)
    assert poll_schedule.poll_interval(minutes, idle_since, now) == expected_minutes * MIN


def test_part_of_a_day_without_mail_is_no_backoff():
    now = timezone.now()
    assert poll_schedule.poll_interval(5, now - timedelta(hours=23), now) == 5 * MIN
    assert poll_schedule.poll_interval(5, None, now) == 5 * MIN


def pop3_account(user, server, **fields):
    return make_account(
        user,
        pop3_host=server.host,
        pop3_port=server.port,
        pop3_security="none",
        pop3_login=server.username,
        pop3_password=server.password,
        **fields,
    )


def idle_for(account, days: int) -> None:
    past = timezone.now() - timedelta(days=days, minutes=5)
    MailAccount.objects.filter(pk=account.pk).update(created_at=past, last_mail_at=past)


def test_a_poll_of_an_idle_account_schedules_the_next_one_later(alice, fake_pop3):
    account = pop3_account(alice, fake_pop3([]))
    idle_for(account, 3)

    ingest.poll_account(account.pk)

    account.refresh_from_db()
    wait = account.next_poll_at - account.last_poll_at
    assert wait == 40 * MIN


def test_new_mail_brings_an_idle_account_back_to_its_interval(alice, fake_pop3):
    account = pop3_account(alice, fake_pop3([wire(mail(subject="hello again"))], ["u1"]))
    idle_for(account, 10)

    assert ingest.poll_account(account.pk).new == 1

    account.refresh_from_db()
    assert account.last_mail_at == account.last_poll_at
    assert account.next_poll_at - account.last_poll_at == 5 * MIN


def test_a_new_account_without_mail_backs_off_from_its_creation(alice, fake_pop3):
    account = pop3_account(alice, fake_pop3([]))
    MailAccount.objects.filter(pk=account.pk).update(
        created_at=timezone.now() - timedelta(days=2, minutes=5)
    )

    ingest.poll_account(account.pk)

    account.refresh_from_db()
    assert account.last_mail_at is None
    assert account.next_poll_at - account.last_poll_at == 20 * MIN


def test_check_mail_now_polls_a_backed_off_account_at_once(
    alice_client, alice, bob, fake_pop3, django_capture_on_commit_callbacks
):
    server = fake_pop3([wire(mail(subject="not in an hour"))], ["u1"])
    account = pop3_account(alice, server)
    idle_for(account, 30)
    MailAccount.objects.filter(pk=account.pk).update(next_poll_at=timezone.now() + 55 * MIN)
    outsider = make_account(bob)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("check_mail"))

    assert response.status_code == 302
    assert Message.objects.get(account=account).subject == "not in an hour"
    outsider.refresh_from_db()
    assert outsider.last_poll_at is None  # only the user's own accounts


def test_settings_page_says_when_the_next_check_is_due(alice_client, alice, bob):
    due = make_account(alice, email="due@example.test")  # never polled: due now
    later = make_account(alice, email="later@example.test")
    idle_for(later, 3)
    MailAccount.objects.filter(pk=later.pk).update(next_poll_at=timezone.now() + 30 * MIN)
    off = make_account(alice, email="off@example.test", enabled=False)
    make_account(bob, email="bobs@example.test")

    html = alice_client.get(reverse("account_list")).content.decode()

    def card(account) -> str:
        start = html.index(f'aria-labelledby="acct-{account.pk}"')
        return html[start : html.index("</section>", start)]

    assert html.count("Next check") == 3
    assert "within a minute" in card(due) and "while no new mail arrives" not in card(due)
    assert "every 40 min while no new mail arrives" in card(later)
    assert "none: the account is disabled" in card(off)
    assert "bobs@example.test" not in html


def test_next_check_text_in_korean(client, alice):
    alice.language = "ko"
    alice.save()
    account = make_account(alice)
    idle_for(account, 3)
    MailAccount.objects.filter(pk=account.pk).update(next_poll_at=timezone.now() + 30 * MIN)
    client.force_login(alice)

    with translation.override("ko"):
        html = client.get(reverse("account_list"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    assert "다음 확인" in html
    assert "새 메일이 없는 동안 40분마다" in html


def test_next_check_says_checking_now_while_a_poll_runs(alice_client, alice):
    account = make_account(alice)
    MailAccount.objects.filter(pk=account.pk).update(poll_lock_until=timezone.now() + 5 * MIN)
    html = alice_client.get(reverse("account_list")).content.decode()
    assert "checking now" in html


# The dispatcher -------------------------------------------------------------------


def test_dispatcher_queries_do_not_grow_with_the_due_accounts(alice):
    def claim_queries(count: int, offset: int) -> int:
        for i in range(count):
            make_account(alice, email=f"a{offset + i}@example.test")
        with CaptureQueriesContext(connection) as queries:
            claimed = ingest.due_account_ids()
        assert len(claimed) == count
        return len(queries)

    assert claim_queries(3, 0) == claim_queries(40, 100)


def test_dispatcher_pushes_each_claimed_account_by_its_own_interval(alice):
    one = make_account(alice, email="one@example.test", poll_interval=1)
    thirty = make_account(alice, email="thirty@example.test", poll_interval=30)
    now = timezone.now()

    assert sorted(ingest.due_account_ids(now)) == sorted([one.pk, thirty.pk])

    one.refresh_from_db()
    thirty.refresh_from_db()
    assert one.next_poll_at == now + MIN
    assert thirty.next_poll_at == now + 30 * MIN


@pytest.mark.django_db(transaction=True)
def test_racing_dispatchers_claim_each_due_account_once():
    user = make_user("alice")
    accounts = [make_account(user, email=f"r{i}@example.test") for i in range(60)]
    barrier = threading.Barrier(4)
    claims: list[list[int]] = []

    def dispatch():
        try:
            barrier.wait()
            claims.append(ingest.due_account_ids())
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [pk for claim in claims for pk in claim]
    assert sorted(everything) == sorted(a.pk for a in accounts)  # each once, none missed


def test_the_task_beat_calls_polls_every_due_account(alice, bob, fake_pop3):
    from mailbox import tasks

    due = [pop3_account(alice, fake_pop3([])), pop3_account(bob, fake_pop3([]))]
    later = pop3_account(bob, fake_pop3([]), email="later@example.test")
    MailAccount.objects.filter(pk=later.pk).update(next_poll_at=timezone.now() + 3 * MIN)

    assert tasks.dispatch_polls() == 2

    for account in due:
        account.refresh_from_db()
        assert account.last_poll_at is not None and account.last_poll_error == ""
    later.refresh_from_db()
    assert later.last_poll_at is None
