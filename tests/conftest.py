"""Shared fixtures: alice, bob and charlie, and mail accounts for them.

Like healthchecks' test base, every view test has an owner and an outsider at
hand, so cross-user checks are routine.
"""

import pytest
from django.utils import timezone, translation

from accounts.models import MailAccount, User

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """A request in Korean leaves Korean (and a user's time zone) active in the test's
    thread; start each test in the default language and zone so what a test reads
    outside a request never depends on order."""
    translation.activate("en")
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _no_smtp_session_outlives_its_test():
    """Outgoing mail keeps a delivering session open for the next message
    (mailbox.delivery.SMTP_SESSIONS); each test starts without one of an earlier test."""
    yield
    from mailbox.delivery import SMTP_SESSIONS

    SMTP_SESSIONS.close_all(polite=False)  # its server may be gone or holding replies


def make_user(username: str, **extra) -> User:
    # Undo send off unless a test turns it on (tests/mailbox/test_undo_and_schedule.py):
    # the suite's sends are delivered at once, as before undo send existed.
    extra.setdefault("undo_send_seconds", 0)
    # Plain-text compose unless a test asks for rich text (the model's default): the
    # suite's pages post the body field, as before rich text existed.
    extra.setdefault("compose_format", "plain")
    return User.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.test", **extra
    )


@pytest.fixture
def alice(db) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db) -> User:
    return make_user("bob")


@pytest.fixture
def charlie(db) -> User:
    return make_user("charlie", is_staff=True, is_superuser=True)


def make_account(user: User, **fields) -> MailAccount:
    defaults = {
        "email": f"{user.username}@example.test",
        "pop3_host": "127.0.0.1",
        "pop3_port": 995,
        "pop3_security": "ssl",
        "pop3_login": user.username,
        "pop3_password": "pop-secret-" + user.username,
        "smtp_host": "127.0.0.1",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "smtp_login": user.username,
        "smtp_password": "smtp-secret-" + user.username,
    }
    defaults.update(fields)
    return MailAccount.objects.create(user=user, **defaults)


def dovecot_account(user: User, server, pop3_user, **fields) -> MailAccount:
    """An account polling `pop3_user` on a test POP3 server (Dovecot or devmail), no TLS."""
    defaults = {
        "pop3_host": server.host,
        "pop3_port": server.port,
        "pop3_security": "none",
        "pop3_login": pop3_user.name,
        "pop3_password": pop3_user.password,
    }
    return make_account(user, **{**defaults, **fields})


@pytest.fixture
def alice_account(alice) -> MailAccount:
    return make_account(alice)


@pytest.fixture
def bob_account(bob) -> MailAccount:
    return make_account(bob)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


from testkit.pop3_servers import *  # noqa: E402,F403 - dovecot, pop3_user, cut_proxy, fake_pop3
from testkit.s3_server import *  # noqa: E402,F403 - s3_server, s3_media, use_s3
from testkit.smtp_servers import *  # noqa: E402,F403 - smtp_server
