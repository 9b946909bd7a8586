"""The test suite's settings (pyproject's DJANGO_SETTINGS_MODULE): see testkit/settings.py.

A second database, "sqlite", lets a test run the same code on SQLite while the
default database is PostgreSQL (as in CI), e.g. search on both in one run. pytest-django
creates it only for tests that ask for it (``django_db(databases=[..., "sqlite"])``);
in memory, so it costs nothing otherwise and leaves no file behind.
"""

from testkit.settings import *  # noqa: F403

DATABASES["sqlite"] = {  # noqa: F405
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": ":memory:",
    "TEST": {"NAME": ":memory:"},
}
