"""Select all: the whole list, every page, chosen on the server (mailbox.selection).

A list of several pages offers "Select all N messages in Inbox"; choosing it posts
`select_all` and `upto` (the highest id the list showed) instead of ids, and the
server acts on the folder's (or search's, or account's) messages in a bounded number
of queries. Pages here hold 3 rows (listing.PAGE_SIZE lowered).
"""

import itertools
import re
from html import unescape

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailbox import folders, ingest, listing, selection
from mailbox.models import BlockedSender, Folder, Message, UserFolder
from testkit import mailfactory as mf
from tests.conftest import make_account
from tests.mailbox.test_threads import _conversation

_uidls = itertools.count(1)


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)


def store(account, subject="hello", **fields) -> Message:
    message = ingest.store_message(account, mf.plain(subject), f"select-{next(_uidls)}")
    if fields:
        Message.objects.filter(pk=message.pk).update(**fields)
        message.refresh_from_db()
    return message


def fill(account, n, subject="hello", **fields) -> list[Message]:
    return [store(account, f"{subject} {i}", **fields) for i in range(n)]


def upto_of(html: str) -> str:
    return re.search(r'name="upto" value="(\d+)"', html).group(1)


def offered(client, html: str) -> dict:
    """The banner's counted offer, as its script asks for it once it shows."""
    url = unescape(re.search(r'data-count-url="([^"]+)"', html).group(1))
    response = client.get(url)
    assert response.status_code == 200
    return response.json()


def shown(client, url) -> tuple[str, list[int]]:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [m.pk for m in response.context["page"].messages]


def select_all(client, url, action, *, folder="inbox", list_query="", **extra):
    """What the list's form posts after "Select all": the page's ids as well (ticked),
    the scope of the list, and the cutoff the page was drawn with."""
    html, page_ids = shown(client, url)
    data = {
        "action": action,
        "folder": folder,
        "list": list_query,
        "select_all": "1",
        "upto": upto_of(html),
        "ids": [str(pk) for pk in page_ids],
        **extra,
    }
    return client.post(reverse("bulk_action"), data)


INBOX = reverse("folder", args=["inbox"])


# The offer ----------------------------------------------------------------------------


def test_a_folder_of_several_pages_offers_all_its_messages(alice_client, alice_account):
    messages = fill(alice_account, 7)
    html, _ids = shown(alice_client, INBOX)
    assert "All 3 messages on this page are selected." in html
    # Drawn without counting the folder; counted when the banner shows.
    assert "Select all messages in Inbox" in html
    assert "All messages in Inbox are selected." in html
    assert offered(alice_client, html) == {
        "choose": "Select all 7 messages in Inbox",
        "chosen": "All 7 messages in Inbox are selected.",
    }
    assert upto_of(html) == str(max(m.pk for m in messages))


def test_the_count_counts_only_up_to_the_list_drawn(alice_client, alice_account):
    fill(alice_account, 7)
    html, _ids = shown(alice_client, INBOX)
    store(alice_account, "arrived since")
    assert offered(alice_client, html)["choose"] == "Select all 7 messages in Inbox"


def test_another_users_folder_is_not_counted(alice, alice_client, alice_account, bob):
    mine = UserFolder.objects.create(owner=alice, name="Mine")
    fill(alice_account, 7, folder=Folder.USER, user_folder=mine)
    url = reverse("select_all_count")
    params = {"folder": f"user:{mine.pk}", "upto": "999999"}
    assert alice_client.get(url, params).status_code == 200
    alice_client.force_login(bob)
    assert alice_client.get(url, params).status_code == 404
    assert alice_client.get(url, {"folder": "inbox"}).status_code == 400  # no upto


def test_a_list_of_one_page_offers_nothing_more(alice_client, alice_account):
    fill(alice_account, 3)
    html, _ids = shown(alice_client, INBOX)
    assert 'name="select_all"' not in html


def test_without_javascript_the_offer_is_a_checkbox_of_the_bulk_form(alice_client, alice_account):
    fill(alice_account, 5)
    html, _ids = shown(alice_client, INBOX)
    form = html[html.index('id="bulk"') : html.index("</form>", html.index('id="bulk"'))]
    assert '<input type="checkbox" name="select_all" value="1"' in form
    assert 'name="upto"' in form


