"""Search operators on PostgreSQL and SQLite, search across folders, and search options.

Every database test runs twice: on the default database (PostgreSQL when DATABASE_URL
points at it, as in CI) and on the "sqlite" one, with the router of
test_korean_search pinning the whole request to one of them.
"""

import datetime as dt
import itertools
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connections, reset_queries
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailbox import ingest, listing
from mailbox.models import Folder, Message, UserFolder
from mailbox.search import filter_by_search
from testkit import mailfactory as mf
from tests.conftest import make_account, make_user
from tests.mailbox.test_korean_search import _Pinned

pytestmark = pytest.mark.django_db(databases=["default", "sqlite"])
_uidls = itertools.count(1)

KIM_JIHYUN = mf.encoded_word("김지현") + " <jihyun@example.kr>"
LEE_MINSU = mf.encoded_word("이민수") + " <minsu@example.kr>"
SEOUL = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(params=["default", "sqlite"])
def database(request):
    with override_settings(DATABASE_ROUTERS=[_Pinned(request.param)]):
        yield request.param


@pytest.fixture
def jimin(database, client):
    """Ji-min (in Seoul), logged in, with her account, on the database under test."""
    user = make_user("jimin", time_zone="Asia/Seoul")
    client.force_login(user)
    return user


@pytest.fixture
def account(jimin):
    return make_account(jimin)


def store(account, subject, body="본문\n", *, attachment=None, **fields):
    """A message stored as polled mail, then given `fields` (folder, date, seen ...)."""
    headers = {key: fields.pop(key) for key in ("from_", "to") if key in fields}
    cc = fields.pop("cc", None)
    extra = [("Cc", cc)] if cc else []
    n = next(_uidls)
    body_part = mf.text_part(body)
    if attachment:
        body_part = mf.multipart("mixed", body_part, mf.attachment_part(b"data", attachment))
    raw = mf.message(
        body_part,
        subject=mf.encoded_word(subject) if not subject.isascii() else subject,
        message_id=f"<search-{n}@example.test>",
        headers=extra,
        **headers,
    )
    message = ingest.store_message(account, raw, f"ops-{n}")
    if fields:
        Message.objects.filter(pk=message.pk).update(**fields)
    return message


@pytest.fixture
def corpus(jimin, account):
    """Ji-min's mail in several folders, an own folder Work/Reports and a second account."""
    work = UserFolder.objects.create(owner=jimin, name="Work")
    reports = UserFolder.objects.create(owner=jimin, name="Reports", parent=work)
    store(
        account,
        "Budget 2024",
        "예산 회의 자료를 보냅니다.\n",
        from_=KIM_JIHYUN,
        cc="Bob <bob@corp.example>",
        attachment="예산안.xlsx",
        date=dt.datetime(2024, 3, 5, 10, tzinfo=SEOUL),
        size=12 * 1024 * 1024,
        flagged=True,
    )
    store(
        account,
        "Lunch plans",
        "점심 메뉴 정했어요.\n",
        from_="Minsoo Kim <minsoo.kim@daum.net>",
        # 05:00 on 1 June in Seoul, still 31 May in UTC.
        date=dt.datetime(2024, 5, 31, 20, tzinfo=dt.UTC),
        seen=True,
    )
    store(
        account,
        "Quarterly report draft",
        "Numbers attached.\n",
        from_="Alice <alice@example.com>",
        cc=KIM_JIHYUN,
        attachment="report-q3.pdf",
        date=dt.datetime(2024, 7, 1, 9, tzinfo=SEOUL),
        seen=True,
    )
    store(
        account,
        "회의 자료 보냅니다",
        "첨부 확인 부탁드립니다.\n",
        from_="Ji-min <jimin@example.test>",
        to=LEE_MINSU,
        folder=Folder.SENT,
        seen=True,
    )
    store(account, "회의를 연기합니다", from_=KIM_JIHYUN, folder=Folder.ARCHIVE, seen=True)
    store(
        account,
        "Monthly numbers",
        from_="Boss <boss@corp.example>",
        folder=Folder.USER,
        user_folder=reports,
        seen=True,
    )
    store(account, "Old newsletter", from_="news@shop.example", folder=Folder.TRASH, seen=True)
    store(account, "You won a prize", from_="win@scam.example", folder=Folder.JUNK, seen=True)
    second = make_account(jimin, email="jimin@naver.example")
    store(second, "From the second account", from_="friend@naver.example", seen=True)


