"""Snooze: presets in the user's time zone, the Snoozed folder, Unsnooze and Undo, and the
wake-up that beat runs every minute, which brings mail back to the top of the Inbox."""

import datetime as dt
import io
import itertools
import zipfile
import zoneinfo
from email.utils import format_datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.formatting import full_date
from mailbox import actions, export, folders, ingest, snooze, tasks
from mailbox.models import Folder, Message, Outgoing
from testkit import mailfactory as mf
from webmail.celery import app

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
UTC = dt.UTC
_uidls = itertools.count(1)


def store(account, subject="hello", **fields) -> Message:
    message = ingest.store_message(account, mf.plain(subject), f"snooze-{next(_uidls)}")
    if fields:
        Message.objects.filter(pk=message.pk).update(**fields)
        message.refresh_from_db()
    return message


def dated(account, subject: str, when: dt.datetime, **headers) -> Message:
    """A message whose Date header is `when` (to the second), stored in the Inbox."""
    raw = mf.message(
        mf.text_part(f"About {subject}.\n"),
        subject=subject,
        date=format_datetime(when.astimezone(SEOUL)),
        message_id=headers.pop("message_id", None),
        headers=list(headers.items()),
    )
    return ingest.store_message(account, raw, f"snooze-{next(_uidls)}")


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def preset_times(now, zone) -> dict[str, dt.datetime]:
    return {p.key: p.when for p in snooze.presets(now, zone)}


# Presets ------------------------------------------------------------------------------


def test_presets_in_the_morning_in_seoul_are_this_evening_tomorrow_and_next_monday():
    # Monday 7 December 2026, 09:30 in Seoul (00:30 UTC).
    now = dt.datetime(2026, 12, 7, 9, 30, tzinfo=SEOUL)
    assert preset_times(now, SEOUL) == {
        "later_today": dt.datetime(2026, 12, 7, 18, 0, tzinfo=SEOUL),
        "tomorrow": dt.datetime(2026, 12, 8, 8, 0, tzinfo=SEOUL),
        "next_week": dt.datetime(2026, 12, 14, 8, 0, tzinfo=SEOUL),
    }
    assert preset_times(now, SEOUL)["later_today"] == utc(2026, 12, 7, 9, 0)


def test_one_moment_gives_each_user_the_presets_of_their_own_clock():
    # Sunday 23:30 in London is already Monday 08:30 in Seoul.
    now = utc(2026, 12, 6, 23, 30)
    assert preset_times(now, UTC)["tomorrow"] == utc(2026, 12, 7, 8, 0)
    assert preset_times(now, SEOUL)["tomorrow"] == dt.datetime(2026, 12, 8, 8, 0, tzinfo=SEOUL)
    # Next week: Monday 08:00; on a Monday a week on, on a Sunday tomorrow (offered once).
    assert "next_week" not in preset_times(now, UTC)
    assert preset_times(now, SEOUL)["next_week"] == dt.datetime(2026, 12, 14, 8, 0, tzinfo=SEOUL)


def test_later_today_in_the_afternoon_is_three_hours_on_rounded_up_to_the_hour():
    assert snooze.later_today(utc(2026, 12, 7, 16, 10), UTC) == utc(2026, 12, 7, 20, 0)
    assert snooze.later_today(utc(2026, 12, 7, 15, 0), UTC) == utc(2026, 12, 7, 18, 0)
    assert snooze.later_today(utc(2026, 12, 7, 20, 0), UTC) == utc(2026, 12, 7, 23, 0)


def test_later_today_is_not_offered_when_it_would_be_tomorrow():
    now = dt.datetime(2026, 12, 7, 21, 30, tzinfo=SEOUL)
    assert list(preset_times(now, SEOUL)) == ["tomorrow", "next_week"]


# Snoozing from the pages ----------------------------------------------------------------


@pytest.fixture
def seoul_client(alice, alice_client):
    alice.time_zone = "Asia/Seoul"
    alice.save(update_fields=["time_zone"])
    return alice_client