def test_a_search_and_an_account_filter_count_what_they_show(alice, alice_client, alice_account):
    other = make_account(alice, email="work@example.test")
    fill(alice_account, 4, "invoice")
    fill(alice_account, 3, "lunch")
    fill(other, 5, "invoice")
    html, _ids = shown(alice_client, f"{INBOX}?q=invoice")
    assert offered(alice_client, html)["choose"] == "Select all 9 messages that match this search"
    html, _ids = shown(alice_client, f"{INBOX}?account={other.pk}")
    assert offered(alice_client, html)["choose"] == (
        "Select all 5 messages in Inbox of work@example.test"
    )
    html, _ids = shown(alice_client, f"{reverse('search')}?q=invoice")
    assert offered(alice_client, html)["choose"] == "Select all 9 messages that match this search"


def test_conversation_view_counts_conversations(alice, alice_client, alice_account):
    alice.conversation_view = True
    alice.save(update_fields=["conversation_view"])
    for n in range(4):
        _conversation(alice_account, f"topic{n}", 2, minutes=n * 10)
    html, ids = shown(alice_client, INBOX)
    assert len(ids) == 3
    assert "Select all conversations in Inbox" in html
    assert offered(alice_client, html)["choose"] == "Select all 4 conversations in Inbox"
    assert "All 3 conversations on this page are selected." in html


def test_the_offer_in_korean(alice_client, alice_account):
    fill(alice_account, 7)
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    html, _ids = shown(alice_client, INBOX)
    assert "이 페이지의 메일 3개가 모두 선택되었습니다." in html
    assert "받은편지함의 메일 모두 선택" in html
    assert "받은편지함의 메일이 모두 선택되었습니다." in html
    assert "선택 해제" in html
    assert offered(alice_client, html) == {
        "choose": "받은편지함의 메일 7개 모두 선택",
        "chosen": "받은편지함의 메일 7개가 모두 선택되었습니다.",
    }


# Acting on all of it ------------------------------------------------------------------


def test_select_all_archives_every_message_of_a_folder_of_several_pages(
    alice_client, alice_account
):
    messages = fill(alice_account, 7)
    response = select_all(alice_client, INBOX, "archive")
    assert response.status_code == 302
    assert set(Message.objects.filter(folder=Folder.ARCHIVE).values_list("pk", flat=True)) == {
        m.pk for m in messages
    }
    page = alice_client.get(response.url).content.decode()
    assert "7 messages archived." in page


def test_select_all_marks_every_message_read_from_the_menu(alice_client, alice_account):
    fill(alice_account, 8)
    select_all(alice_client, INBOX, "menu", menu_action="mark_read")
    assert not Message.objects.filter(seen=False).exists()


def test_select_all_moves_an_own_folders_messages(alice, alice_client, alice_account):
    projects = folders.create(alice, "Projects")
    messages = fill(alice_account, 5, folder=Folder.USER, user_folder=projects)
    fill(alice_account, 2)  # the Inbox: not shown, not touched
    key = folders.user_key(projects.pk)
    select_all(
        alice_client,
        reverse("user_folder", args=[projects.pk]),
        "move_to",
        folder=key,
        target=Folder.ARCHIVE,
    )
    assert set(Message.objects.filter(folder=Folder.ARCHIVE).values_list("pk", flat=True)) == {
        m.pk for m in messages
    }
    assert Message.objects.filter(folder=Folder.INBOX).count() == 2


def test_only_the_searched_messages_are_acted_on(alice_client, alice_account):
    invoices = fill(alice_account, 5, "invoice")
    fill(alice_account, 4, "lunch")
    select_all(alice_client, f"{INBOX}?q=invoice", "trash", list_query="q=invoice")
    assert set(Message.objects.filter(folder=Folder.TRASH).values_list("pk", flat=True)) == {
        m.pk for m in invoices
    }


def test_only_the_filtered_accounts_messages_are_acted_on(alice, alice_client, alice_account):
    other = make_account(alice, email="work@example.test")
    fill(alice_account, 4)
    work = fill(other, 5)
    select_all(
        alice_client, f"{INBOX}?account={other.pk}", "archive", list_query=f"account={other.pk}"
    )
    assert set(Message.objects.filter(folder=Folder.ARCHIVE).values_list("pk", flat=True)) == {
        m.pk for m in work
    }


def test_select_all_of_a_search_across_folders(alice_client, alice_account):
    hits = fill(alice_account, 3, "invoice") + fill(alice_account, 2, "invoice", folder="archive")
    fill(alice_account, 3, "lunch")
    select_all(
        alice_client,
        f"{reverse('search')}?q=invoice",
        "mark_read",
        folder="",
        list_query="q=invoice",
        scope="search",
    )
    assert set(Message.objects.filter(seen=True).values_list("pk", flat=True)) == {
        m.pk for m in hits
    }