ALL_MAIL = [
    "Budget 2024",
    "From the second account",
    "Lunch plans",
    "Monthly numbers",
    "Quarterly report draft",
    "회의 자료 보냅니다",
    "회의를 연기합니다",
]


def search(client, query, folder=None, **headers) -> list[str]:
    """Subjects found by the search page (every folder), or by `folder`'s page."""
    url = reverse("search") if folder is None else reverse("folder", args=[folder])
    response = client.get(url, {"q": query}, **headers)
    assert response.status_code == 200
    return sorted(m.subject for m in response.context["page"].messages)


def problems(client, query, **headers) -> list[str]:
    response = client.get(reverse("search"), {"q": query}, **headers)
    return response.context["search"].problems


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from:jihyun", ["Budget 2024", "회의를 연기합니다"]),
        ("from:김지현", ["Budget 2024", "회의를 연기합니다"]),
        ("from:ㄱㅈㅎ", ["Budget 2024", "회의를 연기합니다"]),  # initials of the name
        ("from:minsoo.kim@daum.net", ["Lunch plans"]),
        ("from:daum.net", ["Lunch plans"]),
        ('from:"minsoo kim"', ["Lunch plans"]),
        ("FROM:Alice", ["Quarterly report draft"]),
        ("to:minsu@example.kr", ["회의 자료 보냅니다"]),
        ("to:이민수", ["회의 자료 보냅니다"]),
        ("to:ㅇㅁㅅ", ["회의 자료 보냅니다"]),
        ("cc:bob@corp.example", ["Budget 2024"]),
        ("cc:ㄱㅈㅎ", ["Quarterly report draft"]),  # 김지현 in Cc, not From
        ("subject:report", ["Quarterly report draft"]),
        ("subject:회의", ["회의 자료 보냅니다", "회의를 연기합니다"]),
        ('subject:"report draft"', ["Quarterly report draft"]),
        ("has:attachment", ["Budget 2024", "Quarterly report draft"]),
        ("filename:xlsx", ["Budget 2024"]),
        ("filename:예산안", ["Budget 2024"]),
        ("filename:REPORT", ["Quarterly report draft"]),
        ("is:unread", ["Budget 2024"]),
        ("is:flagged", ["Budget 2024"]),
        ("is:starred", ["Budget 2024"]),
        ("account:naver", ["From the second account"]),
        ("account:jimin@example.test", [s for s in ALL_MAIL if s != "From the second account"]),
        ("larger:10M", ["Budget 2024"]),
        ("smaller:10M", [s for s in ALL_MAIL if s != "Budget 2024"]),
    ],
)
def test_each_operator_finds_what_it_names(client, corpus, query, expected):
    assert search(client, query) == expected


def test_is_read_finds_every_read_message(client, corpus):
    assert search(client, "is:read") == [s for s in ALL_MAIL if s != "Budget 2024"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Lunch plans came at 05:00 on 1 June in Seoul (31 May in UTC).
        ("after:2024-06-01", ["Lunch plans", "Quarterly report draft"]),
        ("before:2024-06-01", ["Budget 2024"]),
        ("after:2024/03/05 before:2024-03-06", ["Budget 2024"]),
        ("after:2024-07-02", []),
    ],
)
def test_dates_are_days_in_the_users_time_zone(client, corpus, query, expected):
    dated = ["Budget 2024", "Lunch plans", "Quarterly report draft"]
    assert [s for s in search(client, query) if s in dated] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("in:sent", ["회의 자료 보냅니다"]),
        ("in:보낸편지함", ["회의 자료 보냅니다"]),  # the label, in Korean
        ("in:Sent", ["회의 자료 보냅니다"]),  # and in English
        ('in:"보관함"', ["회의를 연기합니다"]),
        ("in:archive", ["회의를 연기합니다"]),
        ("in:trash", ["Old newsletter"]),
        ("in:휴지통", ["Old newsletter"]),
        ("in:spam", ["You won a prize"]),
        ("in:Work/Reports", ["Monthly numbers"]),
        ('in:"work / reports"', ["Monthly numbers"]),
        ("in:Reports", ["Monthly numbers"]),  # the only folder of that name
        ("in:Work", []),  # the folder itself, not its subfolders
        ("in:all", ALL_MAIL),
        ("in:anywhere", sorted([*ALL_MAIL, "Old newsletter", "You won a prize"])),
    ],
)
def test_in_names_a_folder_by_key_label_or_path(client, corpus, query, expected):
    assert search(client, query) == expected


