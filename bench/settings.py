"""Settings for the benchmarks: the test settings (placeholder secrets, DEBUG off,
no developer .env) with the database and media directory the benchmark chose.

`bench.database.configure()` sets DATABASE_URL (a database the benchmark creates and
drops) and WEBMAIL_BENCH_MEDIA_ROOT before Django starts, so helper processes (a
Celery worker, a memory probe) share both with the benchmark that started them.
"""

import os

# A benchmark sends thousands of messages for one user: the sending limits are checked
# (and their cost measured) but set high enough never to refuse (mailbox.send_limits).
for _name in ("WEBMAIL_SEND_PER_HOUR", "WEBMAIL_RECIPIENTS_PER_DAY"):
    os.environ.setdefault(_name, "100000000")
os.environ.setdefault("WEBMAIL_MAX_PENDING_BYTES", str(1 << 50))

from testkit.settings import *  # noqa: E402, F403

_TEST_DIRS = [MEDIA_ROOT]  # noqa: F405 - an empty temp dir testkit.settings made
MEDIA_ROOT = os.environ.get("WEBMAIL_BENCH_MEDIA_ROOT") or MEDIA_ROOT  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _TEST_DIRS.append(os.path.dirname(DATABASES["default"].pop("TEST")["NAME"]))  # noqa: F405
for _directory in _TEST_DIRS:
    if _directory != MEDIA_ROOT:
        try:
            os.rmdir(_directory)
        except OSError:
            pass

# The send benchmark gives its worker a queue of its own on a shared broker.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("WEBMAIL_BENCH_QUEUE", "celery")
