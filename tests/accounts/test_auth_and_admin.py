"""Login, throttling, and the admin."""

import pytest
from django.urls import reverse

from accounts.models import MailAccount, User
from tests.conftest import PASSWORD, make_account


def test_every_page_but_login_requires_login(client, db):
    for url in (reverse("home"), reverse("account_list"), reverse("password_change")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert client.get(reverse("login")).status_code == 200


def test_login_and_logout(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_an_error(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_repeated_failures_lock_the_login_even_with_the_right_password(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_from_one_ip_lock_that_ip_across_usernames(client, alice, bob, settings):
    for i in range(settings.WEBMAIL_LOGIN_FAILURES_PER_CLIENT):
        client.post(
            reverse("login"),
            {"username": f"ghost{i}", "password": "wrong"},
            REMOTE_ADDR="203.0.113.9",
        )
    response = client.post(
        reverse("login"), {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 429
    other_ip = client.post(
        reverse("login"), {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert other_ip.status_code == 302


def test_password_change(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a new long passphrase 42",
            "new_password2": "a new long passphrase 42",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a new long passphrase 42")


def test_non_staff_get_no_admin(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 302


def test_admin_creates_a_user_with_a_mail_account(client, charlie):
    client.force_login(charlie)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "dora",
            "password1": "a long dora passphrase",
            "password2": "a long dora passphrase",
            "usable_password": "true",
            "mail_accounts-TOTAL_FORMS": "0",
            "mail_accounts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    dora = User.objects.get(username="dora")
    change_url = reverse("admin:accounts_user_change", args=[dora.pk])
    page = client.get(change_url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update(
        {
            "username": "dora",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "mail_accounts-TOTAL_FORMS": "1",
            "mail_accounts-INITIAL_FORMS": "0",
            "mail_accounts-0-email": "dora@example.test",
            "mail_accounts-0-pop3_host": "pop.example.test",
            "mail_accounts-0-pop3_port": "995",
            "mail_accounts-0-pop3_security": "ssl",
            "mail_accounts-0-pop3_login": "dora",
            "mail_accounts-0-pop3_password": "dora-pop-secret",
            "mail_accounts-0-smtp_host": "smtp.example.test",
            "mail_accounts-0-smtp_port": "587",
            "mail_accounts-0-smtp_security": "starttls",
            "mail_accounts-0-poll_interval": "5",
            "mail_accounts-0-enabled": "on",
            "mail_accounts-0-leave_on_server": "on",
        }
    )
    data.pop("password", None)
    response = client.post(change_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    account = MailAccount.objects.get(user=dora)
    assert account.pop3_password == "dora-pop-secret"
    html = client.get(change_url).content.decode()
    assert "dora@example.test" in html
    assert "dora-pop-secret" not in html


def test_admin_account_pages_never_show_passwords(client, charlie, alice):
    account = make_account(alice)
    client.force_login(charlie)
    for url in (
        reverse("admin:accounts_mailaccount_change", args=[account.pk]),
        reverse("admin:accounts_user_change", args=[alice.pk]),
        reverse("admin:accounts_mailaccount_changelist"),
    ):
        html = client.get(url).content.decode()
        assert account.email in html
        assert account.pop3_password not in html
        assert account.smtp_password not in html


def test_admin_deactivated_user_cannot_log_in(client, charlie, alice):
    alice.is_active = False
    alice.save()
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("query", ["alice", "example.test"])
def test_admin_account_list_searches(client, charlie, alice, query):
    make_account(alice)
    client.force_login(charlie)
    response = client.get(reverse("admin:accounts_mailaccount_changelist"), {"q": query})
    assert "alice@example.test" in response.content.decode()
