"""Mail accounts: settings pages, validation, write-only encrypted passwords."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.models import MailAccount
from tests.conftest import make_account

VALID_FORM = {
    "email": "alice@example.test",
    "display_name": "Alice",
    "signature": "-- \nAlice",
    "pop3_host": "pop.example.test",
    "pop3_port": "995",
    "pop3_security": "ssl",
    "pop3_login": "alice",
    "pop3_password": "pop-plaintext-secret",
    "smtp_host": "smtp.example.test",
    "smtp_port": "587",
    "smtp_security": "starttls",
    "smtp_login": "alice",
    "smtp_password": "smtp-plaintext-secret",
    "leave_on_server": "on",
    "poll_interval": "5",
    "enabled": "on",
}


def raw_row(account_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_mailaccount WHERE id = %s", [account_id])
        return " ".join(str(value) for value in cursor.fetchone())


def test_passwords_are_encrypted_in_the_database_row(alice):
    account = make_account(
        alice, pop3_password="pop-plaintext-secret", smtp_password="smtp-plaintext-secret"
    )
    row = raw_row(account.pk)
    assert "pop-plaintext-secret" not in row
    assert "smtp-plaintext-secret" not in row
    assert MailAccount.objects.get(pk=account.pk).pop3_password == "pop-plaintext-secret"


def test_rotation_decrypts_with_an_old_key_and_encrypts_with_the_new(alice, settings):
    from cryptography.fernet import Fernet

    from accounts import crypto

    account = make_account(alice, pop3_password="rotate-me")
    old_keys = list(settings.WEBMAIL_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.WEBMAIL_ENCRYPTION_KEYS = [new_key, *old_keys]
    crypto._fernet.cache_clear()
    try:
        account.refresh_from_db()
        assert account.pop3_password == "rotate-me"
        call_command("rotate_mail_passwords")
        settings.WEBMAIL_ENCRYPTION_KEYS = [new_key]
        crypto._fernet.cache_clear()
        account.refresh_from_db()
        assert account.pop3_password == "rotate-me"
    finally:
        crypto._fernet.cache_clear()


def test_add_account_through_the_settings_page(alice_client, alice):
    response = alice_client.post(reverse("account_create"), VALID_FORM)
    assert response.status_code == 302
    account = alice.mail_accounts.get()
    assert account.pop3_password == "pop-plaintext-secret"
    assert account.smtp_password == "smtp-plaintext-secret"


def test_settings_pages_never_show_a_saved_password(alice_client, alice_account):
    for url in (reverse("account_list"), reverse("account_edit", args=[alice_account.pk])):
        html = alice_client.get(url).content.decode()
        assert alice_account.email in html
        assert alice_account.pop3_password not in html
        assert alice_account.smtp_password not in html


def test_empty_password_on_edit_keeps_the_saved_one(alice_client, alice_account):
    form = {
        **VALID_FORM,
        "email": alice_account.email,
        "pop3_password": "",
        "smtp_password": "",
        "display_name": "Alice Renamed",
    }
    response = alice_client.post(reverse("account_edit", args=[alice_account.pk]), form)
    assert response.status_code == 302
    alice_account.refresh_from_db()
    assert alice_account.display_name == "Alice Renamed"
    assert alice_account.pop3_password == "pop-secret-alice"
    assert alice_account.smtp_password == "smtp-secret-alice"


def test_a_password_in_a_failed_form_is_not_echoed_back(alice_client):
    form = {**VALID_FORM, "pop3_port": "0"}
    html = alice_client.post(reverse("account_create"), form).content.decode()
    assert "pop-plaintext-secret" not in html
    assert "smtp-plaintext-secret" not in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pop3_port", "0", "POP3 port"),
        ("smtp_port", "70000", "SMTP port"),
        ("pop3_host", "bad host!", "POP3 host"),
        ("smtp_host", "-leading-dash.example", "SMTP host"),
        ("email", "not-an-address", "Email address"),
    ],
)
def test_invalid_settings_get_an_error_naming_the_field(alice_client, field, value, message):
    response = alice_client.post(reverse("account_create"), {**VALID_FORM, field: value})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f"{message}:" in response.content.decode()


def test_new_account_needs_a_pop3_password(alice_client):
    response = alice_client.post(reverse("account_create"), {**VALID_FORM, "pop3_password": ""})
    assert "pop3_password" in response.context["form"].errors


@pytest.mark.parametrize(
    ("port", "security"),
    [
        ("995", "ssl"),
        ("110", "starttls"),
    ],
)
def test_pop3_security_defaults_to_the_ports_convention(alice_client, alice, port, security):
    form = {**VALID_FORM, "pop3_port": port, "pop3_security": ""}
    assert alice_client.post(reverse("account_create"), form).status_code == 302
    assert alice.mail_accounts.get().pop3_security == security


@pytest.mark.parametrize(("port", "security"), [("465", "ssl"), ("587", "starttls")])
def test_smtp_security_defaults_to_the_ports_convention(alice_client, alice, port, security):
    form = {**VALID_FORM, "smtp_port": port, "smtp_security": ""}
    assert alice_client.post(reverse("account_create"), form).status_code == 302
    assert alice.mail_accounts.get().smtp_security == security


def test_a_security_mode_alone_picks_its_port(alice_client, alice):
    form = {**VALID_FORM, "pop3_port": "", "pop3_security": "starttls"}
    assert alice_client.post(reverse("account_create"), form).status_code == 302
    assert alice.mail_accounts.get().pop3_port == 110


@pytest.mark.parametrize("view", ["account_edit", "account_delete"])
def test_another_users_account_is_404(client, bob, alice_account, view):
    client.force_login(bob)
    assert client.get(reverse(view, args=[alice_account.pk])).status_code == 404
    assert client.post(reverse(view, args=[alice_account.pk]), VALID_FORM).status_code == 404
    alice_account.refresh_from_db()
    assert alice_account.display_name == ""


def test_testing_another_users_account_is_404(client, bob, alice_account):
    client.force_login(bob)
    assert client.post(reverse("account_test", args=[alice_account.pk])).status_code == 404


def test_settings_list_shows_only_own_accounts(client, bob, alice_account, bob_account):
    client.force_login(bob)
    html = client.get(reverse("account_list")).content.decode()
    assert bob_account.email in html
    assert alice_account.email not in html


def test_delete_account(alice_client, alice_account):
    response = alice_client.post(reverse("account_delete", args=[alice_account.pk]))
    assert response.status_code == 302
    assert not MailAccount.objects.filter(pk=alice_account.pk).exists()


def test_insecure_tls_is_shown_as_a_warning(alice_client, alice):
    make_account(alice, allow_insecure_tls=True)
    html = alice_client.get(reverse("account_list")).content.decode()
    assert "Certificate checks are off" in html


def test_connection_test_says_only_that_no_mail_server_answered_on_a_closed_port(
    alice_client, alice, unused_port, django_capture_on_commit_callbacks
):
    # Nothing listens there: the report does not say "refused" (nor "timed out"), so the
    # test cannot tell a closed port from any other silence (accounts.connection).
    account = make_account(
        alice,
        pop3_port=unused_port,
        pop3_security="none",
        smtp_port=unused_port,
        smtp_security="none",
    )
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("account_test", args=[account.pk]))
    account.refresh_from_db()
    assert account.last_test_ok is False
    assert account.pop3_password not in account.last_test_result
    page = alice_client.get(reverse("account_list")).content.decode()
    answered = f"No mail server answered at 127.0.0.1:{unused_port}."
    assert f"POP3 failed: {answered}" in page
    assert f"SMTP failed: {answered}" in page
    assert "refused" not in page.lower()


PREFERENCES = {"theme": "system", "list_density": "comfortable", "keyboard_shortcuts": "on"}


def test_time_zone_preference_is_saved_and_validated(alice_client, alice):
    alice_client.post(reverse("preferences"), {**PREFERENCES, "time_zone": "Asia/Seoul"})
    alice.refresh_from_db()
    assert alice.time_zone == "Asia/Seoul"
    response = alice_client.post(
        reverse("preferences"), {**PREFERENCES, "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    assert "Time zone: Select a valid choice." in response.content.decode()
    alice.refresh_from_db()
    assert alice.time_zone == "Asia/Seoul"


def test_theme_density_and_shortcut_preferences_are_saved(alice_client, alice):
    response = alice_client.post(
        reverse("preferences"), {"theme": "dark", "list_density": "compact", "time_zone": ""}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.theme, alice.list_density, alice.keyboard_shortcuts) == ("dark", "compact", False)
    page = alice_client.get(reverse("home")).content.decode()
    assert 'data-theme="dark"' in page
    assert 'class="density-compact"' in page
    assert 'data-shortcuts="off"' in page


def test_an_unknown_theme_is_a_form_error_that_names_the_field(alice_client, alice):
    response = alice_client.post(reverse("preferences"), {**PREFERENCES, "theme": "neon"})
    assert response.status_code == 400
    assert "Theme: Select a valid choice." in response.content.decode()
    alice.refresh_from_db()
    assert alice.theme == "system"
