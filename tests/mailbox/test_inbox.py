"""The inbox list and "Check mail now" (per-user, eager tasks)."""

import json

from django.urls import reverse
from django.utils import timezone

from mailbox.models import Message
from tests.conftest import make_account


def make_message(account, **fields) -> Message:
    defaults = {
        "subject": "Hello",
        "from_name": "Sender",
        "from_address": "s@example.test",
        "date": timezone.now(),
        "size": 10,
        "raw_file": "raw/x.eml",
        "raw_sha256": "0" * 64,
    }
    return Message.objects.create(owner=account.user, account=account, **{**defaults, **fields})


def test_inbox_lists_only_the_users_own_messages(client, alice_account, bob_account):
    make_message(alice_account, subject="for alice", uidl="1")
    make_message(bob_account, subject="for bob", uidl="1")
    client.force_login(bob_account.user)
    html = client.get(reverse("home")).content.decode()
    assert "for bob" in html
    assert "for alice" not in html


def test_inbox_escapes_hostile_subjects(alice_client, alice_account):
    make_message(alice_account, subject="<script>alert(1)</script>", uidl="x")
    html = alice_client.get(reverse("home")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_empty_inbox_without_account_links_to_settings(alice_client):
    html = alice_client.get(reverse("home")).content.decode()
    assert "No mail account is configured yet" in html
    assert reverse("account_list") in html


def test_check_mail_polls_the_users_accounts_and_reports_the_outcome(
    alice_client, alice, unused_port, django_capture_on_commit_callbacks
):
    make_account(alice, pop3_port=unused_port, pop3_security="none")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("check_mail"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "requested_at" in json.loads(response.content)
    status = json.loads(alice_client.get(reverse("poll_status")).content)
    [account] = status["accounts"]
    assert account["last_poll_at"]
    assert "refused" in account["error"].lower()
    html = alice_client.get(reverse("home")).content.decode()
    assert account["error"] in html.replace("&#x27;", "'")


def test_poll_status_shows_only_own_accounts(client, alice_account, bob_account):
    client.force_login(bob_account.user)
    status = json.loads(client.get(reverse("poll_status")).content)
    assert [a["account"] for a in status["accounts"]] == [bob_account.email]


def test_check_mail_requires_post_and_csrf(alice, client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.get(reverse("check_mail")).status_code == 405
    assert strict.post(reverse("check_mail")).status_code == 403
