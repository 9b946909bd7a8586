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


def _row(html: str, pk: int) -> str:
    start = html.rindex("<li ", 0, html.index(f'id="row-{pk}"'))
    return html[start : html.index("</li>", start)]


def test_a_row_escapes_every_text_the_sender_wrote(alice_client, alice_account):
    hostile = '"><img src=x onerror=alert(1)>'
    m = make_message(alice_account, uidl="h", subject=hostile, from_name=hostile, snippet=hostile)
    row = _row(alice_client.get(reverse("home")).content.decode(), m.pk)
    assert "<img" not in row
    assert row.count("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") == 4  # +aria-label


def test_a_row_links_to_the_message_and_posts_its_actions_to_it(alice_client, alice_account):
    m = make_message(alice_account, uidl="l", seen=False, flagged=True)
    row = _row(alice_client.get(reverse("home")).content.decode(), m.pk)
    read_url, action_url = (
        reverse("read_message", args=[m.pk]),
        reverse("message_action", args=[m.pk]),
    )
    assert f'href="{read_url}"' in row
    assert row.count(f'formaction="{action_url}"') == 4  # archive, trash, mark read, unflag
    assert 'value="mark_read"' in row and 'value="unflag"' in row and 'aria-pressed="true"' in row
    assert row.startswith('<li class="list-row unread"')


def test_a_row_in_trash_offers_restore_instead_of_archive_and_trash(alice_client, alice_account):
    m = make_message(alice_account, uidl="t", folder="trash")
    html = alice_client.get(reverse("folder", args=["trash"])).content.decode()
    row = _row(html, m.pk)
    assert 'value="restore"' in row
    assert 'value="archive"' not in row and 'value="trash"' not in row


def test_a_row_is_written_in_the_users_language(alice_client, alice_account):
    alice_account.user.language = "ko"
    alice_account.user.save()
    m = make_message(alice_account, uidl="k", subject="", has_attachments=True)
    row = _row(alice_client.get(reverse("home")).content.decode(), m.pk)
    assert "(제목 없음)" in row
    assert 'aria-label="휴지통으로 이동"' in row
