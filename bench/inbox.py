"""Inbox at scale: server time and SQL queries of the pages a user clicks through.

One user with 100,000 messages in Inbox (plus Archive and Sent), nine other users
with 100,000 each (so every query must be scoped per user), and one user with
1,000 — all in the same database, bulk-inserted with realistic field sizes (see
bench.common.BulkMailboxes). For both the big and the small mailbox: the Inbox
first page, a page in the middle (keyset cursor), the last page ("Oldest"), a
folder switch (Archive) and opening a message, each timed through the whole
Django stack (middleware, session, view, template) with the test Client. Each
figure is the median of many requests; the query count per page comes from one
extra request under CaptureQueriesContext (not timed: capturing adds overhead).

    python -m bench.inbox            # SQLite, and PostgreSQL when DATABASE_URL points at it
    python -m bench.inbox --quick    # small N

Each database runs in a child process of its own (Django's settings are per process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common

NAME = "inbox"
TARGET_MS = 50.0
TARGET_RATIO = 1.3
PAGES = ["inbox_first", "inbox_middle", "inbox_last", "folder_switch", "open_message"]


def scale(quick: bool) -> dict:
    if quick:
        return {"big": 3_000, "small": 600, "others": 2, "runs": 5}
    return {"big": 100_000, "small": 1_000, "others": 9, "runs": 25}


def specs(big: int, small: int, others: int) -> list[common.MailboxSpec]:
    """The big user, the other users (each as large as the big one), the small user."""
    out = [common.MailboxSpec("big", {"inbox": big, "archive": big // 10, "sent": big // 50})]
    for i in range(others):
        out.append(
            common.MailboxSpec(
                f"other{i + 1}",
                {"inbox": big * 85 // 100, "archive": big // 10, "sent": big // 20},
            )
        )
    out.append(
        common.MailboxSpec(
            "small", {"inbox": small, "archive": max(1, small // 10), "sent": max(1, small // 50)}
        )
    )
    return out


def load(big: int, small: int, others: int) -> tuple[dict, float]:
    start = time.perf_counter()
    made = common.load_mailboxes(specs(big, small, others))
    return made, time.perf_counter() - start


# --------------------------------------------------------------------------- pages

OPENED_HTML = (
    '<html><body><div style="font-family:sans-serif"><p>Hello,</p>'
    + "<p>Please find the quarterly report attached. The numbers for the third quarter "
    "are in the second tab; 다음 주 월요일 회의에서 검토하겠습니다.</p>"
    * 12
    + '<p><img src="https://tracker.example.com/pixel.gif" width="1" height="1"></p>'
    "<p>Regards,<br>Minsoo</p></div></body></html>"
)


def prepare_user(user) -> dict[str, str]:
    """The URLs of the measured pages for one user, and the message it opens."""
    from mailbox.listing import Cursor
    from mailbox.models import Attachment, Message

    inbox = Message.objects.filter(owner=user, folder="inbox").order_by("-date", "-id")
    count = inbox.count()
    middle = inbox.values_list("pk", "date")[count // 2]
    opened_pk = middle[0]
    # The same opened message at every scale: HTML with a remote image, two attachments.
    Message.objects.filter(pk=opened_pk).update(
        seen=True, html_body=OPENED_HTML, has_attachments=True
    )
    Attachment.objects.bulk_create(
        Attachment(
            message_id=opened_pk,
            filename=name,
            safe_name=name,
            content_type=ctype,
            size=size,
            sha256="0" * 64,
            file=f"attachments/00/00/{i}",
        )
        for i, (name, ctype, size) in enumerate(
            [
                ("Q3 report.pdf", "application/pdf", 482_113),
                ("보고서.xlsx", "application/zip", 73_001),
            ]
        )
    )
    cursor = Cursor(middle[1], middle[0]).encode()
    return {
        "inbox_first": "/",
        "inbox_middle": f"/?before={cursor}",
        "inbox_last": "/?oldest=1",
        "folder_switch": "/mail/folder/archive/",
        "open_message": f"/mail/{opened_pk}/",
    }


def _client(user):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def get(client, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return elapsed, len(response.content)


def count_queries(client, url: str) -> list[str]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return [q["sql"] for q in captured.captured_queries]


def measure_pages(users: dict, runs: int) -> dict:
    """{scale label: {page: {median_ms, min_ms, queries, bytes}}}; runs interleaved."""
    clients = {label: _client(user) for label, user in users.items()}
    urls = {label: prepare_user(user) for label, user in users.items()}
    timings: dict[str, dict[str, list[float]]] = {
        label: {page: [] for page in PAGES} for label in users
    }
    sizes: dict[str, dict[str, int]] = {label: {} for label in users}
    for label in users:  # warm caches, connections, templates
        for page in PAGES:
            for _ in range(2):
                get(clients[label], urls[label][page])
    for _ in range(runs):
        for page in PAGES:
            for label in users:
                elapsed, size = get(clients[label], urls[label][page])
                timings[label][page].append(elapsed)
                sizes[label][page] = size
    out: dict = {}
    for label in users:
        out[label] = {}
        for page in PAGES:
            queries = count_queries(clients[label], urls[label][page])
            out[label][page] = {
                "url": urls[label][page],
                "median_ms": common.ms(common.median(timings[label][page])),
                "min_ms": common.ms(min(timings[label][page])),
                "queries": len(queries),
                "sql": queries,
                "bytes": sizes[label][page],
            }
    return out


def explain_list_queries(user) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    from django.db import connection

    from mailbox.listing import Cursor, older_than
    from mailbox.models import Message
    from mailbox.views import LIST_FIELDS

    messages = Message.objects.filter(owner=user, folder="inbox").only(*LIST_FIELDS)
    count = messages.count()
    middle = messages.order_by("-date", "-id").values_list("date", "pk")[count // 2]
    queries = {
        "first_page": messages.order_by("-date", "-id")[:51],
        "middle_page": messages.filter(older_than(Cursor(*middle))).order_by("-date", "-id")[:51],
        "last_page": messages.order_by("date", "id")[:51],
    }
    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    return {name: qs.explain(**options) for name, qs in queries.items()}


def run(users: dict, runs: int = 25) -> dict:
    """Measure the pages for {label: user}; the first label is the big mailbox."""
    from mailbox.models import Message

    pages = measure_pages(users, runs)
    big, small = list(users)[0], list(users)[-1]
    comparison = {}
    for page in PAGES:
        b, s = pages[big][page], pages[small][page]
        ratio = b["median_ms"] / s["median_ms"] if s["median_ms"] else float("nan")
        comparison[page] = {
            "big_ms": b["median_ms"],
            "small_ms": s["median_ms"],
            "ratio": round(ratio, 2),
            "queries_big": b["queries"],
            "queries_small": s["queries"],
            "meets_ms_target": b["median_ms"] <= TARGET_MS,
            "meets_ratio_target": ratio <= TARGET_RATIO,
            "queries_constant": b["queries"] == s["queries"],
        }
    return {
        "mailbox_sizes": {
            label: {
                "inbox": Message.objects.filter(owner=user, folder="inbox").count(),
                "all": Message.objects.filter(owner=user).count(),
            }
            for label, user in users.items()
        },
        "total_messages": Message.objects.count(),
        "runs": runs,
        "comparison": comparison,
        "pages": pages,
        "explain": {label: explain_list_queries(user) for label, user in users.items()},
    }


# --------------------------------------------------------------------------- processes


def child(kind: str, quick: bool, runs: int | None, out: Path, mode: str) -> None:
    """Measure in one database (a process of its own) and dump the figures to `out`.

    mode: "inbox", "search" (bench.search on the same data set) or "both".
    """
    import logging
    import shutil

    size = scale(quick)
    runs = runs or size["runs"]
    media = tempfile.mkdtemp(prefix="webmail-bench-media-inbox-")
    try:
        with common.bench_database(NAME, kind) as db:
            common.configure(db.url, media)
            logging.getLogger("axes").setLevel(logging.WARNING)  # a line per force_login
            common.migrate()
            made, load_seconds = load(size["big"], size["small"], size["others"])
            users = {"big": made["big"][0], "small": made["small"][0]}
            data = {
                "database": common.database_version(),
                "vendor": db.vendor,
                "load_seconds": round(load_seconds, 1),
                "machine": common.machine(),
            }
            if mode in {"inbox", "both"}:
                data["inbox"] = run(users, runs)
            if mode in {"search", "both"}:
                from bench import search

                data["search"] = search.run(users, runs)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    out.write_text(json.dumps(data, default=str))


def databases(choice: str) -> list[str]:
    if choice == "auto":
        return ["sqlite", "postgres"] if common.postgres_server_url() else ["sqlite"]
    return [choice]


def in_children(kinds: list[str], quick: bool, runs: int | None, mode: str) -> dict:
    """Run `child` per database in a subprocess; {kind: data}."""
    results: dict = {}
    for kind in kinds:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            path = Path(tmp.name)
        command = [sys.executable, "-m", "bench.inbox", "--child", kind, "--child-out", str(path)]
        command += ["--child-mode", mode]
        if quick:
            command.append("--quick")
        if runs:
            command += ["--runs", str(runs)]
        print(f"[{NAME}] {kind}: loading and measuring ({mode}) ...", flush=True)
        start = time.perf_counter()
        subprocess.run(command, cwd=common.ROOT, check=True)
        results[kind] = json.loads(path.read_text())
        results[kind]["wall_seconds"] = round(time.perf_counter() - start, 1)
        path.unlink()
    return results


def report(results: dict, quick: bool) -> dict:
    size = scale(quick)
    results = {kind: data for kind, data in results.items() if "inbox" in data}
    rows = []
    for kind, data in results.items():
        for page, c in data["inbox"]["comparison"].items():
            rows.append(
                [
                    kind,
                    page,
                    c["big_ms"],
                    c["small_ms"],
                    c["ratio"],
                    f"{c['queries_big']}/{c['queries_small']}",
                    "yes"
                    if c["meets_ms_target"] and c["meets_ratio_target"] and c["queries_constant"]
                    else "NO",
                ]
            )
    print()
    print(
        common.table(
            [
                "database",
                "page",
                f"{size['big']:,} msgs ms",
                f"{size['small']:,} msgs ms",
                "ratio",
                "queries",
                "target",
            ],
            rows,
        )
    )
    # The database version is per figure here, not per machine.
    machine = common.machine_of(results)
    return {
        "benchmark": NAME,
        "date": common.now_iso(),
        "machine": machine,
        "params": {
            "messages_big_inbox": size["big"],
            "messages_small_inbox": size["small"],
            "other_users": size["others"],
            "other_user_messages": size["big"],
            "quick": quick,
        },
        "targets": {
            "page_median_ms_max": TARGET_MS,
            "ratio_to_small_max": TARGET_RATIO,
            "queries": "constant",
        },
        "figures": {
            kind: {
                "database": data["database"],
                "load_seconds": data["load_seconds"],
                **data["inbox"],
            }
            for kind, data in results.items()
        },
        "notes": [
            "Server time = test Client GET through all middleware, session, view and template, "
            "with a persistent database connection (CONN_MAX_AGE>0 or a pool in production).",
            "Big and small mailboxes live in the same database; all data is in the OS page "
            "cache (warm).",
        ],
    }


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


def main(argv: list[str] | None = None) -> dict | None:
    p = common.parser(__doc__.split("\n")[0])
    p.add_argument(
        "--with-search",
        action="store_true",
        help="also run bench.search on the PostgreSQL (else SQLite) data set, write search.json",
    )
    p.add_argument("--child", choices=["sqlite", "postgres"], help=argparse_hidden())
    p.add_argument("--child-out", type=Path, help=argparse_hidden())
    p.add_argument(
        "--child-mode", choices=["inbox", "search", "both"], default="inbox", help=argparse_hidden()
    )
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.quick, args.runs, args.child_out, args.child_mode)
        return None
    kinds = databases(args.database)
    modes = {kind: "inbox" for kind in kinds}
    if args.with_search:  # bench.search on the same data set, where its target applies
        modes[kinds[-1]] = "both"
    results = {}
    for kind, mode in modes.items():
        results.update(in_children([kind], args.quick, args.runs, mode))
    data = report(results, args.quick)
    path = common.write_result(args.output, NAME, data)
    print(f"\nwrote {path}")
    if args.with_search:
        from bench import search

        searched = {k: v for k, v in results.items() if "search" in v}
        path = common.write_result(args.output, search.NAME, search.report(searched, args.quick))
        print(f"wrote {path}")
    return data


if __name__ == "__main__":
    main()
