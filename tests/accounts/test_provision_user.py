import pytest
from django.core.management import CommandError, call_command

from accounts.models import MailAccount, User

ARGS = [
    "erin",
    "--email",
    "erin@example.test",
    "--pop3",
    "127.0.0.1:1110",
    "--pop3-security",
    "none",
    "--smtp",
    "127.0.0.1:2525",
    "--smtp-security",
    "none",
]


@pytest.fixture
def passwords(monkeypatch):
    monkeypatch.setenv("WEBMAIL_USER_PASSWORD", "erin web passphrase")
    monkeypatch.setenv("WEBMAIL_MAIL_PASSWORD", "erin-mail-secret")


def test_provision_creates_user_and_account(db, passwords):
    call_command("provision_user", *ARGS, "--delete-after-download")
    user = User.objects.get(username="erin")
    assert user.check_password("erin web passphrase")
    account = MailAccount.objects.get(user=user)
    assert (account.pop3_host, account.pop3_port, account.pop3_security) == (
        "127.0.0.1",
        1110,
        "none",
    )
    assert (account.smtp_port, account.pop3_login) == (2525, "erin@example.test")
    assert account.pop3_password == "erin-mail-secret"
    assert account.leave_on_server is False
    assert account.allow_insecure_tls is False


def test_provision_twice_updates_and_never_duplicates(db, passwords, monkeypatch):
    call_command("provision_user", *ARGS)
    monkeypatch.setenv("WEBMAIL_MAIL_PASSWORD", "rotated-secret")
    call_command(
        "provision_user",
        *ARGS[:-4],
        "--smtp",
        "127.0.0.1:2526",
        "--smtp-security",
        "none",
        "--insecure-tls",
        "--login",
        "erin",
    )
    assert User.objects.filter(username="erin").count() == 1
    account = MailAccount.objects.get(user__username="erin")
    assert account.smtp_port == 2526
    assert account.pop3_login == "erin"
    assert account.pop3_password == "rotated-secret"
    assert account.allow_insecure_tls is True


def test_provision_without_passwords_fails_clearly(db, monkeypatch):
    monkeypatch.delenv("WEBMAIL_USER_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="WEBMAIL_USER_PASSWORD"):
        call_command("provision_user", *ARGS)


def test_provision_rejects_a_bad_port(db, passwords):
    with pytest.raises(CommandError, match="HOST:PORT"):
        call_command(
            "provision_user",
            "erin",
            "--email",
            "erin@example.test",
            "--pop3",
            "127.0.0.1:0",
            "--smtp",
            "127.0.0.1:25",
        )