def test_a_search_across_folders_leaves_out_trash_and_junk(client, corpus):
    assert search(client, "") == ALL_MAIL
    assert search(client, "old newsletter") == []
    assert search(client, "old newsletter in:trash") == ["Old newsletter"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from:ㄱㅈㅎ 예산", ["Budget 2024"]),
        ("회의 -연기", ["Budget 2024", "회의 자료 보냅니다"]),
        ("has:attachment -budget", ["Quarterly report draft"]),
        ('"회의 자료"', ["Budget 2024", "회의 자료 보냅니다"]),  # a phrase, particles too
        ('"자료 회의"', []),  # its words in order
        ('-"회의 자료" 회의', ["회의를 연기합니다"]),
        ("is:unread has:attachment larger:1M from:김지현", ["Budget 2024"]),
        ("numbers -monthly", ["Quarterly report draft"]),
        ("ㄱㅈㅎ in:archive", ["회의를 연기합니다"]),
    ],
)
def test_operators_combine_with_free_text_exclusions_and_phrases(client, corpus, query, expected):
    assert search(client, query) == expected


def test_a_negated_operator_is_reported_and_the_rest_still_searches(client, corpus):
    assert search(client, "-from:jihyun -회의") == [
        s for s in ALL_MAIL if s not in ("회의 자료 보냅니다", "회의를 연기합니다", "Budget 2024")
    ]
    assert problems(client, "-from:jihyun -회의") == [
        "-from: cannot be excluded with a minus sign."
    ]


@pytest.mark.parametrize(
    ("query", "found", "problem"),
    [
        ("budget before:2024-13-45", ["Budget 2024"], "before: “2024-13-45” is not a date"),
        ("budget larger:huge", ["Budget 2024"], "larger: “huge” is not a size"),
        ("budget is:important", ["Budget 2024"], "is: write is:unread"),
        ("budget has:pictures", ["Budget 2024"], "has: only has:attachment"),
        ("budget from:", ["Budget 2024"], "from: needs something to search for"),
        ("budget in:Nowhere", ["Budget 2024"], "in: you have no folder called “Nowhere”"),
    ],
)
def test_a_mistake_is_shown_naming_its_operator_and_the_rest_still_searches(
    client, corpus, query, found, problem
):
    assert search(client, query) == found
    [shown] = problems(client, query)
    assert shown.startswith(problem)
    page = client.get(reverse("search"), {"q": query}).content.decode()
    assert "Part of your search was not understood and was left out" in page


def test_mistakes_are_worded_in_the_users_language(client, corpus):
    korean = {"HTTP_ACCEPT_LANGUAGE": "ko"}
    [shown] = problems(client, "before:2024-13-45", **korean)
    assert shown.startswith("before:")
    assert "YYYY-MM-DD" in shown
    assert re.search("[가-힣]", shown)
    page = client.get(reverse("search"), {"q": "in:없는곳"}, **korean).content.decode()
    assert "in: 없는곳" not in page  # worded, not echoed raw
    assert re.search("in:[^<]*없는곳", page)


def test_a_folder_page_searches_its_folder_and_offers_every_folder(client, corpus):
    assert search(client, "회의", folder="archive") == ["회의를 연기합니다"]
    page = client.get(reverse("folder", args=["archive"]), {"q": "회의"}).content.decode()
    assert f'href="{reverse("search")}?q=%ED%9A%8C%EC%9D%98"' in page  # "Search all folders"


def test_a_folder_page_shows_the_mistakes_of_its_search(client, corpus):
    page = client.get(reverse("folder", args=["inbox"]), {"q": "after:yesterday"})
    assert "after: “yesterday” is not a date" in page.content.decode()


def test_in_typed_on_a_folder_page_searches_there_instead(client, corpus):
    response = client.get(reverse("folder", args=["inbox"]), {"q": "in:sent 회의"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.url).query) == {"q": ["in:sent 회의"]}
    assert urlsplit(response.url).path == reverse("search")


