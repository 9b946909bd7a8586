"""The destination policy's settings: safe defaults in production, loopback for `make run`,
and a process that refuses to start on a value it cannot read."""

import pytest

from tests.webmail.test_settings import PROBE, PROD_ENV, run_django

POLICY = PROBE.format(
    expr="settings.WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS, repr(settings.WEBMAIL_MAIL_PORTS), "
    "settings.WEBMAIL_MAIL_HOSTS, settings.WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES"
)


def test_production_allows_only_public_servers_on_mail_ports_by_default():
    result = run_django(PROD_ENV, POLICY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False '' [] 10"


def test_development_allows_devmail_on_loopback_and_high_ports():
    result = run_django({"DEBUG": "true", "DATABASE_URL": "", "CELERY_BROKER_URL": ""}, POLICY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True '1024-65535' [] 10"


def test_the_operator_sets_the_policy_in_the_environment():
    env = {
        **PROD_ENV,
        "WEBMAIL_MAIL_HOSTS": "*.example.com,10.1.0.0/16",
        "WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS": "true",
        "WEBMAIL_MAIL_PORTS": "1110,10025-10030",
        "WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES": "3",
    }
    result = run_django(env, POLICY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True '1110,10025-10030' ['*.example.com', '10.1.0.0/16'] 3"


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("WEBMAIL_MAIL_HOSTS", "mail.example.com,not a host!", "'not a host!'"),
        ("WEBMAIL_MAIL_PORTS", "25-", "'25-'"),
        ("WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS", "maybe", "'maybe'"),
    ],
)
def test_an_unreadable_policy_stops_the_process(name, value, said):
    result = run_django({**PROD_ENV, name: value})
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert said in result.stderr and name in result.stderr
