"""Run every benchmark, each in a process of its own, then print the summary table.

    python -m bench [--quick]          # or: python -m bench.run_all, make bench

Inbox runs on SQLite and, when DATABASE_URL points at a PostgreSQL server, on
PostgreSQL too, and search on the same data sets (built once per database;
bench.inbox_search runs both). Ingest, big message and send run once per database as
well, one after the other (`<name>-sqlite.json`, `<name>-postgres.json`). Results:
bench/results/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.database import postgres_server_url
from bench.locations import RESULTS_DIR, ROOT
from bench.report import table

ORDER = [
    "ingest",
    "bigmessage",
    "inbox",
    "send",
    "polling",
    "export",
    "ui",
    "autocomplete",
    "contacts_import",
]
MODULES = {"inbox": "inbox_search"}  # inbox, and search on the same data set
# Their targets hold on the embedded default and on PostgreSQL alike (issue 19).
BOTH_DATABASES = ("ingest", "bigmessage", "send")


def databases() -> list[str]:
    return ["sqlite", "postgres"] if postgres_server_url() else ["sqlite"]


def _each_database(load, name: str) -> list[dict]:
    return [data for kind in ("sqlite", "postgres") if (data := load(f"{name}-{kind}"))]


def _on(data: dict) -> str:
    """The database a result was measured on: "SQLite" or "PostgreSQL"."""
    database = data.get("database") or data.get("figures", {}).get("database", "")
    return database.split(" ")[0] or "?"


def summary_rows(output: Path) -> list[list[object]]:
    """One row per figure with a target: [benchmark, figure, result, target, met]."""
    rows: list[list[object]] = []

    def load(name: str) -> dict | None:
        path = output / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def yes(ok: bool | None) -> str:
        return "n/a" if ok is None else "yes" if ok else "NO"

    for data in _each_database(load, "ingest"):
        f = data["figures"]
        rows.append(
            [
                f"ingest {f['messages']:,} msgs ({f['megabytes']} MB), {_on(data)}",
                f"poplib {f['floor']['messages_per_s']} msg/s {f['floor']['mb_per_s']} MB/s; "
                f"poll_account {f['ours']['messages_per_s']} msg/s {f['ours']['mb_per_s']} MB/s",
                f"ratio {f['ratio']}",
                "≤ 1.5",
                yes(f["meets_ratio_target"]),
            ]
        )
        if unsynced := f.get("without_fsync"):
            rows.append(
                [
                    f"ingest: cost of fsync before commit, {_on(data)}",
                    f"without fsync: ratio {unsynced['ratio']}",
                    f"×{unsynced['fsync_cost']}",
                    "reported",
                    "",
                ]
            )
        rows.append(
            [
                f"ingest, second poll (nothing new), {_on(data)}",
                f"floor {f['nothing_new']['floor_median_s']} s",
                f"{f['nothing_new']['median_s']} s",
                "< 0.2 s",
                yes(f["meets_nothing_new_target"]),
            ]
        )
    for data in _each_database(load, "bigmessage"):
        f = data["figures"]
        p = f["probes"]
        rows.append(
            [
                f"big message ({f['message_mb']} MB), {_on(data)}",
                f"poplib {p['poplib']['factor']}x, retr {p['retr']['factor']}x, "
                f"parse {p['parse']['factor']}x, store {p['store']['factor']}x",
                f"poll {p['poll']['factor']}x ({p['poll']['peak_above_baseline_mb']} MB)",
                "≤ 4x",
                yes(f["meets_target"]),
            ]
        )
    if data := load("inbox"):
        for kind, f in data["figures"].items():
            for page, c in f["comparison"].items():
                rows.append(
                    [
                        f"inbox {kind}: {page}",
                        f"{c['small_ms']} ms at {f['mailbox_sizes']['small']['inbox']:,}; "
                        f"queries {c['queries_big']}/{c['queries_small']}",
                        f"{c['big_ms']} ms, ratio {c['ratio']}",
                        "≤ 50 ms, ≤ 1.3x, same queries",
                        yes(
                            c["meets_ms_target"]
                            and c["meets_ratio_target"]
                            and c["queries_constant"]
                        ),
                    ]
                )
    if data := load("search"):
        for kind, f in data["figures"].items():
            for name, c in f["comparison"].items():
                rows.append(
                    [
                        f"search {kind}: {name}",
                        f"{c['small_ms']} ms at 1/100 the size; hits {c['hits_big']}/"
                        f"{c['hits_small']}",
                        f"{c['big_ms']} ms, ratio {c['ratio']}",
                        "≤ 200 ms (PostgreSQL)"
                        if kind == "postgres"
                        else "≤ 50 ms, ≤ 1.5x (words)",
                        yes(c["meets_target"]),
                    ]
                )
    if data := load("ui"):
        f = data["figures"]
        for language, first in f["languages"].items():
            rows.append(
                [
                    f"inbox first load, CSS+JS+fonts+icons ({language})",
                    f"{first['requests']} files; gzip {round(first['gzip_bytes'] / 1000, 1)} KB",
                    f"{round(first['bytes'] / 1000, 1)} KB uncompressed",
                    "≤ 150 KB",
                    yes(first["meets_target"]),
                ]
            )
        repeat = max(
            (first["repeat_visit"] for first in f["languages"].values()),
            key=lambda r: (r["requests"], r["bytes"]),
        )
        rows.append(
            [
                "inbox repeat visit",
                "static files hashed, immutable; catalog ETag",
                f"{repeat['requests']} request(s), {repeat['bytes']} B",
                "from cache",
                yes(f["all_static_hashed_and_immutable"]),
            ]
        )
    for data in _each_database(load, "send"):
        f = data["figures"]
        rows.append(
            [
                f"send {f['messages']} x {f['message_kb']} KB, {_on(data)}",
                f"smtplib {f['floor']['messages_per_s']} msg/s; "
                f"ours {f['ours']['messages_per_s']} msg/s",
                f"ratio {f['ratio']}, dup {f['duplicates']}, lost {f['losses']}",
                "≤ 2.0, 0 dup/lost",
                yes(f["meets_ratio_target"] and f["meets_exactly_once"]),
            ]
        )
    if data := load("polling"):
        f = data["figures"]
        steady = "; ".join(
            f"{s['interval_minutes']} min: {s['due']:,} due, {s['queries']} queries, "
            f"{s['claim_s']} s, due index {s['uses_due_index']}"
            for s in f["steady_state"].values()
        )
        rows.append(
            [
                f"polling {f['accounts']:,} accounts, 2 workers × {f['worker_concurrency']}",
                f"dispatcher, all due: {f['dispatcher']['claim_median_s']} s, queries "
                f"{f['dispatcher']['queries']}; steady state {steady}",
                f"{f['polls_per_minute']:,} polls/min; worst wait {f['worst_wait_s']} s; "
                f"overlaps {f['overlapping_sessions']}, twice {f['polled_twice_in_a_round']}, "
                f"skipped {f['skipped_in_a_round']}",
                "0 overlaps/twice/skipped, wait ≤ 60 s",
                yes(f["meets_exactly_once"] and f["none_waited_over_an_interval"]),
            ]
        )
    if data := load("export"):
        f = data["figures"]
        for kind, k in f["kinds"].items():
            rows.append(
                [
                    f"export memory: {kind}",
                    f"{k['small']['peak_mb']} MB at {f['sizes']['small']:,} msgs",
                    f"{k['big']['peak_mb']} MB at {f['sizes']['big']:,}, ratio {k['ratio']}",
                    "flat (≈ 1, reported)",
                    yes(k["flat"]),
                ]
            )
    if data := load("autocomplete"):
        for kind, f in data["figures"].items():
            rows.append(
                [
                    f"autocomplete {kind}: {data['params']['contacts_big']:,} contacts + "
                    f"{data['params']['collected_big']:,} collected",
                    f"{len(data['params']['queries'])} two-character queries; "
                    f"read in index order: {f['short_queries_read_in_index_order']}",
                    f"median {f['median_of_medians_big_ms']} ms, worst {f['worst_big_ms']} ms",
                    "≤ 20 ms, same queries",
                    yes(f["meets_target"]),
                ]
            )
    if data := load("contacts_import"):
        f = data["figures"]
        rows.append(
            [
                f"contacts import {f['cards']:,} vCards ({f['file_mb']} MB)",
                f"read {f['read_s']} s, preview {f['plan_s']} s, store {f['apply_s']} s",
                f"{f['total_s']} s, peak {f['peak_mb']} MB",
                "reported",
                "n/a",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small N, for a smoke run")
    p.add_argument("--output", type=Path, default=RESULTS_DIR)
    p.add_argument("--only", nargs="*", choices=ORDER, help="run only these")
    args = p.parse_args(argv)
    timings = {}
    start = time.perf_counter()
    for name in args.only or ORDER:
        module = MODULES.get(name, name)
        command = [sys.executable, "-m", f"bench.{module}", "--output", str(args.output)]
        if args.quick:
            command.append("--quick")
        if name == "ingest":
            command.append("--profile")  # one extra poll under cProfile, kept in the JSON
        runs = (
            [(f"{name} ({kind})", [*command, "--database", kind]) for kind in databases()]
            if name in BOTH_DATABASES
            else [(name, command)]
        )
        for title, run in runs:
            print(f"\n=== {title} ===", flush=True)
            began = time.perf_counter()
            subprocess.run(run, cwd=ROOT, check=True)
            timings[title] = round(time.perf_counter() - began, 1)
    total = round(time.perf_counter() - start, 1)
    print("\n=== summary ===")
    print(table(["benchmark", "context", "result", "target", "met"], summary_rows(args.output)))
    print(f"\nwall time: {timings} total {total} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