def test_rows_of_a_search_across_folders_show_their_folder(client, corpus):
    page = client.get(reverse("search"), {"q": "회의"}, HTTP_ACCEPT_LANGUAGE="ko")
    rows = {m.subject: m.place_label for m in page.context["page"].messages}
    assert rows == {
        "Budget 2024": "받은편지함",
        "회의 자료 보냅니다": "보낸편지함",
        "회의를 연기합니다": "보관함",
    }
    assert '<span class="badge row-folder">보낸편지함</span>' in page.content.decode()
    own = client.get(reverse("search"), {"q": "monthly"}).context["page"].messages
    assert [m.place_label for m in own] == ["Reports"]


def test_a_search_result_opens(client, corpus):
    found = client.get(reverse("search"), {"q": "to:이민수"}).context["page"].messages
    response = client.get(reverse("read_message", args=[found[0].pk]))
    assert response.status_code == 200
    assert response.context["message"].subject == "회의 자료 보냅니다"


def test_someone_elses_mail_and_folders_are_never_found(client, corpus, jimin):
    bob = make_user("bob")
    bobs = make_account(bob)
    folder = UserFolder.objects.create(owner=bob, name="Secrets")
    store(bobs, "Budget 2024 (Bob's)", from_=KIM_JIHYUN, attachment="예산안.xlsx")
    store(bobs, "Hidden", folder=Folder.USER, user_folder=folder)
    for query in ["budget", "from:ㄱㅈㅎ", "filename:예산안", "in:anywhere", "hidden in:anywhere"]:
        assert not any("Bob" in s or s == "Hidden" for s in search(client, query))
    assert search(client, "in:Secrets") == ALL_MAIL  # not her folder: ignored
    assert problems(client, "in:Secrets") == ["in: you have no folder called “Secrets”."]


def test_the_search_runs_on_the_database_under_test(client, corpus, database):
    other = "sqlite" if database == "default" else "default"
    assert not Message.objects.using(other).exists()
    assert search(client, "from:ㄱㅈㅎ") == ["Budget 2024", "회의를 연기합니다"]
    vendor = connections[database].vendor
    sql = str(filter_by_search(Message.objects.using(database).all(), '"회의 자료"').query)
    assert ("<->" in sql) == (vendor == "postgresql")


def _queries(client, params) -> int:
    reset_queries()
    with CaptureQueriesContext(connections["default"]) as captured_default:
        with CaptureQueriesContext(connections["sqlite"]) as captured_sqlite:
            assert client.get(reverse("search"), params).status_code == 200
    return len(captured_default) + len(captured_sqlite)


def test_the_search_page_costs_the_same_queries_for_few_or_many_results(
    client, jimin, account, monkeypatch
):
    work = UserFolder.objects.create(owner=jimin, name="Work")
    store(account, "needle in inbox")
    store(account, "needle in archive", folder=Folder.ARCHIVE)
    # More than a page at both counts (a longer list offers "Select all", with one
    # query of its own: mailbox.selection).
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    few = _queries(client, {"q": "needle"})
    for i in range(30):
        store(account, f"needle {i}", folder=Folder.ARCHIVE if i % 2 else Folder.INBOX)
        store(account, f"needle work {i}", folder=Folder.USER, user_folder=work)
    assert _queries(client, {"q": "needle"}) == few


def test_search_results_page_with_keyset_cursors(client, jimin, account):
    for i in range(55):
        store(
            account,
            f"page {i:02}",
            folder=Folder.ARCHIVE if i % 2 else Folder.INBOX,
            date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i),
        )
    first = client.get(reverse("search"), {"q": "page"}).context["page"]
    assert [m.subject for m in first.messages][:2] == ["page 54", "page 53"]
    assert len(first.messages) == 50
    rest = client.get(reverse("search"), {"q": "page", "before": first.older}).context["page"]
    assert [m.subject for m in rest.messages] == [f"page {i:02}" for i in range(4, -1, -1)]
    html = client.get(reverse("search"), {"q": "page"}).content.decode()
    assert f'href="{reverse("search")}?q=page&amp;before={first.older}"' in html


def test_an_action_on_search_results_comes_back_to_the_search(client, corpus):
    [budget] = client.get(reverse("search"), {"q": "budget"}).context["page"].messages
    response = client.post(
        reverse("bulk_action"),
        {
            "action": "mark_read",
            "ids": [budget.pk],
            "folder": "",
            "scope": "search",
            "list": "q=budget",
        },
    )
    assert response.status_code == 302
    assert response.url == f"{reverse('search')}?q=budget"
    assert Message.objects.get(pk=budget.pk).seen


# --------------------------------------------------------------------------- options


