"""Junk: Report junk (blocking the sender or not), Not junk, Undo, the blocked senders
page, and mail from blocked senders arriving in Junk through a real poll."""

import itertools

import pytest
from django.urls import reverse

from mailbox import ingest
from mailbox.models import BlockedSender, Folder, Message, TrustedSender
from testkit import mailfactory as mf
from testkit.mailfactory import mail
from tests.conftest import dovecot_account

_uidls = itertools.count(1)


def store(account, sender="Spammer <spam@junk.example>", subject="Buy now", **fields):
    raw = mf.plain(subject=subject, from_=sender)
    message = ingest.store_message(account, raw, f"junk-{next(_uidls)}")
    if fields:
        Message.objects.filter(pk=message.pk).update(**fields)
        message.refresh_from_db()
    return message


def blocked(user) -> list[str]:
    return list(BlockedSender.objects.filter(owner=user).values_list("address", flat=True))


# Report junk ----------------------------------------------------------------------------


def test_report_junk_moves_the_message_and_blocks_its_sender(alice, alice_client, alice_account):
    message = store(alice_account)
    response = alice_client.post(
        reverse("report_junk_message", args=[message.pk]), {"block": "on"}, follow=True
    )
    message.refresh_from_db()
    assert message.folder == Folder.JUNK
    assert blocked(alice) == ["spam@junk.example"]
    page = response.content.decode()
    assert "1 message moved to Junk. Blocked: spam@junk.example." in page


def test_report_junk_without_blocking_only_moves_it(alice, alice_client, alice_account):
    message = store(alice_account)
    alice_client.post(reverse("report_junk_message", args=[message.pk]), {})
    message.refresh_from_db()
    assert message.folder == Folder.JUNK
    assert blocked(alice) == []


def test_the_inbox_offers_snooze_and_report_junk_for_the_selection(alice_client, alice_account):
    store(alice_account)
    page = alice_client.get(reverse("folder", args=["inbox"])).content.decode()
    assert f'formaction="{reverse("snooze_messages")}"' in page
    assert f'formaction="{reverse("report_junk_messages")}"' in page


def test_the_reading_pane_offers_report_junk_with_blocking_ticked(alice_client, alice_account):
    message = store(alice_account)
    page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert reverse("report_junk_message", args=[message.pk]) in page
    assert '<input type="checkbox" name="block" value="on" checked>' in page


def test_bulk_report_junk_blocks_each_sender_once(alice, alice_client, alice_account):
    a = store(alice_account, sender="a@one.example")
    b = store(alice_account, sender="A@One.example")
    c = store(alice_account, sender="c@two.example")
    keep = store(alice_account, sender="friend@example.com")
    alice_client.post(
        reverse("report_junk_messages"),
        {"ids": [a.pk, b.pk, c.pk], "block": "on", "folder": "inbox"},
    )
    assert sorted(blocked(alice)) == ["a@one.example", "c@two.example"]
    folders_now = dict(Message.objects.values_list("pk", "folder"))
    assert folders_now == {a.pk: "junk", b.pk: "junk", c.pk: "junk", keep.pk: "inbox"}


def test_undo_of_a_report_brings_it_back_and_unblocks(alice, alice_client, alice_account):
    message = store(alice_account, folder=Folder.ARCHIVE)
    alice_client.post(reverse("report_junk_message", args=[message.pk]), {"block": "on"})
    undo = alice_client.session["undo"]
    alice_client.post(reverse("bulk_action"), {**undo, "folder": "archive"})
    message.refresh_from_db()
    assert message.folder == Folder.ARCHIVE
    assert blocked(alice) == []


# Not junk ------------------------------------------------------------------------------


def test_not_junk_moves_it_to_the_inbox_and_unblocks_the_sender(alice, alice_client, alice_account):
    message = store(alice_account, folder=Folder.JUNK)
    BlockedSender.objects.create(owner=alice, address="spam@junk.example")
    BlockedSender.objects.create(owner=alice, address="@junk.example")
    response = alice_client.post(
        reverse("message_action", args=[message.pk]), {"action": "not_junk"}, follow=True
    )
    message.refresh_from_db()
    assert message.folder == Folder.INBOX
    # The address is unblocked; a blocked domain was a choice of its own and stays.
    assert blocked(alice) == ["@junk.example"]
    assert "1 message moved to Inbox." in response.content.decode()


def test_the_junk_folder_offers_not_junk_and_no_snooze(alice_client, alice_account):
    store(alice_account, folder=Folder.JUNK)
    page = alice_client.get(reverse("folder", args=["junk"])).content.decode()
    assert 'value="not_junk"' in page
    assert f'formaction="{reverse("snooze_messages")}"' not in page
    assert f'formaction="{reverse("report_junk_messages")}"' not in page


# Outsiders -----------------------------------------------------------------------------


def test_others_cannot_report_or_rescue_alices_mail(client, alice, alice_account, bob):
    message = store(alice_account)
    junked = store(alice_account, sender="x@y.example", folder=Folder.JUNK)
    client.force_login(bob)
    assert client.post(reverse("report_junk_message", args=[message.pk]), {}).status_code == 404
    client.post(reverse("report_junk_messages"), {"ids": [message.pk], "block": "on"})
    client.post(reverse("bulk_action"), {"action": "not_junk", "ids": [junked.pk]})
    message.refresh_from_db()
    junked.refresh_from_db()
    assert (message.folder, junked.folder) == (Folder.INBOX, Folder.JUNK)
    assert blocked(bob) == []


# Blocked senders page ------------------------------------------------------------------


