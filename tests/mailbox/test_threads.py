"""Conversations: threads stored at ingest and send, the conversation list, the thread view."""

import itertools
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.core.management import call_command
from django.db import connection, reset_queries
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailbox import ingest, listing, threading
from mailbox.models import Folder, Message, Outgoing, ThreadKey, TrustedSender, UserFolder
from testkit import mailfactory as mf
from tests.conftest import make_account
from tests.mailbox.test_full_loop import devmail, devmail_account  # noqa: F401 - fixture

_uidls = itertools.count(1)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def mail(
    message_id: str | None,
    subject: str = "Quarterly plan",
    *,
    in_reply_to: str | None = None,
    references: str | None = None,
    minutes: int = 0,
    from_: str = "Bob <bob@example.test>",
) -> bytes:
    headers = []
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to))
    if references:
        headers.append(("References", references))
    return mf.message(
        mf.text_part(f"About {subject}, minute {minutes}.\n"),
        subject=subject,
        from_=from_,
        to="Alice <alice@example.test>",
        date=format_datetime(START + timedelta(minutes=minutes)),
        message_id=f"<{message_id}>" if message_id else None,
        headers=headers,
    )


def store(account, raw: bytes, folder=Folder.INBOX) -> Message:
    return ingest.store_message(account, raw, f"thread-{next(_uidls)}", folder=folder)


def thread_of(*messages: Message) -> set:
    return set(
        Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("thread_id", flat=True)
    )


# Threading at ingest and send -------------------------------------------------------


def _send(client, user, account, **fields):
    client.force_login(user)
    data = {"account": account.pk, "body": "", "action": "send", **fields}
    return client.post(reverse("compose"), data)


def _reply(client, user, message):
    """Reply through the read page's button and send the draft as it was prefilled."""
    client.force_login(user)
    response = client.post(reverse("reply", args=[message.pk]))
    draft = Outgoing.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))
    data = {
        "account": draft.account_id,
        "to": draft.to,
        "subject": draft.subject,
        "body": "Agreed.\n" + draft.body,
        "action": "send",
    }
    return client.post(reverse("compose_edit", args=[draft.pk]), data)


