"""Search finds a message by what it forwards as an attachment (issue 24).

A message/rfc822 attachment's sender (name and address), subject and text are searched
like body text, at any depth; ``from:`` stays on the message's own sender. Every test
runs on the default database (PostgreSQL in CI) and on the "sqlite" one (FTS5), the
whole request pinned to one of them as in test_korean_search.
"""

import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from mailbox import ingest
from mailbox.models import Message
from mailbox.search import search_vector
from testkit import mailfactory as mf
from tests.mailbox import test_korean_search

pytestmark = pytest.mark.django_db(databases=["default", "sqlite"])
# Each test on both databases, as Korean search is: Ji-min's account, logged in.
database = test_korean_search.database
mailbox = test_korean_search.mailbox
_uidls = itertools.count(1)

INNER = mf.plain(
    "분기 보고서 Quarterly figures",
    "회의 자료를 첨부합니다. Spreadsheet enclosed.\n",
    from_=f"{mf.encoded_word('김지현')} <jihyun.kim@daum.net>",
)
DEEPEST = mf.plain(
    "Ancient contract", "Signed in 1999.\n", from_="Archibald Oldfield <archie@old.example>"
)


def store(account, raw: bytes) -> Message:
    return ingest.store_message(account, raw, f"attached-{next(_uidls)}")


def search(client, query) -> list[str]:
    response = client.get(reverse("folder", args=["inbox"]), {"q": query})
    assert response.status_code == 200
    return sorted(m.subject for m in response.context["page"].messages)


@pytest.mark.parametrize(
    "query",
    [
        "김지현",  # the inner sender's name
        "jihyun.kim@daum.net",  # the inner sender's address
        "jihyun",  # a part of it
        "보고서",  # the inner subject, Korean
        "quarterly",  # and English
        "분기 보고서",  # as a phrase
        "자료를",  # the inner text
    ],
)
def test_a_forwarded_message_is_found_by_what_it_forwards(mailbox, client, query):
    store(mailbox, mf.forwarded(INNER))
    store(mailbox, mf.plain("Lunch", "Noodles?\n"))
    assert search(client, query) == ["Fwd: inner"]


def test_attached_messages_are_found_at_any_depth(mailbox, client):
    store(mailbox, mf.forwarded(mf.forwarded(DEEPEST)))
    assert search(client, "archibald") == ["Fwd: inner"]
    assert search(client, "archie@old.example") == ["Fwd: inner"]
    assert search(client, "ancient contract") == ["Fwd: inner"]


def test_from_is_the_messages_own_sender_not_the_forwarded_one(mailbox, client):
    store(mailbox, mf.forwarded(INNER))
    assert search(client, "from:김지현") == []
    assert search(client, "from:jihyun.kim@daum.net") == []
    assert search(client, "subject:보고서") == []
    assert search(client, f"from:{mf.DEFAULT_FROM.split('<')[-1].rstrip('>')}") == ["Fwd: inner"]


def test_excluding_a_word_of_the_forwarded_message_excludes_it(mailbox, client):
    store(mailbox, mf.forwarded(INNER))
    store(mailbox, mf.plain("Lunch", "Noodles?\n"))
    assert search(client, "-김지현") == ["Lunch"]


def as_stored_before_attached_text(message: Message) -> None:
    """The row as ingest wrote it before attached messages were searched."""
    message.attached_text = ""
    Message.objects.filter(pk=message.pk).update(
        attached_text="", search_vector=search_vector(message, message.text_body)
    )


def rederive() -> str:
    out = StringIO()
    call_command("rederive_parts", "--all", stdout=out)
    return out.getvalue()


def test_rederive_makes_mail_stored_before_findable_and_twice_is_safe(mailbox, client):
    old = store(mailbox, mf.forwarded(mf.forwarded(DEEPEST)))
    store(mailbox, mf.plain("Lunch", "Noodles?\n"))
    as_stored_before_attached_text(old)
    assert search(client, "archibald") == []
    assert search(client, "oldfield") == []

    output = rederive()
    assert "checked 2 messages, changed 1" in output
    assert "  attached_text: 1" in output
    assert search(client, "archibald") == ["Fwd: inner"]
    assert search(client, "ancient") == ["Fwd: inner"]
    assert search(client, "noodles") == ["Lunch"]  # the other message is as it was

    assert "checked 2 messages, changed 0" in rederive()
    assert search(client, "archibald") == ["Fwd: inner"]
