"""The database and media directory a benchmark runs in, and Django set up on them.

Database: PostgreSQL when DATABASE_URL points at it (the benchmark creates and
drops `webmail_bench_<name>` on that server; the named database is not touched),
SQLite in a temporary file otherwise. Helper processes (a Celery worker, a memory
probe) get the same settings, database and media through child_env().
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.locations import LOOPBACK, ROOT


def postgres_server_url() -> str | None:
    """DATABASE_URL when it names a PostgreSQL server (its database is never touched)."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme in {"postgres", "postgresql", "pgsql", "psql"}:
        return url
    return None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _admin_connect(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or LOOPBACK,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


@dataclass
class BenchDatabase:
    """A database that exists only for one benchmark run."""

    vendor: str  # "postgresql" or "sqlite"
    url: str
    name: str
    _server_url: str | None = None
    _directory: str | None = None

    def drop(self) -> None:
        if self.vendor == "postgresql":
            assert self._server_url is not None
            with _admin_connect(self._server_url) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self._directory:
            shutil.rmtree(self._directory, ignore_errors=True)


@contextlib.contextmanager
def bench_database(
    benchmark: str, database: str = "auto", suffix: str = ""
) -> Iterator[BenchDatabase]:
    """Create (and afterwards drop) `webmail_bench_<benchmark>` or a SQLite temp file."""
    server = postgres_server_url()
    if database == "postgres" and server is None:
        raise SystemExit("--database postgres needs DATABASE_URL=postgres://... (the server)")
    if server is not None and database in {"auto", "postgres"}:
        name = f"webmail_bench_{benchmark}{suffix}"
        with _admin_connect(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        db = BenchDatabase("postgresql", _with_database(server, name), name, _server_url=server)
    else:
        directory = tempfile.mkdtemp(prefix=f"webmail-bench-{benchmark}-")
        path = os.path.join(directory, "bench.sqlite3")
        db = BenchDatabase("sqlite", f"sqlite:///{path}", path, _directory=directory)
    try:
        yield db
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if os.environ.get("BENCH_KEEP_DATABASE") == "1":  # to look at it afterwards
            print(f"[bench] kept database {db.url}", file=sys.stderr)
        else:
            db.drop()


def configure(db_url: str, media_root: str, **extra: str) -> None:
    """Point this process (and the processes it starts) at the bench settings, then set up."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = db_url
    os.environ["WEBMAIL_BENCH_MEDIA_ROOT"] = media_root
    os.environ.update(extra)
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def current_database_url() -> str:
    """A DATABASE_URL for the database this process is connected to (for subprocesses)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or "postgres"
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or LOOPBACK}:{db['PORT'] or 5432}/{db['NAME']}"


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return "PostgreSQL " + cursor.fetchone()[0]
        cursor.execute("select sqlite_version()")
        return "SQLite " + cursor.fetchone()[0]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a helper process: this one's settings, database and media."""
    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": current_database_url(),
        "WEBMAIL_BENCH_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def clear_media() -> None:
    """Empty MEDIA_ROOT, so the next ingest writes every blob again."""
    from django.conf import settings

    root = Path(settings.MEDIA_ROOT)
    for child in root.iterdir() if root.exists() else []:
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
