"""Settings come from the environment and refuse unsafe production values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "WEBMAIL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "mail.example.com",
}
PROBE = "import django; django.setup(); from django.conf import settings; print({expr})"


def run_django(env: dict, code: str = PROBE.format(expr="'started'"), *args: str):
    # Drop what tests/settings.py put into this process's environment.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "WEBMAIL_ENCRYPTION_KEYS",
            "SECURE_SSL_REDIRECT",
            "WEBMAIL_ENCRYPTION_KEY",
            "DJANGO_SETTINGS_MODULE",
            "CELERY_TASK_ALWAYS_EAGER",
            # testkit/settings.py allows the loopback test servers
            "WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS",
            "WEBMAIL_MAIL_PORTS",
        }
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="webmail.settings")
    argv = [sys.executable, *args] if args else [sys.executable, "-c", code]
    return subprocess.run(argv, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "WEBMAIL_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in PROD_ENV.items() if k != missing}
    result = run_django(env)
    assert result.returncode != 0
    assert "started" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"webmail: set the {missing} environment variable "
        "(DEBUG=false refuses a missing or development value)."
    ]


def test_production_refuses_the_development_placeholder_key():
    from webmail.settings import DEV_SECRET_KEY

    result = run_django({**PROD_ENV, "SECRET_KEY": DEV_SECRET_KEY})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_development_starts_on_embedded_defaults():
    result = run_django(
        {"DEBUG": "true", "DATABASE_URL": "", "CELERY_BROKER_URL": ""},
        PROBE.format(expr="settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL"),
    )
    assert result.returncode == 0, result.stderr
    assert "django.db.backends.sqlite3" in result.stdout
    assert "filesystem://" in result.stdout


def test_database_and_broker_urls_come_from_the_environment():
    result = run_django(
        {
            **PROD_ENV,
            "DATABASE_URL": "postgres://mail:pw@db.internal:5433/webmail",
            "CELERY_BROKER_URL": "redis://cache:6379/2",
        },
        PROBE.format(
            expr="settings.DATABASES['default']['ENGINE'], "
            "settings.DATABASES['default']['PORT'], settings.CELERY_BROKER_URL"
        ),
    )
    assert result.returncode == 0, result.stderr
    assert "postgresql" in result.stdout
    assert "5433" in result.stdout
    assert "redis://cache:6379/2" in result.stdout


@pytest.mark.parametrize(("value", "want"), [(None, "60 True"), ("0", "0 True")])
def test_database_connections_persist_with_health_checks(value, want):
    env = {"DEBUG": "true", "DATABASE_URL": "postgres://mail:pw@db.internal/webmail"}
    if value is not None:
        env["CONN_MAX_AGE"] = value
    result = run_django(
        env,
        PROBE.format(
            expr="settings.DATABASES['default']['CONN_MAX_AGE'], "
            "settings.DATABASES['default']['CONN_HEALTH_CHECKS']"
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == want


def test_sqlite_connections_use_wal_and_a_64_mb_page_cache(tmp_path):
    code = (
        "import django; django.setup(); from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    print([c.execute('PRAGMA ' + p).fetchone()[0] for p in ['journal_mode', "
        "'cache_size']])"
    )
    result = run_django(
        {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}, code
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['wal', -65536]"


def readme_production_env() -> dict[str, str]:
    """The production variables README.md documents (its ```env block)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```env\n", 1)[1].split("```", 1)[0]
    pairs = (
        line.split("=", 1)
        for line in block.splitlines()
        if line.strip() and not line.startswith("#")
    )
    return dict(pairs)


def test_check_deploy_is_clean_under_documented_production_settings():
    documented = readme_production_env()
    assert documented["DEBUG"] == "false"
    env = {**documented, **{k: PROD_ENV[k] for k in ("SECRET_KEY", "WEBMAIL_ENCRYPTION_KEYS")}}
    env.pop("DATABASE_URL", None)  # checks need no database
    env.pop("CELERY_BROKER_URL", None)
    result = run_django(env, "", "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_typed_booleans_reject_garbage():
    result = run_django({**PROD_ENV, "DEBUG": "maybe"})
    assert result.returncode != 0