def test_snoozing_from_the_reading_pane_uses_the_users_time_zone(seoul_client, alice_account):
    message = store(alice_account, "later please")
    expected = snooze.preset_time("tomorrow", timezone.now(), SEOUL)

    response = seoul_client.post(
        reverse("snooze_message", args=[message.pk]), {"until": "tomorrow"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("folder", args=["inbox"])
    message.refresh_from_db()
    assert message.folder == Folder.SNOOZED
    assert message.snoozed_until == expected
    assert timezone.localtime(message.snoozed_until, SEOUL).time() == dt.time(8, 0)


def test_a_chosen_date_and_time_is_read_in_the_users_time_zone(seoul_client, alice_account):
    message = store(alice_account)
    seoul_client.post(
        reverse("snooze_message", args=[message.pk]),
        {"until": "custom", "at": "2030-01-02T09:15"},
    )
    message.refresh_from_db()
    assert (message.folder, message.snoozed_until) == (Folder.SNOOZED, utc(2030, 1, 2, 0, 15))


def test_a_time_in_the_past_is_refused_and_named(alice_client, alice_account):
    message = store(alice_account)
    response = alice_client.post(
        reverse("snooze_message", args=[message.pk]),
        {"until": "custom", "at": "2020-01-02T09:15"},
        follow=True,
    )
    assert "Choose a time in the future." in response.content.decode()
    message.refresh_from_db()
    assert (message.folder, message.snoozed_until) == (Folder.INBOX, None)


def test_custom_without_a_time_asks_for_one(alice_client, alice_account):
    message = store(alice_account)
    response = alice_client.post(
        reverse("snooze_message", args=[message.pk]), {"until": "custom", "at": ""}, follow=True
    )
    assert "Choose the date and time to snooze until." in response.content.decode()
    message.refresh_from_db()
    assert message.folder == Folder.INBOX


def test_the_menu_offers_the_presets_with_their_times(seoul_client, alice_account):
    message = store(alice_account)
    page = seoul_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert reverse("snooze_message", args=[message.pk]) in page
    for value in ("tomorrow", "next_week", "custom"):
        assert f'name="until" value="{value}"' in page
    assert 'type="datetime-local"' in page
    assert "Tomorrow, 8:00 AM" in page


def test_bulk_snooze_snoozes_the_selection_and_says_until_when(alice_client, alice_account):
    a, b, c = (store(alice_account, s) for s in "abc")
    response = alice_client.post(
        reverse("snooze_messages"),
        {"ids": [a.pk, b.pk], "until": "next_week", "folder": "inbox"},
        follow=True,
    )
    assert "2 messages snoozed until" in response.content.decode()
    folders_now = dict(Message.objects.values_list("subject", "folder"))
    assert folders_now == {"a": "snoozed", "b": "snoozed", "c": "inbox"}


def test_the_snoozed_folder_lists_messages_with_their_wake_time(alice_client, alice_account):
    when = timezone.now() + dt.timedelta(days=1)
    store(alice_account, "sleeping", folder=Folder.SNOOZED, snoozed_until=when)
    page = alice_client.get(reverse("folder", args=["snoozed"])).content.decode()
    assert "sleeping" in page
    assert f'datetime="{timezone.localtime(when).isoformat()}"' in page
    assert snooze.wake_time(when) in page
    assert "Tomorrow, " in page


def test_unsnooze_brings_it_back_to_the_inbox_now(alice_client, alice_account):
    message = store(
        alice_account,
        folder=Folder.SNOOZED,
        seen=True,
        snoozed_until=timezone.now() + dt.timedelta(days=3),
    )
    alice_client.post(reverse("message_action", args=[message.pk]), {"action": "unsnooze"})
    message.refresh_from_db()
    assert (message.folder, message.seen) == (Folder.INBOX, True)
    # Not woken again later: it left Snoozed.
    snooze.wake_snoozed(timezone.now() + dt.timedelta(days=4))
    message.refresh_from_db()
    assert (message.folder, message.seen) == (Folder.INBOX, True)


def test_undo_puts_a_snoozed_message_back_in_its_own_folder(alice, alice_client, alice_account):
    work = folders.create(alice, "Work")
    message = store(alice_account, folder=Folder.USER, user_folder=work)
    alice_client.post(reverse("snooze_message", args=[message.pk]), {"until": "tomorrow"})
    undo = alice_client.session["undo"]
    assert (undo["action"], undo["target"]) == ("move", folders.user_key(work.pk))

    alice_client.post(reverse("bulk_action"), {**undo, "folder": "snoozed"})

    message.refresh_from_db()
    assert (message.folder, message.user_folder) == (Folder.USER, work)


def test_mail_in_trash_or_junk_cannot_be_snoozed(alice_client, alice_account):
    trashed = store(alice_account, folder=Folder.TRASH, trashed_from=Folder.INBOX)
    junk = store(alice_account, folder=Folder.JUNK)
    alice_client.post(
        reverse("snooze_messages"), {"ids": [trashed.pk, junk.pk], "until": "tomorrow"}
    )
    assert set(Message.objects.values_list("folder", flat=True)) == {"trash", "junk"}


def test_others_cannot_snooze_alices_mail(client, alice_account, bob):
    message = store(alice_account)
    client.force_login(bob)
    single = client.post(reverse("snooze_message", args=[message.pk]), {"until": "tomorrow"})
    client.post(reverse("snooze_messages"), {"ids": [message.pk], "until": "tomorrow"})
    assert single.status_code == 404
    message.refresh_from_db()
    assert (message.folder, message.snoozed_until) == (Folder.INBOX, None)


# Waking up ----------------------------------------------------------------------------


def test_wake_snoozed_moves_exactly_the_due_messages_back_unread(alice_account, bob_account):
    now = timezone.now()
    due = store(alice_account, "due", folder=Folder.SNOOZED, seen=True, snoozed_until=now)
    overdue = store(
        bob_account,
        "overdue",
        folder=Folder.SNOOZED,
        seen=True,
        snoozed_until=now - dt.timedelta(hours=5),
    )
    later = store(
        alice_account,
        "later",
        folder=Folder.SNOOZED,
        seen=True,
        snoozed_until=now + dt.timedelta(minutes=1),
    )
    archived = store(alice_account, "archived", folder=Folder.ARCHIVE, seen=True)

    assert snooze.wake_snoozed(now) == 2

    for message in (due, overdue):
        message.refresh_from_db()
        assert (message.folder, message.seen, message.snoozed_until) == (Folder.INBOX, False, None)
    later.refresh_from_db()
    archived.refresh_from_db()
    assert (later.folder, later.seen) == (Folder.SNOOZED, True)
    assert (archived.folder, archived.seen) == (Folder.ARCHIVE, True)
    assert snooze.wake_snoozed(now) == 0


def test_a_message_restored_from_trash_after_its_time_wakes_at_the_next_run(alice_account):
    message = store(
        alice_account,
        folder=Folder.TRASH,
        trashed_from=Folder.SNOOZED,
        snoozed_until=timezone.now() - dt.timedelta(hours=1),
    )
    actions.restore(alice_account.user, [message.pk])
    snooze.wake_snoozed(timezone.now())
    message.refresh_from_db()
    assert (message.folder, message.seen) == (Folder.INBOX, False)


def test_beat_runs_the_wake_up_task_every_minute():
    entry = next(
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("wake_snoozed")
    )
    assert entry["task"] == "mailbox.tasks.wake_snoozed"
    assert entry["task"] in app.tasks  # registered under the name beat sends
    assert entry["schedule"] <= 60


def test_the_task_beat_calls_wakes_due_messages(alice_account):
    message = store(
        alice_account, folder=Folder.SNOOZED, snoozed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert tasks.wake_snoozed() == 1
    message.refresh_from_db()
    assert message.folder == Folder.INBOX


def test_the_menu_and_the_snoozed_folder_speak_korean(seoul_client, alice_account):
    seoul_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    message = store(alice_account)
    page = seoul_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "다시 알림" in page
    assert "내일 오전 8:00" in page
    assert "스팸 신고" in page
    tomorrow_morning = snooze.preset_time("tomorrow", timezone.now(), SEOUL)
    Message.objects.filter(pk=message.pk).update(
        folder=Folder.SNOOZED, snoozed_until=tomorrow_morning
    )
    listing = seoul_client.get(reverse("folder", args=["snoozed"])).content.decode()
    assert "내일 오전 8:00" in listing


# Back at the top of the Inbox ------------------------------------------------------------


def _a_week_ago() -> dt.datetime:
    # To the minute: a Date header has seconds, a zip member's time only even ones.
    return (timezone.now() - dt.timedelta(days=7)).replace(second=0, microsecond=0)


def _time_passes(message: Message) -> None:
    """Its wake time has come (rather than waiting for it)."""
    Message.objects.filter(pk=message.pk).update(
        snoozed_until=timezone.now() - dt.timedelta(seconds=1)
    )


def _rows(response) -> list[int]:
    return [m.pk for m in response.context["page"].messages]


def test_a_woken_week_old_message_is_the_first_row_of_the_inbox_unread(alice_client, alice_account):
    week_ago = _a_week_ago()
    old = dated(alice_account, "last week", week_ago)
    newer = [
        dated(alice_account, "yesterday", timezone.now() - dt.timedelta(days=1)),
        dated(alice_account, "an hour ago", timezone.now() - dt.timedelta(hours=1)),
    ]
    alice_client.post(reverse("message_action", args=[old.pk]), {"action": "read"})
    alice_client.post(reverse("snooze_message", args=[old.pk]), {"until": "tomorrow"})
    assert old.pk not in _rows(alice_client.get(reverse("folder", args=["inbox"])))
    _time_passes(old)

    assert tasks.wake_snoozed() == 1

    response = alice_client.get(reverse("folder", args=["inbox"]))
    assert _rows(response) == [old.pk, newer[1].pk, newer[0].pk]
    first = response.context["page"].messages[0]
    assert first.seen is False
    old.refresh_from_db()
    assert (old.folder, old.seen, old.snoozed_until) == (Folder.INBOX, False, None)
    assert (old.header_date, old.own_date) == (week_ago, week_ago)
    assert timezone.now() - old.date < dt.timedelta(minutes=1)
    # The row says when it came back; its reading pane says when it was sent.
    page = response.content.decode()
    assert f'<time datetime="{timezone.localtime(old.date).isoformat()}">' in page
    reading = alice_client.get(reverse("read_message", args=[old.pk])).content.decode()
    own = timezone.localtime(week_ago)
    assert f'<dd><time datetime="{own.isoformat()}">{full_date(own)}</time></dd>' in reading
    assert f'<dd><time datetime="{timezone.localtime(old.date).isoformat()}">' not in reading


def test_a_reply_to_a_woken_message_quotes_its_own_date(alice_client, alice_account):
    week_ago = _a_week_ago()
    old = dated(alice_account, "last week", week_ago)
    snooze.snooze(alice_account.user, [old.pk], timezone.now() + dt.timedelta(hours=1))
    _time_passes(old)
    tasks.wake_snoozed()

    alice_client.post(reverse("reply", args=[old.pk]))

    body = Outgoing.objects.get(owner=alice_account.user).body
    assert f"On {full_date(week_ago.astimezone(SEOUL), local=False)}, " in body


def test_snoozing_a_woken_message_again_keeps_its_own_date(alice_account):
    week_ago = _a_week_ago()
    old = dated(alice_account, "again", week_ago)
    for _ in range(2):
        snooze.snooze(alice_account.user, [old.pk], timezone.now() + dt.timedelta(hours=1))
        _time_passes(old)
        assert tasks.wake_snoozed() == 1
        old.refresh_from_db()
        assert old.header_date == week_ago
        assert old.date > week_ago + dt.timedelta(days=6)
    # Unsnooze (the user's own choice) leaves its place alone.
    moved = old.date
    snooze.snooze(alice_account.user, [old.pk], timezone.now() + dt.timedelta(hours=1))
    snooze.unsnooze(alice_account.user, [old.pk])
    old.refresh_from_db()
    assert (old.folder, old.date, old.header_date) == (Folder.INBOX, moved, week_ago)


def test_in_conversation_view_a_woken_message_brings_its_conversation_first(
    alice, alice_client, alice_account
):
    alice.conversation_view = True
    alice.save(update_fields=["conversation_view"])
    week_ago = _a_week_ago()
    start = dated(alice_account, "plan", week_ago, message_id="<plan-1@x>")
    reply = dated(
        alice_account,
        "Re: plan",
        week_ago + dt.timedelta(hours=2),
        message_id="<plan-2@x>",
        **{"In-Reply-To": "<plan-1@x>"},
    )
    lunch = dated(alice_account, "lunch", timezone.now() - dt.timedelta(days=1))
    assert _rows(alice_client.get(reverse("folder", args=["inbox"]))) == [lunch.pk, reply.pk]

    snooze.snooze(alice, [start.pk], timezone.now() + dt.timedelta(hours=1))
    _time_passes(start)
    tasks.wake_snoozed()

    response = alice_client.get(reverse("folder", args=["inbox"]))
    assert _rows(response) == [start.pk, lunch.pk]
    assert "2 messages in this conversation" in response.content.decode()
    # The conversation still reads in the order it was written.
    page = alice_client.get(reverse("read_message", args=[start.pk])).content.decode()
    assert page.index(f'id="thread-message-{start.pk}"') < page.index(
        f'id="thread-message-{reply.pk}"'
    )


def test_exports_of_a_woken_message_keep_its_own_date(alice, alice_account):
    week_ago = _a_week_ago()
    old = dated(alice_account, "report", week_ago)
    messages, _ = export.folder_messages(alice, "inbox")
    before = b"".join(export.export(alice, messages, "mbox", "Inbox").chunks)

    snooze.snooze(alice, [old.pk], timezone.now() + dt.timedelta(hours=1))
    _time_passes(old)
    tasks.wake_snoozed()

    messages, _ = export.folder_messages(alice, "inbox")
    # The mbox "From " line (the time it arrived) and the message's bytes are as they were.
    assert b"".join(export.export(alice, messages, "mbox", "Inbox").chunks) == before
    data = b"".join(export.export(alice, messages, "eml-zip", "Inbox").chunks)
    members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    own = week_ago.astimezone(dt.UTC)  # alice's zone: unset, so UTC
    assert len(members) == 1
    assert members[0].filename.endswith(f"{own:%Y-%m-%d %H%M%S} report.eml")
    assert members[0].date_time == (own.year, own.month, own.day, own.hour, own.minute, own.second)
