"""The inbox and search benchmarks on one data set: built once per database, measured by both.

    python -m bench.inbox_search [--quick]   # what `make bench` runs for the inbox step

Inbox and search are measured on SQLite and, when DATABASE_URL points at a PostgreSQL
server, on PostgreSQL too (each has its own search target). Writes inbox.json and
search.json. This module is also the child process that bench.dataset.in_children
starts per database (`--child sqlite|postgres`), for `python -m bench.inbox` and
`python -m bench.search` as well.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from pathlib import Path

from bench import dataset, inbox, search
from bench.cli import parser
from bench.database import bench_database, configure, database_version, migrate
from bench.report import machine, write_result


def child(kind: str, quick: bool, runs: int | None, out: Path, mode: str) -> None:
    """Build the data set in one database, measure it, dump the figures to `out`."""
    size = dataset.scale(quick)
    runs = runs or size["runs"]
    media = tempfile.mkdtemp(prefix="webmail-bench-media-inbox-")
    try:
        with bench_database(dataset.DATASET, kind) as db:
            configure(db.url, media)
            logging.getLogger("axes").setLevel(logging.WARNING)  # a line per force_login
            migrate()
            made, load_seconds = dataset.load(size["big"], size["small"], size["others"])
            users = {"big": made["big"][0], "small": made["small"][0]}
            data = {
                "database": database_version(),
                "vendor": db.vendor,
                "load_seconds": round(load_seconds, 1),
                "machine": machine(),
            }
            if mode in {"inbox", "both"}:
                data["inbox"] = inbox.run(users, runs)
            if mode in {"search", "both"}:
                data["search"] = search.run(users, runs)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    out.write_text(json.dumps(data, default=str))


def main(argv: list[str] | None = None) -> dict | None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-mode", choices=dataset.MODES, default="both", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.quick, args.runs, args.child_out, args.child_mode)
        return None
    kinds = dataset.databases(args.database)
    results = {}
    for kind in kinds:
        results.update(dataset.in_children([kind], args.quick, args.runs, "both"))
    data = inbox.report(results, args.quick)
    path = write_result(args.output, inbox.NAME, data)
    print(f"\nwrote {path}")
    searched = {kind: figures for kind, figures in results.items() if "search" in figures}
    path = write_result(args.output, search.NAME, search.report(searched, args.quick))
    print(f"wrote {path}")
    return data


if __name__ == "__main__":
    main()
