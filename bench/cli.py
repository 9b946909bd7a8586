"""Running a benchmark from the command line: its arguments, and main() around run().

Every benchmark module has a `run(...)` that measures in the database Django is
already connected to (the smoke tests call it inside pytest's test database), and
a `main()` that creates a database of its own, migrates it, calls `run`, prints a
table, writes `bench/results/<name>.json` (`<name>-sqlite.json` or `<name>-postgres.json`
with --database) and drops the database again; main_wrapper
does all of that but the measuring.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.database import BenchDatabase, bench_database, configure, migrate
from bench.locations import RESULTS_DIR, ROOT
from bench.report import write_result


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small N, for a smoke run (seconds)")
    p.add_argument("--runs", type=int, default=None, help="repetitions (median is reported)")
    p.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR,
        help="directory for <name>.json (default %(default)s)",
    )
    p.add_argument(
        "--database",
        choices=["auto", "sqlite", "postgres"],
        default="auto",
        help="auto: PostgreSQL when DATABASE_URL points at it, else SQLite",
    )
    return p


def main_wrapper(
    name: str,
    args: argparse.Namespace,
    body: Callable[[BenchDatabase], dict],
    *,
    suffix: str = "",
    env: dict[str, str] | None = None,
) -> dict:
    """Create a database and media directory, set Django up, call body, write the JSON."""
    media = tempfile.mkdtemp(prefix=f"webmail-bench-media-{name}-")
    try:
        with bench_database(name, args.database, suffix) as db:
            configure(db.url, media, **(env or {}))
            migrate()
            data = body(db)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    # `--database sqlite|postgres` names the result for it (bench.run_all runs ingest and
    # send on both databases, side by side); the default keeps `<name>.json`.
    result = name if args.database == "auto" else f"{name}-{args.database}"
    path = write_result(args.output, result, data)
    print(f"\nwrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return data