def test_search_options_build_the_query_and_show_its_results(client, corpus):
    response = client.get(
        reverse("search_options"),
        {"sender": "김지현", "has_attachment": "on", "words": "예산", "without": "draft"},
    )
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.url).query)["q"] == ["예산 -draft from:김지현 has:attachment"]
    assert search(client, "예산 -draft from:김지현 has:attachment") == ["Budget 2024"]


def test_search_options_dates_size_and_folder(client, corpus):
    response = client.get(
        reverse("search_options"),
        {
            "subject": "report draft",
            "after": "2024-06-01",
            "before": "2024-08-01",
            "size_relation": "smaller",
            "size": "1.5",
            "size_unit": "M",
            "folder": "Work/Reports",
        },
    )
    assert parse_qs(urlsplit(response.url).query)["q"] == [
        'subject:"report draft" in:Work/Reports after:2024-06-01 before:2024-08-01 smaller:1536K'
    ]


def test_search_options_with_a_bad_date_ask_again(client, corpus):
    response = client.get(reverse("search_options"), {"after": "yesterday"})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()


def test_every_page_offers_search_options_filled_with_the_query(client, corpus):
    query = "from:alice has:attachment 예산"
    page = client.get(reverse("search"), {"q": query}).content.decode()
    # The panel under the search box loads the form when opened; without JavaScript its
    # link opens the same form as a page.
    options_url = re.search(r'href="(/mail/search/options/\?q=[^"]*)"', page).group(1)
    assert parse_qs(urlsplit(options_url).query)["q"] == [query]
    assert 'name="sender"' not in page  # not rendered until asked for
    for headers in ({"HTTP_HX_REQUEST": "true"}, {}):
        html = client.get(options_url, **headers).content.decode()
        assert 'action="/mail/search/options/"' in html
        assert 'name="sender" value="alice"' in html
        assert 'name="words" value="예산"' in html
        assert re.search(r'name="has_attachment"[^>]*checked', html)
        assert '<option value="Work/Reports">Work / Reports</option>' in html
        assert ("<html" in html) == (headers == {})


def test_in_typed_in_an_own_folder_searches_there_instead(client, corpus, jimin):
    work = UserFolder.objects.get(owner=jimin, name="Work")
    response = client.get(reverse("user_folder", args=[work.pk]), {"q": "in:anywhere won"})
    assert response.status_code == 302
    assert search(client, "in:anywhere won") == ["You won a prize"]


def test_search_results_download_as_mbox_from_every_folder(client, corpus):
    def exported(query):
        response = client.get(
            reverse("export_folder"), {"folder": "search", "q": query, "format": "mbox"}
        )
        assert response.status_code == 200
        return b"".join(response.streaming_content).count(b"Message-ID: <search-")

    assert exported("회의") == 3  # Inbox, Sent and Archive
    assert exported("in:sent") == 1
    assert exported("in:anywhere") == 9


def test_field_operators_match_word_prefixes_with_the_index_on_both(client, corpus, database):
    """PostgreSQL answers from: by the search vector's sender words (its GIN index),
    SQLite by its FTS5 index's sender columns: on both a word matches from its start.
    A domain is found on both."""
    postgres = connections[database].vendor == "postgresql"
    assert search(client, "from:minsoo") == ["Lunch plans"]
    assert search(client, "from:insoo") == []
    assert search(client, "from:@daum.net") == ["Lunch plans"]
    sql = str(filter_by_search(Message.objects.using(database).all(), "from:minsoo").query)
    assert ("'minsoo':*B" in sql) == postgres


def _archive_from_search(client, subjects):
    found = client.get(reverse("search"), {"q": "in:anywhere"}).context["page"].messages
    ids = [m.pk for m in found if m.subject in subjects]
    client.post(
        reverse("bulk_action"),
        {"action": "archive", "ids": ids, "folder": "", "scope": "search", "list": "q=x"},
    )
    return client.session.get("undo")


def test_undo_after_archiving_search_results_puts_them_back_in_their_folder(client, corpus):
    undo = _archive_from_search(client, ["회의 자료 보냅니다"])
    assert (undo["action"], undo["target"]) == ("move", "sent")


def test_no_undo_that_would_pour_several_folders_into_one(client, corpus):
    undo = _archive_from_search(client, ["회의 자료 보냅니다", "Lunch plans"])
    assert "action" not in undo
    assert undo["text"]  # the toast still says what was done