def test_blocked_senders_page_lists_only_the_users_own(alice, alice_client, bob):
    BlockedSender.objects.create(owner=alice, address="spam@junk.example")
    BlockedSender.objects.create(owner=bob, address="bobs-enemy@example.com")
    page = alice_client.get(reverse("blocked_senders")).content.decode()
    assert "spam@junk.example" in page
    assert "bobs-enemy@example.com" not in page


def test_settings_link_to_the_blocked_senders_page(alice_client):
    page = alice_client.get(reverse("account_list")).content.decode()
    assert reverse("blocked_senders") in page


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("Spam@Junk.Example", "spam@junk.example"), (" @Junk.Example ", "@junk.example")],
)
def test_block_an_address_or_a_domain(alice, alice_client, typed, stored):
    response = alice_client.post(reverse("blocked_senders"), {"address": typed}, follow=True)
    assert blocked(alice) == [stored]
    assert f"Mail from {stored} will go to Junk." in response.content.decode()


@pytest.mark.parametrize("typed", ["not an address", "@", "@nodot", "a@", ""])
def test_an_invalid_address_is_refused_naming_the_field(alice, alice_client, typed):
    response = alice_client.post(reverse("blocked_senders"), {"address": typed})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Address or domain: " in page
    assert blocked(alice) == []


def test_blocking_twice_says_it_is_already_blocked(alice, alice_client):
    BlockedSender.objects.create(owner=alice, address="spam@junk.example")
    response = alice_client.post(reverse("blocked_senders"), {"address": "SPAM@junk.example"})
    assert response.status_code == 400
    assert "spam@junk.example is already blocked." in response.content.decode()


def test_unblock_removes_the_entry(alice, alice_client):
    entry = BlockedSender.objects.create(owner=alice, address="spam@junk.example")
    response = alice_client.post(reverse("unblock_sender", args=[entry.pk]), follow=True)
    assert blocked(alice) == []
    assert "spam@junk.example is no longer blocked." in response.content.decode()


def test_others_cannot_unblock_alices_senders(client, alice, bob):
    entry = BlockedSender.objects.create(owner=alice, address="spam@junk.example")
    client.force_login(bob)
    assert client.post(reverse("unblock_sender", args=[entry.pk])).status_code == 404
    assert blocked(alice) == ["spam@junk.example"]


# Arrival through a real poll (Dovecot) ---------------------------------------------------


@pytest.mark.dovecot
def test_a_poll_puts_mail_from_blocked_senders_in_junk(alice, bob, dovecot, pop3_user):
    BlockedSender.objects.create(owner=alice, address="spam@junk.example")
    BlockedSender.objects.create(owner=alice, address="@bulk.example")
    BlockedSender.objects.create(owner=bob, address="friend@example.com")  # bob's, not alice's
    pop3_user.deliver(mail(subject="by address", sender="Spam <SPAM@junk.example>"))
    pop3_user.deliver(mail(subject="by domain", sender="news@bulk.example"))
    pop3_user.deliver(mail(subject="from a friend", sender="friend@example.com"))
    pop3_user.deliver(mail(subject="subdomain", sender="x@mail.bulk.example"))
    account = dovecot_account(alice, dovecot, pop3_user)

    assert ingest.poll_account(account.pk).new == 4

    folders_now = dict(Message.objects.filter(owner=alice).values_list("subject", "folder"))
    assert folders_now == {
        "by address": "junk",
        "by domain": "junk",
        "from a friend": "inbox",
        "subdomain": "inbox",
    }


# Junk's own ways out: Delete forever, Empty Junk; images wait --------------------------


def test_junk_can_be_deleted_forever_once_confirmed(alice_client, alice_account):
    message = store(alice_account, folder=Folder.JUNK)
    data = {"action": "delete_forever", "ids": [message.pk], "folder": "junk"}
    alice_client.post(reverse("bulk_action"), data)
    assert Message.objects.filter(pk=message.pk).exists(), "needs confirmation"
    alice_client.post(reverse("bulk_action"), {**data, "confirm": "on"})
    assert not Message.objects.filter(pk=message.pk).exists()


def test_empty_junk_deletes_only_the_users_junk(client, alice_account, bob_account):
    alice_junk = store(alice_account, folder=Folder.JUNK)
    alice_inbox = store(alice_account)
    bob_junk = store(bob_account, folder=Folder.JUNK)
    client.force_login(alice_account.user)
    page = client.get(reverse("folder", args=["junk"])).content.decode()
    assert reverse("empty_junk") in page
    response = client.post(reverse("empty_junk"), follow=True)
    assert "Deleted 1 message forever." in response.content.decode()
    remaining = set(Message.objects.values_list("pk", flat=True))
    assert remaining == {alice_inbox.pk, bob_junk.pk}
    assert alice_junk.pk not in remaining


def test_in_junk_remote_images_wait_even_for_a_trusted_sender(alice, alice_client, alice_account):
    raw = mf.message(
        mf.text_part('<p>Hi</p><img src="https://tracker.invalid/p.png">', "html"),
        subject="Looks trusted",
        from_="friend@example.com",
    )
    message = ingest.store_message(alice_account, raw, "junk-images")
    TrustedSender.objects.create(owner=alice, address="friend@example.com")
    inbox_page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "Remote images are blocked." not in inbox_page

    Message.objects.filter(pk=message.pk).update(folder=Folder.JUNK)
    junk_page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "Remote images are blocked." in junk_page
    body = alice_client.get(reverse("message_body", args=[message.pk]))
    assert "https:" not in body["Content-Security-Policy"]
