"""GET /mail/status/: what pages ask every few seconds to show new mail without reloading.

The Inbox's unread count (title and favicon), the newest message of the folder on
screen (to refresh its list), and the unread Inbox messages that arrived after the
page's cursor (desktop notifications): always the asking user's own, in a bounded
number of queries however much mail there is.
"""

import datetime as dt
import json
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mailbox.models import Folder, Message

_uidls = count(1)
NOW = timezone.now()


def message(account, *, minutes_ago=0, **fields) -> Message:
    defaults = {
        "subject": "Hello",
        "from_name": "Sender",
        "from_address": "sender@example.test",
        "date": NOW - dt.timedelta(minutes=minutes_ago),
        "size": 10,
        "raw_file": "raw/x.eml",
        "raw_sha256": "0" * 64,
        "uidl": f"status-{next(_uidls)}",
    }
    return Message.objects.create(owner=account.user, account=account, **{**defaults, **fields})


def status(client, **params) -> dict:
    response = client.get(reverse("poll_status"), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


@pytest.fixture
def bob_client(client, bob_account):
    client.force_login(bob_account.user)
    return client


def test_status_promises_its_fields(bob_client, bob_account):
    data = status(bob_client)
    assert set(data) == {
        "accounts",
        "poll_seconds",
        "inbox_unread",
        "folder",
        "latest",
        "cursor",
        "new_count",
        "new",
    }
    assert data["accounts"][0]["account"] == bob_account.email
    assert data["poll_seconds"] == 30
    assert data == {
        **data,
        "inbox_unread": 0,
        "folder": "inbox",
        "latest": None,
        "cursor": 0,
        "new_count": 0,
        "new": [],
    }


def test_poll_interval_comes_from_the_setting(bob_client, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 5
    assert status(bob_client)["poll_seconds"] == 5


def test_inbox_unread_counts_only_unread_inbox_messages(bob_client, bob_account):
    message(bob_account)
    message(bob_account)
    message(bob_account, seen=True)
    message(bob_account, folder=Folder.ARCHIVE)
    message(bob_account, folder=Folder.TRASH)
    assert status(bob_client)["inbox_unread"] == 2


def test_latest_is_the_first_row_of_the_folders_first_page(bob_client, bob_account):
    newest = message(bob_account, minutes_ago=1)
    message(bob_account, minutes_ago=60)  # stored later, dated earlier: not the first row
    archived = message(bob_account, folder=Folder.ARCHIVE, minutes_ago=5)
    assert status(bob_client)["latest"] == newest.pk
    assert status(bob_client, folder="archive") == {
        **status(bob_client, folder="archive"),
        "folder": "archive",
        "latest": archived.pk,
    }
    assert status(bob_client, folder="sent")["latest"] is None


def test_unknown_folder_means_the_inbox(bob_client, bob_account):
    newest = message(bob_account)
    data = status(bob_client, folder="../secret")
    assert (data["folder"], data["latest"]) == ("inbox", newest.pk)


def test_without_since_nothing_is_new_and_the_cursor_is_the_baseline(bob_client, bob_account):
    message(bob_account, seen=True)
    unread = message(bob_account, minutes_ago=30)  # the highest id, though older
    data = status(bob_client)
    assert (data["new_count"], data["new"]) == (0, [])
    assert data["cursor"] == unread.pk


def test_messages_after_the_cursor_are_named_newest_first(bob_client, bob_account):
    cursor = status(bob_client)["cursor"]
    first = message(bob_account, from_name="Dana", subject="Lunch?")
    second = message(bob_account, from_name="", from_address="eve@example.test", subject="")
    data = status(bob_client, since=cursor)
    assert data["new_count"] == 2
    assert data["new"] == [
        {
            "id": second.pk,
            "sender": "eve@example.test",
            "subject": "",
            "date": second.date.isoformat(),
            "url": reverse("read_message", args=[second.pk]),
        },
        {
            "id": first.pk,
            "sender": "Dana",
            "subject": "Lunch?",
            "date": first.date.isoformat(),
            "url": reverse("read_message", args=[first.pk]),
        },
    ]
    assert data["cursor"] == second.pk
    assert status(bob_client, since=data["cursor"])["new"] == []


def test_read_or_filed_arrivals_are_not_announced(bob_client, bob_account):
    cursor = status(bob_client)["cursor"]
    message(bob_account, seen=True)
    message(bob_account, folder=Folder.ARCHIVE)
    data = status(bob_client, since=cursor)
    assert (data["new_count"], data["new"]) == (0, [])


def test_a_message_marked_unread_again_is_not_new(bob_client, bob_account):
    old = message(bob_account, seen=True, minutes_ago=90)
    message(bob_account, seen=True)
    cursor = status(bob_client)["cursor"]
    Message.objects.filter(pk=old.pk).update(seen=False)
    data = status(bob_client, since=cursor)
    assert data["inbox_unread"] == 1
    assert data["new"] == []


def test_many_arrivals_are_counted_but_only_a_few_named(bob_client, bob_account):
    cursor = status(bob_client)["cursor"]
    arrived = [message(bob_account, subject=f"n{i}") for i in range(8)]
    data = status(bob_client, since=cursor)
    assert data["new_count"] == 8
    assert [m["id"] for m in data["new"]] == [m.pk for m in arrived[::-1][:5]]


def test_a_bad_since_is_ignored(bob_client, bob_account):
    message(bob_account)
    data = status(bob_client, since="abc")
    assert (data["inbox_unread"], data["new"]) == (1, [])


def test_outsider_sees_only_their_own_mail(client, alice_account, bob_account):
    mine = message(alice_account, subject="for alice", minutes_ago=10)
    bobs = [message(bob_account, subject="for bob") for _ in range(3)]  # newer, higher ids
    client.force_login(alice_account.user)
    data = status(client, since=0)
    assert data["inbox_unread"] == 1
    assert data["latest"] == mine.pk
    assert [m["id"] for m in data["new"]] == [mine.pk]
    assert data["cursor"] == mine.pk < min(m.pk for m in bobs)
    assert data["accounts"] == [{**data["accounts"][0], "account": alice_account.email}]
    assert len(data["accounts"]) == 1


def test_status_needs_a_login(client, bob_account):
    message(bob_account)
    response = client.get(reverse("poll_status"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_status_is_read_only(bob_client):
    assert bob_client.post(reverse("poll_status")).status_code == 405


def queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        status(client, **params)
    return len(captured)


def test_query_count_is_bounded_whatever_the_mail(bob_client, bob_account):
    cursor = status(bob_client)["cursor"]
    message(bob_account)
    few = queries(bob_client, folder="archive", since=cursor)
    for i in range(30):
        message(bob_account, minutes_ago=i)
        message(bob_account, folder=Folder.ARCHIVE, minutes_ago=i)
    many = queries(bob_client, folder="archive", since=cursor)
    assert many == few
    # Session and user, the accounts, the newest row of the Inbox and of the folder,
    # the unread aggregate, and the few new messages' names.
    assert many <= 7
    # Nothing new, on the Inbox: two queries fewer.
    assert queries(bob_client, since=status(bob_client)["cursor"]) <= 5
