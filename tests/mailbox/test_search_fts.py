"""Search on SQLite through its FTS5 index (mailbox.search_fts).

Every test runs on the "sqlite" database (tests/settings.py), pinned by the router of
test_korean_search, whatever the default database is: the index exists only there.
"""

import itertools

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailbox import ingest, search_fts
from mailbox.models import Folder, Message
from mailbox.search import filter_by_search
from testkit import mailfactory as mf
from tests.conftest import make_account, make_user
from tests.mailbox.test_korean_search import _Pinned

pytestmark = pytest.mark.django_db(databases=["default", "sqlite"])
_uidls = itertools.count(1)


@pytest.fixture(autouse=True)
def on_sqlite():
    with override_settings(DATABASE_ROUTERS=[_Pinned("sqlite")]):
        yield


@pytest.fixture
def jimin(client):
    user = make_user("jimin")
    client.force_login(user)
    return user


@pytest.fixture
def account(jimin):
    return make_account(jimin)


def store(account, subject, body="본문\n", **headers):
    raw = mf.plain(subject, body, **headers)
    return ingest.store_message(account, raw, f"fts-{next(_uidls)}")


def search(client, query, folder="inbox") -> list[str]:
    response = client.get(reverse("folder", args=[folder]), {"q": query})
    assert response.status_code == 200
    return sorted(m.subject for m in response.context["page"].messages)


def found(query, owner=None) -> list[str]:
    messages = Message.objects.using("sqlite").all()
    if owner is not None:
        messages = messages.filter(owner=owner)
    return sorted(m.subject for m in filter_by_search(messages, query, owner=owner))


def index_is_sound() -> None:
    """FTS5's own check: the index holds exactly what the rows say."""
    with connections["sqlite"].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {search_fts.TABLE}({search_fts.TABLE}, rank) "
            "VALUES ('integrity-check', 1)"
        )


def test_the_search_uses_the_index(account):
    store(account, "회의를 연기합니다")
    with CaptureQueriesContext(connections["sqlite"]) as queries:
        messages = filter_by_search(Message.objects.using("sqlite").all(), "회의")
    assert [q["sql"] for q in queries if f"{search_fts.TABLE} MATCH" in q["sql"]]
    sql = str(messages.query)
    assert "json_each" in sql  # the ids the index found
    assert " LIKE " not in sql  # no scan of the bodies
    assert found("회의") == ["회의를 연기합니다"]


def test_the_index_is_asked_once_for_a_whole_search_page(client, account):
    """The page counts, lists and pages the results: the ids found stand for the
    FTS5 query in each of those, instead of evaluating it again."""
    for i in range(3):
        store(account, f"Minsoo Kim {i}", from_="Minsoo Kim <minsoo.kim@daum.net>")
    store(account, "Other", from_="Jiwoo Park <jiwoo@naver.com>")
    with CaptureQueriesContext(connections["sqlite"]) as queries:
        assert search(client, "minsoo.kim@daum.net") == [
            "Minsoo Kim 0",
            "Minsoo Kim 1",
            "Minsoo Kim 2",
        ]
    assert len([q for q in queries if f"{search_fts.TABLE} MATCH" in q["sql"]]) == 1


def test_the_index_is_asked_for_the_owners_mail_only(client, account, jimin):
    store(account, "Budget 2024")
    bob = make_user("bob")
    store(make_account(bob), "Budget 2025")
    with CaptureQueriesContext(connections["sqlite"]) as queries:
        assert search(client, "budget") == ["Budget 2024"]
    asked = [q["sql"] for q in queries if f"{search_fts.TABLE} MATCH" in q["sql"]]
    assert asked and all(f'owner_id : "{jimin.pk}"' in sql for sql in asked)


def test_a_number_finds_the_number_not_the_owner_whose_id_it_is(client, account, jimin):
    store(account, "Hello")
    store(account, f"Room {jimin.pk} is booked")
    assert search(client, str(jimin.pk)) == [f"Room {jimin.pk} is booked"]
    assert found(str(jimin.pk), owner=jimin) == [f"Room {jimin.pk} is booked"]