def test_a_conversation_holds_received_mail_and_sent_replies_through_poll_and_send(
    client,
    alice,
    bob,
    devmail,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    alice_account = devmail_account(alice, devmail, "alice-mail")
    bob_account = devmail_account(bob, devmail, "bob-mail")
    with django_capture_on_commit_callbacks(execute=True):
        _send(client, bob, bob_account, to="alice@example.test", subject="Lunch on Friday?")
    ingest.poll_account(alice_account.pk)
    question = Message.objects.get(owner=alice, folder=Folder.INBOX)
    with django_capture_on_commit_callbacks(execute=True):
        _reply(client, alice, question)
    ingest.poll_account(bob_account.pk)
    bobs_copy = Message.objects.get(owner=bob, folder=Folder.INBOX)
    with django_capture_on_commit_callbacks(execute=True):
        _reply(client, bob, bobs_copy)
    ingest.poll_account(alice_account.pk)
    with django_capture_on_commit_callbacks(execute=True):
        _send(client, alice, alice_account, to="bob@example.test", subject="Something else")

    alices = Message.objects.filter(owner=alice)
    lunch = alices.filter(subject__icontains="Lunch")
    assert sorted(lunch.values_list("folder", flat=True)) == ["inbox", "inbox", "sent"]
    assert len(set(lunch.values_list("thread_id", flat=True))) == 1
    other = alices.get(subject="Something else")
    assert other.thread_id is not None and other.thread_id != lunch.first().thread_id
    # Bob's conversation is his own: the same Message-IDs, another thread.
    bobs = set(Message.objects.filter(owner=bob).values_list("thread_id", flat=True))
    assert not bobs & set(lunch.values_list("thread_id", flat=True))


def test_a_reply_that_arrives_before_its_parent_is_joined_by_it(alice_account):
    reply_to_reply = store(alice_account, mail("c@x", "Re: Plan", in_reply_to="<b@x>", minutes=20))
    original = store(alice_account, mail("a@x", "Plan", minutes=0))
    assert reply_to_reply.thread_id != original.thread_id  # nothing links them yet
    reply = store(
        alice_account, mail("b@x", "Re: Plan", in_reply_to="<a@x>", references="<a@x>", minutes=10)
    )
    assert len(thread_of(original, reply, reply_to_reply)) == 1
    assert (
        set(ThreadKey.objects.filter(owner=alice_account.user).values_list("thread_id", flat=True))
        == {reply.thread_id}
        == thread_of(original)
    )


def test_a_parent_arriving_after_its_reply_joins_the_replys_thread(alice_account):
    reply = store(alice_account, mail("b@x", "Re: Plan", in_reply_to="<a@x>", minutes=10))
    original = store(alice_account, mail("a@x", "Plan"))
    assert thread_of(original, reply) == {reply.pk}


def test_subject_fallback_joins_a_reply_without_references(alice_account):
    original = store(alice_account, mail("inv-1@x", "Invoice 42"))
    reply = store(alice_account, mail("inv-2@x", "RE: Invoice 42", minutes=60 * 24))
    korean = store(alice_account, mail("inv-3@x", "답장: [billing] invoice 42", minutes=60 * 48))
    assert len(thread_of(original, reply, korean)) == 1


def test_subject_fallback_is_not_used_for_a_reply_with_references(alice_account):
    original = store(alice_account, mail("inv-1@x", "Invoice 42"))
    reply = store(alice_account, mail("inv-2@x", "Re: Invoice 42", in_reply_to="<elsewhere@x>"))
    assert len(thread_of(original, reply)) == 2


def test_subject_fallback_needs_a_reply_prefix_and_a_recent_original(alice_account):
    original = store(alice_account, mail("inv-1@x", "Invoice 42"))
    same_subject = store(alice_account, mail("inv-2@x", "Invoice 42", minutes=60))
    month_later = store(alice_account, mail("inv-3@x", "Re: Invoice 42", minutes=60 * 24 * 40))
    assert len(thread_of(original, same_subject, month_later)) == 3


def test_threads_are_per_owner(alice_account, bob_account):
    alices = store(alice_account, mail("shared@x", "Plan"))
    bobs = store(bob_account, mail("shared-reply@x", "Re: Plan", in_reply_to="<shared@x>"))
    assert alices.thread_id != bobs.thread_id
    assert (
        ThreadKey.objects.filter(owner=bob_account.user, message_id="shared@x").get().thread_id
        == bobs.thread_id
    )


def test_threading_existing_mail_gives_the_threads_ingest_gives(alice_account):
    messages = [
        store(alice_account, mail("c@x", "Re: Plan", in_reply_to="<b@x>", minutes=20)),
        store(alice_account, mail("a@x", "Plan")),
        store(alice_account, mail("b@x", "Re: Plan", references="<a@x>", minutes=10)),
        store(alice_account, mail("d@x", "Lunch")),
        store(alice_account, mail("e@x", "Re: lunch", minutes=5)),
        store(alice_account, mail("f@x", "Other")),
    ]
    groups = lambda: sorted(  # noqa: E731
        sorted(m.pk for m in messages if thread_of(m) == {t}) for t in thread_of(*messages)
    )
    at_ingest = groups()
    assert len(at_ingest) == 3
    Message.objects.update(thread_id=None, thread_subject="")
    ThreadKey.objects.all().delete()

    call_command("thread_mail")

    assert groups() == at_ingest
    assert not Message.objects.filter(thread_id__isnull=True).exists()
    assert (
        ThreadKey.objects.filter(message_id="b@x").get().thread_id == thread_of(messages[0]).pop()
    )


SEQUENCE = [  # a reply before its parent, a merge, a subject fallback, a plain reply
    ("c@x", "Re: Plan", {"in_reply_to": "<b@x>", "minutes": 20}),
    ("a@x", "Plan", {}),
    ("b@x", "Re: Plan", {"references": "<a@x>", "minutes": 10}),
    ("d@x", "Lunch", {}),
    ("e@x", "Re: lunch", {"minutes": 5}),
    ("f@x", "Other", {}),
    ("g@x", "Re: Other", {"in_reply_to": "<f@x>", "minutes": 1}),
]


def _threads_by_position(messages: list[Message]) -> list[int]:
    """Each message's thread, as the position of the message whose id it is."""
    pks = [m.pk for m in messages]
    threads = dict(Message.objects.filter(pk__in=pks).values_list("pk", "thread_id"))
    return [pks.index(threads[pk]) for pk in pks]


def _keys_by_position(owner, messages: list[Message]) -> dict[str, int]:
    pks = [m.pk for m in messages]
    return {
        ident: pks.index(thread)
        for ident, thread in ThreadKey.objects.filter(owner=owner).values_list(
            "message_id", "thread_id"
        )
    }


def test_a_batch_is_threaded_as_its_messages_stored_one_by_one(alice_account, bob_account):
    one_by_one = [store(alice_account, mail(i, s, **kw)) for i, s, kw in SEQUENCE]
    batch = ingest.store_batch(
        bob_account,
        [(ingest.prepare_message(mail(i, s, **kw)), f"batch-{i}") for i, s, kw in SEQUENCE],
    )
    assert _threads_by_position(batch) == _threads_by_position(one_by_one)
    assert len(set(_threads_by_position(batch))) == 3
    assert _keys_by_position(bob_account.user, batch) == _keys_by_position(
        alice_account.user, one_by_one
    )


def test_a_batch_joins_and_merges_the_threads_stored_before_it(alice_account):
    parent = store(alice_account, mail("a@x", "Plan"))
    orphan = store(alice_account, mail("c@x", "Re: Plan", in_reply_to="<b@x>", minutes=20))
    batch = ingest.store_batch(
        alice_account,
        [
            (ingest.prepare_message(mail(i, s, **kw)), f"later-{i}")
            for i, s, kw in [
                ("b@x", "Re: Plan", {"references": "<a@x>", "minutes": 10}),
                ("d@x", "Re: Plan", {"in_reply_to": "<c@x>", "minutes": 30}),
            ]
        ],
    )
    assert thread_of(parent, orphan, *batch) == {parent.pk}
    assert set(
        ThreadKey.objects.filter(owner=alice_account.user).values_list("thread_id", flat=True)
    ) == {parent.pk}


# The conversation list ------------------------------------------------------------------


def _conversation(account, name: str, size: int, minutes: int = 0) -> list[Message]:
    """A conversation of `size` messages, a minute apart, all in the Inbox."""
    made = []
    for i in range(size):
        parent = f"<{name}-{i - 1}@x>" if i else None
        made.append(
            store(
                account,
                mail(
                    f"{name}-{i}@x",
                    f"{'Re: ' if i else ''}{name}",
                    in_reply_to=parent,
                    minutes=minutes + i,
                ),
            )
        )
    return made


@pytest.fixture
def conversations_on(alice):
    alice.conversation_view = True
    alice.save(update_fields=["conversation_view"])
    return alice


def _rows(response) -> list[int]:
    return [m.pk for m in response.context["page"].messages]


def test_conversation_view_lists_one_row_per_conversation_with_its_count(
    alice_client, conversations_on, alice_account
):
    plan = _conversation(alice_account, "plan", 3)
    lunch = _conversation(alice_account, "lunch", 1, minutes=10)
    sent = store(
        alice_account,
        mail(
            "plan-sent@x",
            "Re: plan",
            in_reply_to="<plan-2@x>",
            minutes=30,
            from_="Alice <alice@example.test>",
        ),
        folder=Folder.SENT,
    )

    response = alice_client.get(reverse("folder", args=["inbox"]))

    assert _rows(response) == [lunch[0].pk, plan[2].pk]  # the newest in the Inbox, newest first
    page = response.content.decode()
    assert "4 messages in this conversation" in page  # the sent reply counts too
    assert "1 message in this conversation" not in page
    sent_rows = _rows(alice_client.get(reverse("folder", args=["sent"])))
    assert sent_rows == [sent.pk]


def test_without_conversation_view_every_message_is_a_row(alice_client, alice_account):
    plan = _conversation(alice_account, "plan", 3)
    response = alice_client.get(reverse("folder", args=["inbox"]))
    assert _rows(response) == [m.pk for m in reversed(plan)]
    assert "in this conversation" not in response.content.decode()


def test_conversation_list_groups_search_results_too(alice_client, conversations_on, alice_account):
    plan = _conversation(alice_account, "plan", 3)
    response = alice_client.get(reverse("folder", args=["inbox"]), {"q": "plan"})
    assert _rows(response) == [plan[2].pk]


def test_a_trashed_message_leaves_the_conversations_count(
    alice_client, conversations_on, alice_account
):
    plan = _conversation(alice_account, "plan", 3)
    Message.objects.filter(pk=plan[0].pk).update(folder=Folder.TRASH, trashed_from=Folder.INBOX)
    page = alice_client.get(reverse("folder", args=["inbox"])).content.decode()
    assert "2 messages in this conversation" in page
    trash = alice_client.get(reverse("folder", args=["trash"]))
    assert _rows(trash) == [plan[0].pk]
    assert "3 messages in this conversation" in trash.content.decode()


@pytest.mark.parametrize("conversations", [1, 8, 30])
def test_conversation_list_costs_the_same_queries_at_any_size(
    alice_client, conversations_on, alice_account, conversations, django_assert_num_queries
):
    for n in range(conversations):
        _conversation(alice_account, f"c{n}", 3, minutes=n * 10)
    url = reverse("folder", args=["inbox"])
    alice_client.get(url)  # the session and caches settle
    reset_queries()
    with CaptureQueriesContext(connection) as baseline:
        alice_client.get(url)
    assert len(baseline) <= 12
    with django_assert_num_queries(len(baseline)):
        response = alice_client.get(url)
    assert len(_rows(response)) == conversations


def test_conversation_list_query_count_does_not_grow_with_the_page(
    alice_client, conversations_on, alice_account
):
    def count() -> int:
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            alice_client.get(reverse("folder", args=["inbox"]))
        return len(captured)

    _conversation(alice_account, "first", 2)
    small = count()
    for n in range(40):
        _conversation(alice_account, f"c{n}", 2, minutes=10 + n * 3)
    assert count() == small


# Reading a conversation -----------------------------------------------------------------


def test_opening_a_message_shows_its_whole_conversation_oldest_first(
    alice_client, conversations_on, alice_account
):
    plan = _conversation(alice_account, "plan", 3)
    sent = store(
        alice_account,
        mail(
            "plan-sent@x",
            "Re: plan",
            in_reply_to="<plan-2@x>",
            minutes=30,
            from_="Alice <alice@example.test>",
        ),
        folder=Folder.SENT,
    )

    response = alice_client.get(reverse("read_message", args=[plan[1].pk]))

    items = response.context["thread"]
    assert [i["message"].pk for i in items] == [plan[0].pk, plan[1].pk, plan[2].pk, sent.pk]
    assert [i["open"] for i in items] == [False, True, False, True]  # the opened and the newest
    page = response.content.decode()
    assert page.count('<details class="thread-message" open>') == 2
    assert page.count('<details class="thread-message" hx-get=') == 2
    for minute in (1, 30):
        assert f"minute {minute}." in page  # the open ones' bodies; the others' on expanding
    assert f'id="thread-message-{sent.pk}"' in page
    # Each open message keeps its own actions (a collapsed one's come when expanded).
    assert reverse("reply", args=[sent.pk]) in page


def test_the_conversation_leaves_out_trash_and_junk(alice_client, conversations_on, alice_account):
    plan = _conversation(alice_account, "plan", 3)
    Message.objects.filter(pk=plan[0].pk).update(folder=Folder.TRASH, trashed_from=Folder.INBOX)
    Message.objects.filter(pk=plan[1].pk).update(folder=Folder.JUNK)
    response = alice_client.get(reverse("read_message", args=[plan[2].pk]))
    assert response.context["thread"] is None  # alone outside Trash and Junk: a plain message
    assert '<ol class="thread"' not in response.content.decode()


def test_without_conversation_view_a_message_is_read_alone(alice_client, alice_account):
    plan = _conversation(alice_account, "plan", 3)
    response = alice_client.get(reverse("read_message", args=[plan[2].pk]))
    assert response.context["thread"] is None
    assert '<ol class="thread"' not in response.content.decode()


def test_reading_a_conversation_costs_the_same_queries_at_any_length(
    alice_client, conversations_on, alice_account
):
    def count(message) -> int:
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            alice_client.get(reverse("read_message", args=[message.pk]))
        return len(captured)

    short = _conversation(alice_account, "short", 3)
    long = _conversation(alice_account, "long", 12, minutes=100)
    assert count(long[-1]) == count(short[-1])


def test_a_conversation_reaching_into_own_folders_costs_no_more_queries(
    alice_client, conversations_on, alice, alice_account
):
    def count(message) -> int:
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            alice_client.get(reverse("read_message", args=[message.pk]))
        return len(captured)

    plan = _conversation(alice_account, "plan", 3)
    count(plan[2])  # the first reading also marks it read
    in_inbox = count(plan[2])
    projects = UserFolder.objects.create(owner=alice, name="Projects")
    Message.objects.filter(pk=plan[0].pk).update(folder=Folder.USER, user_folder=projects)
    assert count(plan[2]) == in_inbox
    assert (
        "Projects" in alice_client.get(reverse("read_message", args=[plan[2].pk])).content.decode()
    )


def _nav(response) -> tuple[int | None, int | None]:
    return response.context["newer"], response.context["older"]


def test_newer_and_older_step_by_conversation_in_conversation_view(
    alice_client, conversations_on, alice_account
):
    early = _conversation(alice_account, "early", 1)
    plan = _conversation(alice_account, "plan", 3, minutes=5)
    late = _conversation(alice_account, "late", 2, minutes=10)
    # The list: late (its newest), plan (its newest), early. Opened from its oldest message,
    # plan steps to the neighbouring conversations, not to its own other messages.
    opened = alice_client.get(reverse("read_message", args=[plan[0].pk]))
    assert _nav(opened) == (late[1].pk, early[0].pk)
    assert _nav(alice_client.get(reverse("read_message", args=[late[0].pk]))) == (None, plan[2].pk)
    assert _nav(alice_client.get(reverse("read_message", args=[early[0].pk]))) == (plan[2].pk, None)
    page = opened.content.decode()
    assert f'href="{reverse("read_message", args=[late[1].pk])}"' in page
    assert 'rel="prev"' in page and 'rel="next"' in page


def test_a_conversation_steps_from_its_row_even_when_another_is_between_its_messages(
    alice_client, conversations_on, alice_account
):
    older = store(alice_account, mail("t-1@x", "Trip", minutes=1))
    other = store(alice_account, mail("o-1@x", "Other", minutes=5))
    newest = store(alice_account, mail("t-2@x", "Re: Trip", in_reply_to="<t-1@x>", minutes=10))
    # The list: Trip (its message at 10), Other. From Trip's older message: nothing newer.
    assert _nav(alice_client.get(reverse("read_message", args=[older.pk]))) == (None, other.pk)
    assert _nav(alice_client.get(reverse("read_message", args=[other.pk]))) == (newest.pk, None)


def test_without_conversation_view_newer_and_older_step_by_message(alice_client, alice_account):
    older = store(alice_account, mail("t-1@x", "Trip", minutes=1))
    other = store(alice_account, mail("o-1@x", "Other", minutes=5))
    newest = store(alice_account, mail("t-2@x", "Re: Trip", in_reply_to="<t-1@x>", minutes=10))
    assert _nav(alice_client.get(reverse("read_message", args=[older.pk]))) == (other.pk, None)
    assert _nav(alice_client.get(reverse("read_message", args=[other.pk]))) == (newest.pk, older.pk)


def test_conversation_steps_stay_in_the_messages_folder(
    alice_client, conversations_on, alice_account
):
    plan = _conversation(alice_account, "plan", 2)
    archived = store(alice_account, mail("a-1@x", "Archived", minutes=5), folder=Folder.ARCHIVE)
    sent = store(
        alice_account,
        mail("plan-sent@x", "Re: plan", in_reply_to="<plan-1@x>", minutes=9),
        folder=Folder.SENT,
    )
    assert archived.pk not in _nav(alice_client.get(reverse("read_message", args=[plan[0].pk])))
    assert _nav(alice_client.get(reverse("read_message", args=[sent.pk]))) == (None, None)


def test_conversation_steps_cost_the_same_queries_however_many_conversations(
    alice_client, conversations_on, alice_account, monkeypatch
):
    def count(message) -> int:
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            alice_client.get(reverse("read_message", args=[message.pk]))
        return len(captured)

    plan = _conversation(alice_account, "plan", 3, minutes=500)
    # The list is longer than a page at both counts (it then offers "Select all", with
    # one query of its own: mailbox.selection).
    _conversation(alice_account, "before", 2, minutes=400)
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    count(plan[0])  # the first reading also marks it read
    few = count(plan[0])
    for n in range(30):
        _conversation(alice_account, f"c{n}", 2, minutes=n * 3)
        _conversation(alice_account, f"d{n}", 2, minutes=600 + n * 3)
    assert count(plan[0]) == few


def _html_mail(message_id: str, minutes: int, *, in_reply_to: str | None = None) -> bytes:
    headers = [("In-Reply-To", in_reply_to), ("References", in_reply_to)] if in_reply_to else []
    return mf.message(
        mf.part(
            b'<p>Offer <img src="https://tracker.example/p.png"></p>', "text/html; charset=utf-8"
        ),
        subject="Offer",
        from_="Shop <shop@example.test>",
        to="Alice <alice@example.test>",
        date=format_datetime(START + timedelta(minutes=minutes)),
        message_id=f"<{message_id}>",
        headers=headers,
    )


def test_a_conversations_junk_never_loads_images_of_a_trusted_sender_unasked(
    alice_client, conversations_on, alice, alice_account
):
    TrustedSender.objects.create(owner=alice, address="shop@example.test")
    first = store(alice_account, _html_mail("s-1@x", 0), folder=Folder.JUNK)
    store(alice_account, _html_mail("s-2@x", 1, in_reply_to="<s-1@x>"), folder=Folder.JUNK)

    def card() -> tuple[bool, bool]:
        # The older message is collapsed; its card is what expanding it fetches.
        url = reverse("thread_card", args=[first.pk])
        item = alice_client.get(url, headers={"HX-Request": "true"}).context["item"]
        return item["show_remote"], item["remote_blocked"]

    assert card() == (False, True)
    # Out of Junk, the trusted sender's images load in every card, as on its own page.
    Message.objects.filter(owner=alice).update(folder=Folder.INBOX)
    assert card() == (True, False)


def test_a_conversation_never_shows_another_users_mail(
    alice_client, conversations_on, alice_account, bob
):
    plan = _conversation(alice_account, "plan", 2)
    bobs_account = make_account(bob)
    bobs = store(bobs_account, mail("bob-reply@x", "Re: plan", in_reply_to="<plan-1@x>", minutes=5))
    response = alice_client.get(reverse("read_message", args=[plan[1].pk]))
    assert [i["message"].pk for i in response.context["thread"]] == [plan[0].pk, plan[1].pk]
    assert alice_client.get(reverse("read_message", args=[bobs.pk])).status_code == 404


def test_conversation_view_is_a_preference(alice_client, alice):
    response = alice_client.post(
        reverse("preferences"),
        {
            "language": "",
            "theme": "system",
            "list_density": "comfortable",
            "conversation_view": "on",
            "keyboard_shortcuts": "on",
            "time_zone": "",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.conversation_view is True
    assert "conversation_view" in alice_client.get(reverse("account_list")).content.decode()


def test_a_long_conversation_shows_its_newest_messages_and_the_opened_one(
    alice_client, conversations_on, alice_account, monkeypatch
):
    monkeypatch.setattr(threading, "MAX_SHOWN", 3)
    plan = _conversation(alice_account, "plan", 6)
    response = alice_client.get(reverse("read_message", args=[plan[0].pk]))
    shown = [i["message"].pk for i in response.context["thread"]]
    assert shown == [plan[0].pk, plan[3].pk, plan[4].pk, plan[5].pk]
    assert "Only the newest 3 messages of this conversation are shown." in response.content.decode()


def test_only_the_opened_and_newest_messages_come_with_bodies_the_others_link_to_theirs(
    alice_client, conversations_on, alice_account
):
    plan = _conversation(alice_account, "plan", 5)
    page = alice_client.get(reverse("read_message", args=[plan[1].pk])).content.decode()
    assert page.count('<details class="thread-message"') == 5
    assert page.count('<div class="text-body">') == 2  # the opened one and the newest
    assert page.count('<details class="thread-message" open') == 2
    for collapsed in (plan[0], plan[2], plan[3]):
        card_url = reverse("thread_card", args=[collapsed.pk])
        assert f'hx-get="{card_url}"' in page
        # Without JavaScript, the collapsed message's line links to the message itself.
        assert f'href="{reverse("read_message", args=[collapsed.pk])}"' in page


def test_an_expanded_message_of_a_conversation_brings_its_card_and_actions(
    alice_client, conversations_on, alice_account
):
    plan = _conversation(alice_account, "plan", 3)
    response = alice_client.get(
        reverse("thread_card", args=[plan[0].pk]), headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert '<div class="text-body">' in page
    assert f'action="{reverse("reply", args=[plan[0].pk])}"' in page
    Message.objects.filter(pk=plan[0].pk).update(seen=False)
    alice_client.get(reverse("thread_card", args=[plan[0].pk]), headers={"HX-Request": "true"})
    assert Message.objects.get(pk=plan[0].pk).seen is False  # expanding is not reading it


def test_a_conversations_card_is_the_owners_alone_and_without_htmx_is_the_message(
    alice_client, conversations_on, alice_account, bob
):
    plan = _conversation(alice_account, "plan", 2)
    url = reverse("thread_card", args=[plan[0].pk])
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.get(url, headers={"HX-Request": "true"}).status_code == 404
    response = alice_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("read_message", args=[plan[0].pk])


def test_a_long_conversation_costs_the_queries_of_a_short_one(
    alice_client, conversations_on, alice_account
):
    def count(message) -> int:
        alice_client.get(reverse("read_message", args=[message.pk]))  # marks it read first
        with CaptureQueriesContext(connection) as captured:
            alice_client.get(reverse("read_message", args=[message.pk]))
        return len(captured)

    short = _conversation(alice_account, "short", 2)
    long = _conversation(alice_account, "long", 12, minutes=100)
    # Opened from its oldest or its newest message, whatever its length.
    assert count(long[0]) == count(short[0]) == count(long[-1]) == count(short[-1])


@pytest.mark.django_db(transaction=True)
def test_upgrading_threads_the_mail_stored_before_conversations():
    from tests.mailbox.test_migrations import migrate

    apps = migrate([("mailbox", "0009_add_own_folders_junk_snooze_conversations_and_imports")])
    try:
        user = apps.get_model("accounts", "User").objects.create(username="mig")
        account = apps.get_model("accounts", "MailAccount").objects.create(
            user=user, email="mig@example.test", pop3_host="127.0.0.1", smtp_host="127.0.0.1"
        )
        OldMessage = apps.get_model("mailbox", "Message")  # noqa: N806 - a model class
        common = {"owner": user, "account": account, "size": 1, "raw_sha256": "ab" * 32}

        def old(uidl, message_id, subject, minutes, **fields):
            return OldMessage.objects.create(
                uidl=uidl,
                message_id=message_id,
                subject=subject,
                date=START + timedelta(minutes=minutes),
                **common,
                **fields,
            ).pk

        reply = old("u1", "b@x", "Re: Plan", 10, in_reply_to="a@x", references="a@x")
        original = old("u2", "a@x", "Plan", 0)
        other = old("u3", "z@x", "Lunch", 5)

        migrate([("mailbox", "0010_thread_existing_mail_and_index_conversations")])
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    threads = dict(Message.objects.values_list("pk", "thread_id"))
    assert threads[reply] == threads[original] == min(reply, original)
    assert threads[other] == other
    assert ThreadKey.objects.get(message_id="a@x").thread_id == threads[original]


def test_the_conversations_row_is_current_when_an_older_message_of_it_is_open(
    alice_client, conversations_on, alice_account
):
    plan = _conversation(alice_account, "plan", 3)
    other = store(alice_account, mail("other@x", "Other", minutes=60))
    page = alice_client.get(reverse("read_message", args=[plan[0].pk])).content.decode()
    # The conversation's row is its newest message's; it is the one marked current.
    assert f'current" id="row-{plan[2].pk}"' in page
    assert f'data-thread="{plan[0].thread_id}"' in page
    assert f'id="row-{other.pk}" data-id="{other.pk}"' in page
    assert page.count(' current" id="row-') == 1
    assert f'data-thread-id="{plan[0].thread_id}"' in page  # for the script to find the row
