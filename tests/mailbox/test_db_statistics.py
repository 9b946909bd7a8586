"""SQLite's planner statistics (mailbox.db_statistics): analyzed once the mail has
grown, left alone while it has not, never on PostgreSQL; and with them a search looks
the few rows the index found up by id instead of walking the folder.

Runs on the "sqlite" database (tests/settings.py), as tests/mailbox/test_search_fts.py."""

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings

from mailbox import db_statistics, tasks
from mailbox.models import Message
from mailbox.search import filter_by_search
from tests.conftest import make_account, make_user
from tests.mailbox.test_korean_search import _Pinned

pytestmark = pytest.mark.django_db(databases=["default", "sqlite"])


@pytest.fixture(autouse=True)
def on_sqlite():
    with override_settings(DATABASE_ROUTERS=[_Pinned("sqlite")]):
        yield


def fill(count: int, *, rare_every: int = 0):
    """`count` messages in one user's Inbox; every `rare_every`-th mentions xylograph."""
    user = make_user("stats")
    account = make_account(user)
    Message.objects.using("sqlite").bulk_create(
        [
            Message(
                owner=user,
                account=account,
                uidl=f"u{i}",
                subject=f"Weekly report {i}",
                text_body="The xylograph is attached."
                if rare_every and i % rare_every == 0
                else "",
                size=1,
                raw_sha256=f"{i:064x}",
                raw_file=f"raw/{i}.eml",
                date="2026-11-26T10:00:00Z",
                received_at="2026-11-26T10:00:00Z",
            )
            for i in range(count)
        ],
        batch_size=500,
    )
    return user


def analyzed():
    with connections["sqlite"].cursor() as cursor:
        return db_statistics.analyzed_messages(cursor)


@pytest.mark.parametrize(
    ("messages", "analyzed_before", "stale"),
    [
        (500, None, False),  # small: every plan is fast without statistics
        (db_statistics.MIN_MESSAGES, None, True),
        (100_000, 90_000, False),  # within a quarter
        (100_000, 70_000, True),  # grew
        (50_000, 90_000, True),  # shrank (mail deleted, an account removed)
    ],
)
def test_statistics_are_stale_when_missing_for_enough_mail_or_off_by_a_quarter(
    messages, analyzed_before, stale
):
    assert db_statistics.is_stale(messages, analyzed_before) is stale


def test_small_mail_is_not_analyzed_and_forcing_records_the_exact_count():
    fill(30)
    assert not db_statistics.refresh("sqlite")
    assert analyzed() is None
    assert db_statistics.refresh("sqlite", force=True)
    assert analyzed() == 30
    assert not db_statistics.refresh("sqlite")  # nothing changed


def test_enough_new_mail_is_analyzed_again(monkeypatch):
    monkeypatch.setattr(db_statistics, "MIN_MESSAGES", 20)
    fill(20)
    assert db_statistics.refresh("sqlite")
    assert analyzed() == 20
    Message.objects.using("sqlite").filter(uidl__in=["u1", "u2", "u3"]).delete()
    assert not db_statistics.refresh("sqlite")  # 17: within a quarter
    Message.objects.using("sqlite").filter(uidl__in=["u4", "u5"]).delete()
    assert db_statistics.refresh("sqlite")  # 15: a quarter fewer
    assert analyzed() == 15


def test_postgresql_is_left_to_autovacuum():
    """On the default database: PostgreSQL in CI (nothing done), SQLite without
    DATABASE_URL (analyzed when forced)."""
    assert db_statistics.refresh("default", force=True) == (connection.vendor == "sqlite")


def test_the_hourly_task_refreshes_them():
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-database-statistics"]
    assert entry["task"] == tasks.refresh_database_statistics.name
    assert entry["schedule"] <= 3600


def test_with_statistics_a_rare_word_is_looked_up_by_id_not_walked_in_date_order():
    user = fill(3000, rare_every=500)
    inbox = Message.objects.using("sqlite").filter(owner=user, folder="inbox")
    inbox = inbox.order_by("-date", "-id")  # as the list pages ask

    def plan():
        return filter_by_search(inbox, "xylograph")[:50].explain()

    assert "USING INDEX message_listing_idx" in plan()  # without: the folder walked
    db_statistics.refresh("sqlite", force=True)
    assert "INTEGER PRIMARY KEY" in plan()
    assert len(filter_by_search(inbox, "xylograph")) == 6