def test_conversation_view_select_all_takes_every_message_of_the_conversations(
    alice, alice_client, alice_account
):
    alice.conversation_view = True
    alice.save(update_fields=["conversation_view"])
    for n in range(4):
        _conversation(alice_account, f"topic{n}", 2, minutes=n * 10)
    select_all(alice_client, INBOX, "archive")
    assert not Message.objects.filter(folder=Folder.INBOX).exists()


def test_another_users_folder_is_404(alice, bob, client, alice_account, bob_account):
    projects = folders.create(alice, "Projects")
    fill(alice_account, 4, folder=Folder.USER, user_folder=projects)
    client.force_login(bob)
    response = client.post(
        reverse("bulk_action"),
        {
            "action": "archive",
            "folder": folders.user_key(projects.pk),
            "select_all": "1",
            "upto": "999999",
        },
    )
    assert response.status_code == 404
    assert not Message.objects.filter(folder=Folder.ARCHIVE).exists()


def test_bobs_select_all_of_his_inbox_leaves_alices_alone(alice_account, bob, client, bob_account):
    alices = fill(alice_account, 3)
    bobs = fill(bob_account, 4)
    client.force_login(bob)
    select_all(client, INBOX, "archive")
    assert set(Message.objects.filter(folder=Folder.ARCHIVE).values_list("pk", flat=True)) == {
        m.pk for m in bobs
    }
    assert all(
        m.folder == Folder.INBOX for m in Message.objects.filter(pk__in=[a.pk for a in alices])
    )


def test_mail_that_arrives_after_the_list_was_drawn_is_left_alone(alice_client, alice_account):
    fill(alice_account, 5)
    html, page_ids = shown(alice_client, INBOX)
    late = store(alice_account, "arrived later")
    alice_client.post(
        reverse("bulk_action"),
        {"action": "archive", "folder": "inbox", "select_all": "1", "upto": upto_of(html)},
    )
    assert list(Message.objects.filter(folder=Folder.INBOX).values_list("pk", flat=True)) == [
        late.pk
    ]


def test_select_all_without_a_cutoff_is_refused(alice_client, alice_account):
    fill(alice_account, 5)
    response = alice_client.post(
        reverse("bulk_action"), {"action": "archive", "folder": "inbox", "select_all": "1"}
    )
    assert response.status_code == 400
    assert not Message.objects.filter(folder=Folder.ARCHIVE).exists()


def test_a_rows_own_button_acts_on_that_message_only(alice_client, alice_account):
    messages = fill(alice_account, 5)
    html, _ids = shown(alice_client, INBOX)
    one = messages[0]
    alice_client.post(
        reverse("message_action", args=[one.pk]),
        {"action": "archive", "select_all": "1", "upto": upto_of(html)},
    )
    assert list(Message.objects.filter(folder=Folder.ARCHIVE).values_list("pk", flat=True)) == [
        one.pk
    ]


@pytest.mark.parametrize("action", ["archive", "mark_read"])
def test_the_queries_do_not_grow_with_the_selection(
    alice_client, alice_account, monkeypatch, action, django_assert_max_num_queries
):
    monkeypatch.setattr(selection, "UNDO_LIMIT", 2)  # both sizes above it: no ids kept

    def measure(n) -> int:
        Message.objects.all().delete()
        fill(alice_account, n)
        html, _ids = shown(alice_client, INBOX)
        data = {"action": action, "folder": "inbox", "select_all": "1", "upto": upto_of(html)}
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            alice_client.post(reverse("bulk_action"), data)
        assert not Message.objects.filter(folder=Folder.INBOX, seen=False).exists() or (
            action == "archive"
        )
        return len(captured)

    small, large = measure(6), measure(24)
    assert small == large
    fill(alice_account, 40)
    html, _ids = shown(alice_client, INBOX)
    data = {"action": action, "folder": "inbox", "select_all": "1", "upto": upto_of(html)}
    with django_assert_max_num_queries(large):
        alice_client.post(reverse("bulk_action"), data)


def test_delete_forever_of_a_large_selection_runs_in_chunks(
    alice_client, alice_account, monkeypatch
):
    monkeypatch.setattr(selection, "UNDO_LIMIT", 3)
    monkeypatch.setattr(selection, "CHUNK", 2)
    fill(alice_account, 7, folder=Folder.TRASH, trashed_from=Folder.INBOX)
    kept = fill(alice_account, 2)
    select_all(
        alice_client,
        reverse("folder", args=["trash"]),
        "delete_forever",
        folder="trash",
        confirm="on",
    )
    assert list(Message.objects.values_list("pk", flat=True).order_by("pk")) == [m.pk for m in kept]