def test_a_long_word_common_in_the_owners_mail_is_known_so_from_the_whole_word(
    monkeypatch, client, account
):
    """A word longer than the prefix indexes, common as a whole word, goes row by row
    without the prefix query (a merge of every word it starts); the results are the
    same as through the index."""
    for i in range(3):
        store(account, f"Meeting {i}")
    store(account, "Meetings moved")
    store(account, "Lunch")
    by_index = search(client, "meeting")
    monkeypatch.setattr(search_fts, "COMMON_MATCHES", 2)
    with CaptureQueriesContext(connections["sqlite"]) as queries:
        assert search(client, "meeting") == by_index
    asked = [q["sql"] for q in queries if f"{search_fts.TABLE} MATCH" in q["sql"]]
    assert len(asked) == 1 and '"meeting"*' not in asked[0]
    assert by_index == ["Meeting 0", "Meeting 1", "Meeting 2", "Meetings moved"]


def test_the_prefix_indexes_cover_short_names_and_domains():
    """Terms of 2-4 characters (a name like "kim", a domain like "net") are answered
    from a prefix index, not by merging every word that starts with them."""
    with connections["sqlite"].cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [search_fts.TABLE])
        (sql,) = cursor.fetchone()
    assert "prefix='2 3 4'" in sql


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("회의", ["다음 주 회의에서는", "회의를 연기합니다"]),  # followed by particles
        ("회", ["다음 주 회의에서는", "회식 안내", "회의를 연기합니다"]),  # one syllable
        ("회의에", ["다음 주 회의에서는"]),
        ("의를", []),  # the middle of a word, as on PostgreSQL
        ("budg", ["Budget review"]),  # an English prefix
        ("BUDGET", ["Budget review"]),
        ("udget", []),
        ("회의 연기", ["회의를 연기합니다"]),  # every word
        ("minsoo", ["Budget review"]),  # the sender's name and address
        ("daum.net", ["Budget review"]),
        ("ㅋㅋ", ["ㅋㅋㅋ 재밌네요"]),
        ('"회의 연기"', ["회의를 연기합니다"]),  # a phrase: words side by side, in order
        ('"연기 회의"', []),
        ("회의 -연기", ["다음 주 회의에서는"]),
    ],
)
def test_korean_and_english_words_match_as_word_prefixes(client, account, query, expected):
    store(account, "회의를 연기합니다")
    store(account, "다음 주 회의에서는")
    store(account, "회식 안내")
    store(account, "ㅋㅋㅋ 재밌네요")
    store(account, "Budget review", "Numbers.\n", from_="Minsoo Kim <minsoo.kim@daum.net>")
    assert search(client, query) == expected


QUERIES = [
    "회의",
    "회",
    "budget",
    "minsoo kim",
    "minsoo.kim@daum.net",
    '"회의 연기"',
    '"review numbers"',
    "회의 -연기",
    "-budget",
    "from:minsoo",
    "from:insoo",
    "to:jimin",
    "subject:budget",
    "ㄱㅈㅎ",
    "Ünïcode",
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_term_too_common_for_the_index_finds_the_same_row_by_row(monkeypatch, account, query):
    store(account, "회의를 연기합니다", to=mf.encoded_word("김지현") + " <jh@example.kr>")
    store(account, "다음 주 회의에서는", "Ünïcode text.\n")
    store(account, "Budget review", "Numbers.\n", from_="Minsoo Kim <minsoo.kim@daum.net>")
    store(account, "Review numbers", "budget_2024 ünïcode\n")
    by_index = found(query)
    monkeypatch.setattr(search_fts, "COMMON_MATCHES", -1)  # every term
    sql = str(filter_by_search(Message.objects.using("sqlite").all(), query).query)
    assert "json_each" not in sql  # row by row, not the ids the index found
    assert found(query) == by_index


def test_an_edited_message_is_found_by_its_new_words_only(account):
    message = store(account, "Quarterly budget")
    Message.objects.using("sqlite").filter(pk=message.pk).update(subject="Holiday plans")
    assert found("budget") == []
    assert found("holiday") == ["Holiday plans"]
    message.refresh_from_db()
    message.subject = "회의 일정"
    message.save()
    assert found("holiday") == []
    assert found("회의") == ["회의 일정"]
    index_is_sound()


def test_a_deleted_message_is_not_found(account):
    kept = store(account, "Budget kept")
    gone = store(account, "Budget gone")
    gone.delete()
    Message.objects.using("sqlite").filter(subject="nothing").delete()
    assert found("budget") == ["Budget kept"]
    Message.objects.using("sqlite").filter(pk=kept.pk).delete()
    assert found("budget") == []
    index_is_sound()


def test_a_moved_message_is_found_in_its_new_folder(client, account):
    message = store(account, "Budget review")
    Message.objects.using("sqlite").filter(pk=message.pk).update(folder=Folder.ARCHIVE)
    assert search(client, "budget") == []
    assert search(client, "budget", folder="archive") == ["Budget review"]
    index_is_sound()


def test_rows_inserted_in_bulk_are_indexed(account):
    message = store(account, "Template")
    copies = []
    for i in range(3):
        message.pk = None
        message.uidl = f"bulk-{i}"
        message.subject = f"회의록 {i}"
        copies.append(
            Message(
                **{f.attname: getattr(message, f.attname) for f in Message._meta.concrete_fields}
            )
        )
    Message.objects.using("sqlite").bulk_create(copies)
    assert found("회의록") == ["회의록 0", "회의록 1", "회의록 2"]
    index_is_sound()


def test_only_the_owners_mail_is_found(client, account, jimin):
    store(account, "Budget 2024")
    bob = make_user("bob")
    bobs = make_account(bob)
    store(bobs, "Budget 2024 (Bob's)")
    store(bobs, "Secret plans")
    assert search(client, "budget") == ["Budget 2024"]
    assert search(client, "secret") == []
    assert found("budget", owner=bob) == ["Budget 2024 (Bob's)"]
    response = client.get(reverse("search"), {"q": "secret in:anywhere"})
    assert list(response.context["page"].messages) == []


def _triggers() -> set[str]:
    with connections["sqlite"].cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'mailbox_message'"
        )
        return {name for (name,) in cursor.fetchall()}