# Conversation view ------------------------------------------------------------------------


def thread_mail(account, subject, ident, *, parent=None, minute=0, **fields):
    """A message of a conversation (`parent`: the Message-ID it answers), stored as polled."""
    headers = [("In-Reply-To", f"<{parent}>"), ("References", f"<{parent}>")] if parent else []
    raw = mf.message(
        mf.text_part("Numbers inside.\n"),
        subject=subject,
        from_="Minsoo Kim <minsoo.kim@daum.net>",
        message_id=f"<{ident}>",
        headers=headers,
    )
    fields.setdefault("date", dt.datetime(2024, 4, 1, 9, minute, tzinfo=dt.UTC))
    message = ingest.store_message(account, raw, f"conv-{next(_uidls)}")
    Message.objects.filter(pk=message.pk).update(**fields)
    return message


@pytest.fixture
def budget_thread(jimin, account):
    """A conversation across Inbox, Sent, Archive and Trash, and a message of its own."""
    jimin.conversation_view = True
    jimin.save(update_fields=["conversation_view"])
    first = thread_mail(account, "Budget review", "b1@x", minute=0)
    sent = thread_mail(
        account, "Re: Budget review", "b2@x", parent="b1@x", minute=1, folder=Folder.SENT
    )
    archived = thread_mail(
        account, "Re: Budget review", "b3@x", parent="b2@x", minute=2, folder=Folder.ARCHIVE
    )
    trashed = thread_mail(
        account,
        "Re: Budget review",
        "b4@x",
        parent="b3@x",
        minute=4,
        folder=Folder.TRASH,
        trashed_from=Folder.INBOX,
    )
    note = thread_mail(account, "Budget note", "n1@x", minute=3)
    return {"first": first, "sent": sent, "archived": archived, "trashed": trashed, "note": note}


def _found(client, query):
    response = client.get(reverse("search"), {"q": query})
    assert response.status_code == 200
    return [m.pk for m in response.context["page"].messages], response.content.decode()


def test_conversation_view_groups_search_results_by_conversation(client, budget_thread):
    rows, page = _found(client, "budget")
    # Newest first: the note, then the conversation's newest result (Trash is not searched).
    assert rows == [budget_thread["note"].pk, budget_thread["archived"].pk]
    assert "3 messages in this conversation" in page
    assert page.count("in this conversation") == 1  # the note is a conversation of one
    # The row opens the whole conversation, from every folder but Trash and Junk.
    opened = client.get(reverse("read_message", args=[budget_thread["archived"].pk]))
    assert [i["message"].pk for i in opened.context["thread"]] == [
        budget_thread[key].pk for key in ("first", "sent", "archived")
    ]


def test_search_results_of_a_conversation_count_as_their_folder_opens_them(client, budget_thread):
    rows, page = _found(client, "budget in:trash")
    assert rows == [budget_thread["trashed"].pk]
    assert "4 messages in this conversation" in page  # from Trash, Trash counts too
    rows, page = _found(client, "budget in:anywhere")
    assert rows == [budget_thread["trashed"].pk, budget_thread["note"].pk]
    assert "4 messages in this conversation" in page


def test_without_conversation_view_every_search_result_is_a_row(client, jimin, budget_thread):
    jimin.conversation_view = False
    jimin.save(update_fields=["conversation_view"])
    rows, page = _found(client, "budget")
    assert len(rows) == 4
    assert "in this conversation" not in page


def test_grouped_search_costs_the_same_queries_for_few_or_many_results(client, jimin, account):
    jimin.conversation_view = True
    jimin.save(update_fields=["conversation_view"])
    work = UserFolder.objects.create(owner=jimin, name="Work")
    thread_mail(account, "needle start", "start@x")
    few = _queries(client, {"q": "needle"})
    for i in range(20):
        thread_mail(account, f"needle {i}", f"n{i}@x", minute=i + 1)
        thread_mail(account, f"Re: needle {i}", f"r{i}@x", parent=f"n{i}@x", folder=Folder.SENT)
        thread_mail(
            account,
            f"Re: needle {i}",
            f"w{i}@x",
            parent=f"r{i}@x",
            folder=Folder.USER,
            user_folder=work,
        )
    many = _queries(client, {"q": "needle"})
    assert many == few
    rows, page = _found(client, "needle")
    assert len(rows) == 21
    assert page.count("3 messages in this conversation") == 20