def test_report_junk_of_everything_blocks_every_sender(alice_client, alice_account, monkeypatch):
    monkeypatch.setattr(selection, "UNDO_LIMIT", 3)
    monkeypatch.setattr(selection, "CHUNK", 2)
    fill(alice_account, 6)
    html, _ids = shown(alice_client, INBOX)
    alice_client.post(
        reverse("report_junk_messages"),
        {"folder": "inbox", "block": "on", "select_all": "1", "upto": upto_of(html)},
    )
    assert Message.objects.filter(folder=Folder.JUNK).count() == 6
    assert BlockedSender.objects.filter(owner__username="alice").exists()


def test_snooze_everything(alice_client, alice_account):
    fill(alice_account, 5)
    html, _ids = shown(alice_client, INBOX)
    alice_client.post(
        reverse("snooze_messages"),
        {"folder": "inbox", "until": "tomorrow", "select_all": "1", "upto": upto_of(html)},
    )
    assert Message.objects.filter(folder=Folder.SNOOZED).count() == 5


# Undo ---------------------------------------------------------------------------------


def test_undo_of_a_small_select_all_puts_everything_back(alice_client, alice_account):
    messages = fill(alice_account, 5)
    select_all(alice_client, INBOX, "archive")
    undo = alice_client.session["undo"]
    assert undo["text"] == "5 messages archived."
    assert sorted(undo["ids"]) == sorted(m.pk for m in messages)
    alice_client.post(
        reverse("bulk_action"),
        {"action": undo["action"], "ids": undo["ids"], "target": undo["target"], "folder": "inbox"},
    )
    assert Message.objects.filter(folder=Folder.INBOX).count() == 5


def test_undo_is_not_offered_past_the_limit(alice_client, alice_account, monkeypatch):
    monkeypatch.setattr(selection, "UNDO_LIMIT", 4)
    fill(alice_account, 6)
    select_all(alice_client, INBOX, "archive")
    undo = alice_client.session["undo"]
    assert "ids" not in undo
    assert undo["text"] == ("6 messages archived. Undo is not offered for more than 4 messages.")


def test_undo_note_in_korean(alice_client, alice_account, monkeypatch):
    monkeypatch.setattr(selection, "UNDO_LIMIT", 4)
    fill(alice_account, 6)
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    select_all(alice_client, INBOX, "archive")
    assert "메일이 4개를 넘으면 실행 취소를 할 수 없습니다." in alice_client.session["undo"]["text"]


def test_download_selected_with_select_all_holds_the_whole_list(alice_client, alice_account):
    fill(alice_account, 5)
    html, page_ids = shown(alice_client, INBOX)
    response = alice_client.post(
        reverse("export_selection"),
        {
            "folder": "inbox",
            "format": "mbox",
            "select_all": "1",
            "upto": upto_of(html),
            "ids": [str(pk) for pk in page_ids],
        },
    )
    mbox = b"".join(response.streaming_content)
    assert mbox.count(b"\nSubject: hello ") + mbox.startswith(b"Subject: hello ") == 5


@pytest.mark.parametrize("conversations", [False, True])
def test_the_offer_costs_no_query_of_its_own(alice, alice_client, alice_account, conversations):
    # The cutoff comes with the page's rows (listing.Page.newest_id): a list of one page
    # (no offer) and one of two pages (an offer) cost the same queries.
    alice.conversation_view = conversations
    alice.save(update_fields=["conversation_view"])

    def add(first: int) -> None:
        for n in range(first, first + 3):
            if conversations:
                _conversation(alice_account, f"topic{n}", 2, minutes=n * 10)
            else:
                store(alice_account, f"hello {n}")

    def queries() -> tuple[int, bool]:
        with CaptureQueriesContext(connection) as captured:
            html = alice_client.get(INBOX).content.decode()
        return len(captured), 'name="upto"' in html

    add(0)
    one_page = queries()
    add(3)
    two_pages = queries()

    assert one_page == (two_pages[0], False) and two_pages[1]


def test_the_cutoff_is_the_newest_message_when_the_page_was_read(alice_client, alice_account):
    fill(alice_account, 5)
    newest = Message.objects.latest("pk").pk
    html, _ = shown(alice_client, INBOX)
    assert upto_of(html) == str(newest)