def test_the_migrations_leave_the_index_and_its_triggers():
    """A later migration that rebuilds mailbox_message drops its triggers; this fails
    until search_fts.repair (run after every migrate) has put them back."""
    assert set(search_fts.TRIGGERS) <= _triggers()


def test_lost_triggers_are_put_back_and_the_index_rebuilt(account):
    store(account, "Budget review")
    with connections["sqlite"].cursor() as cursor:
        for name in search_fts.TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
        cursor.execute(f"INSERT INTO {search_fts.TABLE}({search_fts.TABLE}) VALUES ('delete-all')")
    store(account, "Budget meeting")  # stored while the triggers were gone
    assert found("budget") == []
    assert search_fts.repair("sqlite")
    assert set(search_fts.TRIGGERS) <= _triggers()
    assert found("budget") == ["Budget meeting", "Budget review"]
    assert not search_fts.repair("sqlite")  # nothing to do
    index_is_sound()


# --------------------------------------------------------------------------- migration

BEFORE = [("mailbox", "0016_add_beat_dispatch_record")]
AFTER = [("mailbox", "0017_add_full_text_search_index_on_sqlite")]


def _migrate(targets):
    executor = MigrationExecutor(connections["sqlite"])
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    yield
    _migrate(MigrationExecutor(connections["sqlite"]).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True, databases=["default", "sqlite"])
@pytest.mark.usefixtures("back_to_latest")
def test_the_migration_indexes_the_messages_already_stored():
    apps = _migrate(BEFORE)
    user = apps.get_model("accounts", "User").objects.using("sqlite").create(username="mig")
    account = (
        apps.get_model("accounts", "MailAccount")
        .objects.using("sqlite")
        .create(user=user, email="mig@example.test", pop3_host="127.0.0.1", smtp_host="127.0.0.1")
    )
    apps.get_model("mailbox", "Message").objects.using("sqlite").create(
        owner=user,
        account=account,
        uidl="u1",
        subject="분기 보고서",
        text_body="회의 자료를 보냅니다.",
        size=1,
        raw_sha256="ab" * 32,
        raw_file="raw/x.eml",
        date="2026-11-26T10:00:00Z",
        received_at="2026-11-26T10:00:00Z",
    )
    assert not _triggers()
    after = _migrate(AFTER)
    assert set(search_fts.TRIGGERS) <= _triggers()
    # Searched with the model as it was then (later migrations add columns).
    then = after.get_model("mailbox", "Message").objects.using("sqlite").only("subject")
    for word in ("보고서", "자료"):
        assert [m.subject for m in filter_by_search(then, word)] == ["분기 보고서"]
    index_is_sound()
