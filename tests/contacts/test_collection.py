"""Collected addresses: what a successful send, a sent reply and a trusted sender add.

Sends go through the outbox's real path (compose form → queue → deliver over SMTP to
aiosmtpd), so "sent" means the server accepted the message.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from contacts import collection, suggestions
from contacts.models import (
    CollectedAddress,
    Contact,
    ContactEmail,
    SuggestionPrefix,
    SuggestionTerm,
)
from mailbox import ingest, outbox
from mailbox.models import Message, OutgoingStatus
from testkit import mailfactory as mf
from tests.mailbox.test_send import compose_post, send_now, smtp_account


def collected(user) -> dict[str, CollectedAddress]:
    return {c.address_key: c for c in CollectedAddress.objects.filter(owner=user)}


def received(account, raw) -> Message:
    return ingest.store_message(account, raw, f"r-{len(raw)}-{hash(raw)}")


def test_a_successful_send_collects_every_recipient_with_its_name(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="김지현 <Jihyun.Kim@Example.test>",
        cc="carol@example.test",
        bcc="Dave <dave@example.test>",
        subject="회의",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    rows = collected(alice)
    assert set(rows) == {"jihyun.kim@example.test", "carol@example.test", "dave@example.test"}
    kim = rows["jihyun.kim@example.test"]
    assert (kim.name, kim.source, kim.times_used) == ("김지현", "sent", 1)
    assert kim.last_used_at is not None
    assert rows["dave@example.test"].name == "Dave"
    # The user's own address is never collected.
    assert "alice@example.test" not in rows


def test_writing_again_counts_and_keeps_the_name(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    send_now(alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test")
    assert collected(alice)["bob@example.test"].name == ""
    send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="Bob Lee <BOB@example.test>",
    )
    send_now(
        alice_client, account, django_capture_on_commit_callbacks, to="Robert <bob@example.test>"
    )
    bob = collected(alice)["bob@example.test"]
    assert bob.times_used == 3
    assert bob.name == "Bob Lee"  # filled once, not overwritten by the next name
    assert CollectedAddress.objects.filter(owner=alice).count() == 1


def test_a_failed_send_collects_nothing(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(data_replies=["554 5.7.1 Message rejected as spam"])
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    assert collected(alice) == {}


def test_a_send_still_retrying_collects_nothing_until_it_is_sent(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(data_replies=["451 4.3.0 Try again later", "250 2.0.0 OK"])
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.RETRYING
    assert collected(alice) == {}
    type(outgoing).objects.filter(pk=outgoing.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.deliver(outgoing.pk).startswith("sent")
    assert collected(alice)["bob@example.test"].times_used == 1


def test_a_partial_success_collects_only_the_accepted_recipients(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(rcpt_replies={"nobody@example.test": "550 5.1.1 No such user"})
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test, nobody@example.test",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    assert set(collected(alice)) == {"bob@example.test"}


def test_the_sender_of_a_message_replied_to_is_collected_when_the_reply_is_sent(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    original = received(
        account,
        mf.plain(
            "Lunch?",
            from_="박서준 <seojun@example.test>",
            to="alice@example.test",
            headers=[("Reply-To", "lunch-list@example.test")],
            message_id="<lunch-1@example.test>",
        ),
    )
    response = alice_client.post(reverse("reply", args=[original.pk]))
    draft = outbox.Outgoing.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))
    assert draft.in_reply_to == "lunch-1@example.test"
    assert collected(alice) == {}  # a draft is not a send
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {"account": account.pk, "to": draft.to, "subject": draft.subject, "body": "ok"},
            url=response.url,
        )
    rows = collected(alice)
    # The reply went to the Reply-To list; the message's sender is collected as replied to.
    assert rows["lunch-list@example.test"].source == "sent"
    seojun = rows["seojun@example.test"]
    assert (seojun.source, seojun.name, seojun.times_used) == ("replied", "박서준", 1)


def test_trusting_a_senders_images_collects_the_sender(
    alice_client, alice, alice_account, django_capture_on_commit_callbacks
):
    message = received(alice_account, mf.plain("News", from_="Shop <news@shop.test>"))
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("trust_sender", args=[message.pk]))
    assert response.status_code == 302
    shop = collected(alice)["news@shop.test"]
    assert (shop.source, shop.name, shop.times_used, shop.last_used_at) == (
        "trusted",
        "Shop",
        0,
        None,
    )


def test_preferences_off_collect_nothing(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    type(alice).objects.filter(pk=alice.pk).update(
        collect_recipients=False, collect_reply_senders=False, collect_trusted_senders=False
    )
    account = smtp_account(alice, smtp_server())
    original = received(
        account, mf.plain("Hi", from_="seojun@example.test", message_id="<hi-1@example.test>")
    )
    response = alice_client.post(reverse("reply", args=[original.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {"account": account.pk, "to": "bob@example.test", "subject": "Re: Hi", "body": "."},
            url=response.url,
        )
        alice_client.post(reverse("trust_sender", args=[original.pk]))
    assert collected(alice) == {}


def test_each_preference_turns_off_only_its_own_collection(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    type(alice).objects.filter(pk=alice.pk).update(collect_recipients=False)
    account = smtp_account(alice, smtp_server())
    original = received(
        account, mf.plain("Hi", from_="seojun@example.test", message_id="<hi-2@example.test>")
    )
    response = alice_client.post(reverse("reply", args=[original.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {"account": account.pk, "to": "bob@example.test", "subject": "Re: Hi", "body": "."},
            url=response.url,
        )
    assert set(collected(alice)) == {"seojun@example.test"}


def test_the_preferences_page_turns_collection_off(alice_client, alice):
    page = alice_client.get(reverse("account_list")).content.decode()
    assert 'name="collect_recipients"' in page and 'name="collect_trusted_senders"' in page
    response = alice_client.post(
        reverse("preferences"),
        {"language": "", "theme": "system", "list_density": "comfortable", "time_zone": ""},
    )
    assert response.status_code in (200, 302)
    alice.refresh_from_db()
    assert not alice.collect_recipients
    assert not alice.collect_reply_senders
    assert not alice.collect_trusted_senders


def test_rule_forwards_and_read_receipts_collect_nothing(
    alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    with django_capture_on_commit_callbacks(execute=True):
        forward = outbox.queue_redirect(
            account, mf.plain("urgent", from_="boss@example.test"), "me@phone.test"
        )
    forward.refresh_from_db()
    assert forward.status == OutgoingStatus.SENT
    assert collected(alice) == {}


def test_a_contacts_address_is_counted_for_the_contact_and_hidden_from_the_collected_list(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    contact = Contact.objects.create(owner=alice, display_name="Bob Lee")
    ContactEmail.objects.create(contact=contact, address="bob@example.test", preferred=True)
    account = smtp_account(alice, smtp_server())
    send_now(alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test")
    send_now(alice_client, account, django_capture_on_commit_callbacks, to="carol@example.test")
    assert collected(alice)["bob@example.test"].times_used == 1
    assert [c.address for c in collection.visible_collected(alice)] == ["carol@example.test"]
    [bob] = suggestions.suggest(alice, "bob")
    assert (bob.kind, bob.label) == ("contact", "Bob Lee")


def test_collection_never_touches_another_users_rows(
    alice_client, alice, bob, smtp_server, django_capture_on_commit_callbacks
):
    CollectedAddress.objects.create(
        owner=bob,
        address="carol@example.test",
        source="sent",
        times_used=5,
        last_used_at=timezone.now() - timedelta(days=1),
    )
    account = smtp_account(alice, smtp_server())
    send_now(alice_client, account, django_capture_on_commit_callbacks, to="carol@example.test")
    assert collected(bob)["carol@example.test"].times_used == 5
    assert collected(alice)["carol@example.test"].times_used == 1


def suggestion_rows(user) -> tuple[list, list]:
    """The user's term and prefix rows, as a rebuild would compare them (without ids)."""
    terms = SuggestionTerm.objects.filter(owner=user).values_list(
        "term", "rank", "tier", "address_key", "email_id", "group_id", "collected_id"
    )
    prefixes = SuggestionPrefix.objects.filter(owner=user).values_list(
        "prefix", "key", "email_id", "group_id", "collected_id"
    )
    return sorted(terms), sorted(prefixes)


def test_writing_again_moves_the_suggestion_rank_as_a_rebuild_would(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    # Each send to a known address only updates the ranks of its terms and prefixes
    # (suggestions.rerank_collected): the rows must be those a full rebuild makes.
    contact = Contact.objects.create(owner=alice, display_name="Bob Lee")
    ContactEmail.objects.create(contact=contact, address="bob@example.test", preferred=True)
    account = smtp_account(alice, smtp_server())
    send_now(alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test")
    before = SuggestionTerm.objects.get(owner=alice, term="bob@example.test", email__isnull=False)
    send_now(alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test")
    assert collected(alice)["bob@example.test"].times_used == 2
    after = SuggestionTerm.objects.get(owner=alice, term="bob@example.test", email__isnull=False)
    assert after.rank > before.rank  # the contact's address ranks with what was sent
    kept = suggestion_rows(alice)
    suggestions.reindex_owner(alice)
    assert suggestion_rows(alice) == kept
