"""The data set the inbox and search benchmarks share, and the processes that measure it.

One user with 100,000 messages in Inbox (plus Archive and Sent), nine other users
with 100,000 each (so every query must be scoped per user), and one user with
1,000, all in one database (`webmail_bench_inbox`, or a SQLite file), bulk-inserted
by bench.bulk. Each database is built and measured in a child process of its own
(Django's settings are per process): `python -m bench.inbox_search --child ...`,
which runs bench.inbox, bench.search or both on the same data.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bulk import MailboxSpec, load_mailboxes
from bench.database import postgres_server_url
from bench.locations import ROOT

DATASET = "inbox"  # the database: webmail_bench_inbox
MODES = ["inbox", "search", "both"]


def scale(quick: bool) -> dict:
    if quick:
        return {"big": 3_000, "small": 600, "others": 2, "runs": 5}
    return {"big": 100_000, "small": 1_000, "others": 9, "runs": 25}


def specs(big: int, small: int, others: int) -> list[MailboxSpec]:
    """The big user, the other users (each as large as the big one), the small user."""
    out = [MailboxSpec("big", {"inbox": big, "archive": big // 10, "sent": big // 50})]
    for i in range(others):
        out.append(
            MailboxSpec(
                f"other{i + 1}",
                {"inbox": big * 85 // 100, "archive": big // 10, "sent": big // 20},
            )
        )
    out.append(
        MailboxSpec(
            "small", {"inbox": small, "archive": max(1, small // 10), "sent": max(1, small // 50)}
        )
    )
    return out


def load(big: int, small: int, others: int) -> tuple[dict, float]:
    start = time.perf_counter()
    made = load_mailboxes(specs(big, small, others))
    return made, time.perf_counter() - start


def databases(choice: str) -> list[str]:
    if choice == "auto":
        return ["sqlite", "postgres"] if postgres_server_url() else ["sqlite"]
    return [choice]


def in_children(kinds: list[str], quick: bool, runs: int | None, mode: str) -> dict:
    """Build and measure the data set per database, each in a subprocess; {kind: data}.

    mode: "inbox", "search" or "both" (which benchmarks the child runs).
    """
    results: dict = {}
    for kind in kinds:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            path = Path(tmp.name)
        command = [sys.executable, "-m", "bench.inbox_search", "--child", kind]
        command += ["--child-out", str(path), "--child-mode", mode]
        if quick:
            command.append("--quick")
        if runs:
            command += ["--runs", str(runs)]
        print(f"[{DATASET}] {kind}: loading and measuring ({mode}) ...", flush=True)
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True)
        results[kind] = json.loads(path.read_text())
        results[kind]["wall_seconds"] = round(time.perf_counter() - start, 1)
        path.unlink()
    return results
