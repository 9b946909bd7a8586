"""Korean search on PostgreSQL and SQLite: particles, and initial consonants (초성) of names.

Every test runs twice: on the default database (PostgreSQL in CI, SQLite locally) and
on the "sqlite" one (tests/settings.py). A router pins the whole request to one of
them, so ingest, the page and the search all run on that database.
"""

import itertools

import pytest
from django.db import connections
from django.test import override_settings
from django.urls import reverse

from mailbox import ingest
from mailbox.models import Folder, Message
from mailbox.search import filter_by_search, name_initials
from testkit import mailfactory as mf
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.django_db(databases=["default", "sqlite"])
_uidls = itertools.count(1)


class _Pinned:
    """Every read and write on one database."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model, **hints):
        return self.alias

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True


@pytest.fixture(params=["default", "sqlite"])
def database(request):
    with override_settings(DATABASE_ROUTERS=[_Pinned(request.param)]):
        yield request.param


@pytest.fixture
def mailbox(database, client):
    """Ji-min's account and a client logged in as her, on the database under test."""
    user = make_user("jimin")
    client.force_login(user)
    return make_account(user)


def store(account, subject, body="본문\n", *, folder=Folder.INBOX, **headers):
    raw = mf.plain(subject, body, **headers)
    uidl = "" if folder == Folder.SENT else f"search-{next(_uidls)}"
    return ingest.store_message(account, raw, uidl, folder=folder, seen=folder == Folder.SENT)


def search(client, query, folder="inbox") -> list[str]:
    response = client.get(reverse("folder", args=[folder]), {"q": query})
    assert response.status_code == 200
    return sorted(m.subject for m in response.context["page"].messages)


def test_the_database_under_test_is_the_one_searched(mailbox, database, client):
    store(mailbox, "회의를 합시다")
    assert Message.objects.using(database).count() == 1
    other = "sqlite" if database == "default" else "default"
    assert not Message.objects.using(other).exists()
    assert search(client, "회의") == ["회의를 합시다"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("회의", ["다음 주 회의에서는", "회의 안내", "회의를 연기합니다", "회의에서 봐요"]),
        ("회의에서", ["다음 주 회의에서는", "회의에서 봐요"]),
        ("회의를", ["회의를 연기합니다"]),
        ("연기", ["회의를 연기합니다"]),
        ("회의 연기", ["회의를 연기합니다"]),  # every word must match
        ("회식", []),
    ],
)
def test_a_korean_word_finds_it_followed_by_particles(mailbox, client, query, expected):
    store(mailbox, "회의를 연기합니다")
    store(mailbox, "회의에서 봐요")
    store(mailbox, "다음 주 회의에서는")
    store(mailbox, "회의 안내")
    store(mailbox, "점심 메뉴")
    assert search(client, query) == expected


def test_particles_in_the_body_too(mailbox, client):
    store(mailbox, "예산", "다음 주 회의에서는 예산을 논의합니다.\n")
    store(mailbox, "다른 메일", "회식 장소 안내\n")
    assert search(client, "회의") == ["예산"]
    assert search(client, "예산") == ["예산"]  # subject and 예산을 in the body, once


KIM_JIHYUN = mf.encoded_word("김지현") + " <jihyun@example.kr>"
LEE_MINSU = mf.encoded_word("이민수", "euc-kr", "Q") + " <minsu@example.kr>"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ㄱㅈㅎ", ["from 김지현", "to 김지현 (cc)"]),
        ("ㅈㅎ", ["from 김지현", "to 김지현 (cc)"]),  # part of a name
        ("ㅇㅁㅅ", ["from 김지현", "from 이민수"]),  # 이민수 is a recipient of the first
        ("ㄱㅈㅎ ㅇㅁㅅ", ["from 김지현"]),  # both names
        ("ㄱㅈㅎ 예산", ["to 김지현 (cc)"]),  # with a word: both must match
        ("ㄱㅎ", []),  # not consecutive initials of one name
        ("ㄱㅈㅎㅇ", []),  # does not run on into the next name
    ],
)
def test_initial_consonants_find_korean_names(mailbox, client, query, expected):
    store(mailbox, "from 김지현", from_=KIM_JIHYUN, to=LEE_MINSU)
    store(mailbox, "from 이민수", from_=LEE_MINSU)
    store(
        mailbox,
        "to 김지현 (cc)",
        "예산 보고\n",
        from_="Bob <bob@example.test>",
        headers=[("Cc", KIM_JIHYUN)],
    )
    store(mailbox, "from 김지수", from_=mf.encoded_word("김지수") + " <jisu@example.kr>")
    assert search(client, query) == expected


def test_initial_consonants_find_sent_mail_by_its_recipients(mailbox, client):
    store(mailbox, "보낸 메일", to=KIM_JIHYUN, folder=Folder.SENT)
    store(mailbox, "다른 보낸 메일", to="Bob <bob@example.test>", folder=Folder.SENT)
    assert search(client, "ㄱㅈㅎ", folder="sent") == ["보낸 메일"]


def test_consonants_typed_alone_also_match_the_text(mailbox, client):
    store(mailbox, "ㅋㅋㅋ 재밌네요")
    store(mailbox, "회의")
    assert search(client, "ㅋㅋ") == ["ㅋㅋㅋ 재밌네요"]


def test_search_uses_the_querysets_own_database(mailbox, database):
    """PostgreSQL full-text search or LIKE, as the queryset's database is, not the default."""
    store(mailbox, "회의에서 봐요")
    messages = Message.objects.using(database).all()
    sql = str(filter_by_search(messages, "회의").query)
    uses_full_text = "search_vector @@" in sql
    assert uses_full_text == (connections[database].vendor == "postgresql")
    assert [m.subject for m in filter_by_search(messages, "회의")] == ["회의에서 봐요"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["김지현", "Bob", "이 민수"], "ㄱㅈㅎ ㅇㅁㅅ"),
        (["", "Kim Jihyun"], ""),
        (["김지현 (영업팀)"], "ㄱㅈㅎ(ㅇㅇㅌ)"),
    ],
)
def test_name_initials_are_a_word_per_korean_name(names, expected):
    assert name_initials(names) == expected
