"""Login throttling per username and per client, and the client's address behind proxies."""

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from accounts.client_ip import client_ip
from tests.conftest import PASSWORD

ATTACKER = "203.0.113.66"
VICTIM_HOME = "198.51.100.20"
PROXY = "10.0.0.5"


def login(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_interleaved_guessing_is_cut_off_at_the_per_account_limit(client, alice, bob, settings):
    """Bob guesses Alice's password and logs in to his own account between guesses:
    his successes do not wipe the failures recorded against Alice."""
    failures = 0
    locked_after = None
    for _round in range(4):
        for _ in range(4):
            response = login(client, "alice", "guess", REMOTE_ADDR=ATTACKER)
            failures += 1
            if response.status_code == 429:
                locked_after = failures
                break
        if locked_after:
            break
        assert login(client, "bob", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302
        client.post(reverse("logout"))
    assert locked_after == settings.AXES_FAILURE_LIMIT
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429


def test_the_account_limit_holds_across_client_addresses(client, alice, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        login(client, "alice", "guess", REMOTE_ADDR=f"192.0.2.{i + 1}")
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME).status_code == 429


def test_a_locked_account_answers_as_a_missing_one_does(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "alice", "guess", REMOTE_ADDR="192.0.2.1")
        login(client, "nobody-here", "guess", REMOTE_ADDR="192.0.2.2")
    real = login(client, "alice", "guess", REMOTE_ADDR="192.0.2.3")
    missing = login(client, "nobody-here", "guess", REMOTE_ADDR="192.0.2.4")
    assert real.status_code == missing.status_code == 429
    assert real.content == missing.content


def test_a_client_is_locked_after_its_own_limit_across_usernames(client, alice, settings):
    limit = settings.WEBMAIL_LOGIN_FAILURES_PER_CLIENT
    assert limit > settings.AXES_FAILURE_LIMIT
    for i in range(limit - 1):
        assert login(client, f"ghost{i}", "x", REMOTE_ADDR=ATTACKER).status_code == 200
    assert login(client, "ghost-last", "x", REMOTE_ADDR=ATTACKER).status_code == 429
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME).status_code == 302


def test_a_success_forgets_only_that_usernames_failures_from_that_client(client, alice, bob):
    login(client, "alice", "typo", REMOTE_ADDR=ATTACKER)
    login(client, "bob", "typo", REMOTE_ADDR=ATTACKER)
    login(client, "alice", "typo", REMOTE_ADDR=VICTIM_HOME)
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302
    left = set(AccessAttempt.objects.values_list("username", "ip_address"))
    assert left == {("bob", ATTACKER), ("alice", VICTIM_HOME)}


def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(client, alice, settings):
    settings.WEBMAIL_TRUSTED_PROXIES = []
    for i in range(settings.WEBMAIL_LOGIN_FAILURES_PER_CLIENT):
        login(client, f"ghost{i}", "x", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    spoofed = login(
        client, "alice", PASSWORD, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=VICTIM_HOME
    )
    assert spoofed.status_code == 429


def test_behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another(
    client, alice, settings
):
    settings.WEBMAIL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    for i in range(settings.WEBMAIL_LOGIN_FAILURES_PER_CLIENT):
        login(client, f"ghost{i}", "x", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert (
        login(client, "ghost", "x", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER).status_code
        == 429
    )
    other = login(client, "alice", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=VICTIM_HOME)
    assert other.status_code == 302


def test_the_user_hears_of_failed_attempts_at_the_next_login(client, alice):
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME).status_code == 302
    client.post(reverse("logout"))
    for _ in range(3):
        login(client, "alice", "guess", REMOTE_ADDR=ATTACKER)
    response = login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME, follow=True)
    assert "There were 3 failed attempts to log in to your account" in response.content.decode()
    client.post(reverse("logout"))
    again = login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME, follow=True)
    assert "failed attempt" not in again.content.decode()


def test_admins_see_and_clear_lockouts(client, alice, admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "alice", "guess", REMOTE_ADDR=ATTACKER)
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    staff = type(client)()
    staff.force_login(admin_user)
    changelist = staff.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200
    assert "alice" in changelist.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    staff.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not AccessAttempt.objects.exists()
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302


def test_a_non_staff_user_cannot_see_lockouts(alice_client):
    response = alice_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 302


def _request(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    "trusted, remote, forwarded, expected",
    [
        ([], "203.0.113.1", "192.0.2.9", "203.0.113.1"),
        (["10.0.0.0/8"], "203.0.113.1", "192.0.2.9", "203.0.113.1"),
        (["10.0.0.0/8"], "10.0.0.5", None, "10.0.0.5"),
        (["10.0.0.0/8"], "10.0.0.5", "192.0.2.9", "192.0.2.9"),
        # The client wrote the left part: only the right-most untrusted entry counts.
        (["10.0.0.0/8"], "10.0.0.5", "1.1.1.1, 192.0.2.9", "192.0.2.9"),
        (["10.0.0.0/8"], "10.0.0.5", "1.1.1.1, 192.0.2.9, 10.1.2.3", "192.0.2.9"),
        (["10.0.0.0/8"], "10.0.0.5", "garbage, 10.1.2.3", "10.1.2.3"),
        (
            ["10.0.0.0/8", "2001:db8::/32"],
            "2001:db8::1",
            "[2001:db8:1::2]:443, 192.0.2.9:1234",
            "192.0.2.9",
        ),
        (["127.0.0.1/32"], "::ffff:127.0.0.1", "2001:db8:ffff::9", "2001:db8:ffff::9"),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.WEBMAIL_TRUSTED_PROXIES = trusted
    assert client_ip(_request(remote, forwarded)) == expected


def _let_time_pass(minutes):
    from datetime import timedelta

    from axes.models import AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        for row in model.objects.all():
            row.attempt_time -= timedelta(minutes=minutes)
            row.save(update_fields=["attempt_time"])


def _lock(client, settings, username="alice"):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = login(client, username, "guess", REMOTE_ADDR=ATTACKER)
    assert response.status_code == 429
    return response


def test_each_lockout_of_an_account_doubles_the_next_one(client, alice, settings):
    first = _lock(client, settings)
    assert "about 15 minutes" in first.content.decode()
    _let_time_pass(16)
    assert login(client, "alice", "guess", REMOTE_ADDR=ATTACKER).status_code == 200
    _let_time_pass(1)  # that one failure is forgotten by the time of the next lock-out
    second = _lock(client, settings)
    assert "about 30 minutes" in second.content.decode()
    _let_time_pass(16)
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME).status_code == 429
    _let_time_pass(15)
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME).status_code == 302


def test_another_accounts_lockouts_do_not_lengthen_this_ones(client, alice, bob, settings):
    _lock(client, settings, "bob")
    _let_time_pass(16)
    _lock(client, settings, "bob")
    response = _lock(client, settings, "alice")
    assert "about 15 minutes" in response.content.decode()


def test_failures_during_a_lockout_do_not_extend_it(client, alice, settings):
    _lock(client, settings)
    _let_time_pass(10)
    assert login(client, "alice", "guess", REMOTE_ADDR=ATTACKER).status_code == 429
    _let_time_pass(6)
    assert login(client, "alice", PASSWORD, REMOTE_ADDR=VICTIM_HOME).status_code == 302
