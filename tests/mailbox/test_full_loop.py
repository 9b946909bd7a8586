"""The whole loop on devmail: compose → SMTP → POP3 → inbox, and the demo setup."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from accounts.models import MailAccount, User
from devmail import DevMail
from mailbox import ingest
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from tests.conftest import make_account


@pytest.fixture
def devmail(tmp_path):
    server = DevMail(
        tmp_path / "devmail",
        "example.test",
        smtp=("127.0.0.1", 0),
        pop3=("127.0.0.1", 0),
        pop3_timeout=10.0,
    )
    server.add_user("alice@example.test", "alice-mail")
    server.add_user("bob@example.test", "bob-mail")
    server.start()
    yield server
    server.stop()


def devmail_account(user, server, password):
    smtp_host, smtp_port = server.smtp_address
    pop3_host, pop3_port = server.pop3_address
    return make_account(
        user,
        email=f"{user.username}@example.test",
        display_name=user.username,
        pop3_host=pop3_host,
        pop3_port=pop3_port,
        pop3_security="none",
        pop3_login=f"{user.username}@example.test",
        pop3_password=password,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )


def test_alice_sends_bob_a_message_with_attachments_and_bob_receives_it(
    client, alice, bob, devmail, django_capture_on_commit_callbacks
):
    alice_account = devmail_account(alice, devmail, "alice-mail")
    bob_account = devmail_account(bob, devmail, "bob-mail")
    xlsx = bytes(range(256)) * 40
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("compose"),
            {
                "account": alice_account.pk,
                "to": "Bob <bob@example.test>",
                "cc": "alice@example.test",
                "subject": "분기 보고서",
                "body": "첨부합니다.\n",
                "action": "send",
                "attachments": [
                    SimpleUploadedFile("견적서 2026.xlsx", xlsx),
                    SimpleUploadedFile("notes.txt", b"plain notes\n"),
                ],
            },
        )
    assert response.status_code == 302
    outgoing = Outgoing.objects.get(owner=alice)
    assert outgoing.status == OutgoingStatus.SENT
    assert devmail.message_count("bob@example.test") == 1

    result = ingest.poll_account(bob_account.pk)
    assert (result.new, result.error) == (1, "")
    message = Message.objects.get(owner=bob, folder=Folder.INBOX)
    assert message.subject == "분기 보고서"
    assert message.from_address == "alice@example.test"
    assert not message.seen and message.has_attachments
    part = message.attachments.get(filename="견적서 2026.xlsx")
    client.force_login(bob)
    download = client.get(reverse("download_attachment", args=[message.pk, part.pk]))
    assert b"".join(download.streaming_content) == xlsx

    # Bob replies; alice receives it threaded.
    response = client.post(reverse("reply", args=[message.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            response.url,
            {
                "account": bob_account.pk,
                "to": "alice@example.test",
                "subject": "Re: 분기 보고서",
                "body": "고맙습니다\n",
                "action": "send",
            },
        )
    ingest.poll_account(alice_account.pk)
    reply = Message.objects.get(owner=alice, folder=Folder.INBOX, subject="Re: 분기 보고서")
    assert reply.in_reply_to == outgoing.message_id


def test_setup_demo_is_idempotent_and_registers_devmail_users(db, tmp_path, settings, capsys):
    settings.DEBUG = True
    root = tmp_path / "devmail"
    call_command("setup_demo", "--devmail-root", str(root))
    call_command("setup_demo", "--devmail-root", str(root))
    assert User.objects.filter(username__in=["admin", "alice", "bob"]).count() == 3
    assert User.objects.get(username="admin").is_superuser
    assert MailAccount.objects.count() == 2
    account = MailAccount.objects.get(email="alice@example.test")
    assert (account.pop3_port, account.smtp_port, account.leave_on_server) == (1110, 2525, True)
    users = json.loads((root / "users.json").read_text())
    assert set(users) == {"alice@example.test", "bob@example.test"}
    assert "alice / alice" in capsys.readouterr().out


def test_setup_demo_refuses_production(db, settings):
    settings.DEBUG = False
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("setup_demo")


def test_demo_users_can_log_in(db, tmp_path, settings, client):
    settings.DEBUG = True
    call_command("setup_demo", "--devmail-root", str(tmp_path))
    response = client.post(reverse("login"), {"username": "alice", "password": "alice"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
