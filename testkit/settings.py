"""Settings for the tests and the benchmarks: the project settings plus test-only values.

Secrets are test placeholders (DEBUG stays false, as in production). Tasks run
eagerly unless a test starts a real worker; the database and broker still come
from DATABASE_URL / CELERY_BROKER_URL, so CI runs against PostgreSQL and Redis.
`tests.settings` and `bench.settings` star-import this module.
"""

import os
import tempfile

os.environ["WEBMAIL_ENV_FILE"] = ""  # ignore a developer's .env
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("WEBMAIL_ENCRYPTION_KEYS", "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy1vayE=")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# The test servers (Dovecot, aiosmtpd, devmail) listen on loopback, on random high ports;
# tests of the destination policy turn this off with the `settings` fixture.
os.environ.setdefault("WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS", "true")
os.environ.setdefault("WEBMAIL_MAIL_PORTS", "1024-65535")
# Eager tasks would poll the recipients' accounts inside every test that sends; the tests
# of the local fast path (tests/mailbox/test_local_polling.py) turn it on.
os.environ.setdefault("WEBMAIL_LOCAL_POLL_SECONDS", "0")

from webmail.settings import *  # noqa: E402,F403

# A real worker process started by a test shares the test's files (WEBMAIL_TEST_MEDIA_ROOT).
MEDIA_ROOT = os.environ.get("WEBMAIL_TEST_MEDIA_ROOT") or tempfile.mkdtemp(
    prefix="webmail-test-media-"
)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
# A test that starts a real worker gives it, and the tasks it enqueues, a queue of its own.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("WEBMAIL_TEST_QUEUE", "celery")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not :memory:, so a real Celery worker process can share the test database.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.mkdtemp(prefix="webmail-test-db-"), "test.sqlite3")
    }
STATIC_ROOT = tempfile.mkdtemp(prefix="webmail-test-static-")
