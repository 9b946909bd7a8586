"""Inbox at scale: server time and SQL queries of the pages a user clicks through.

One user with 100,000 messages in Inbox (plus Archive and Sent), nine other users
with 100,000 each (so every query must be scoped per user), and one user with
1,000 — all in the same database, bulk-inserted with realistic field sizes (see
bench.dataset and bench.bulk.BulkMailboxes). For both the big and the small
mailbox: the Inbox first page, a page in the middle (keyset cursor), the last page
("Oldest"), a folder switch (Archive), opening a message as a whole page and as the
reading-pane fragment htmx asks for, and a bulk action's list fragment (mark three
messages read, then unread again: each POST answers with the list pane, the folder
counts out of band and the toast), each timed through the whole Django stack
(middleware, session, view, template) with the test Client. Each figure is the
median of many requests; the query count per page comes from one extra request
under CaptureQueriesContext (not timed: capturing adds overhead).

    python -m bench.inbox            # SQLite, and PostgreSQL when DATABASE_URL points at it
    python -m bench.inbox --quick    # small N
    python -m bench.inbox_search     # and bench.search on the same data set

Each database runs in a child process of its own (Django's settings are per process).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from bench import dataset
from bench.cli import parser
from bench.pages import client_for
from bench.report import machine_of, now_iso, table, write_result
from bench.timing import median, ms

NAME = "inbox"
TARGET_MS = 50.0
TARGET_RATIO = 1.3
PAGES = [
    "inbox_first",
    "inbox_middle",
    "inbox_last",
    "folder_switch",
    "own_folder",
    "open_message",
    "open_message_fragment",
    "bulk_fragment",
]
# The same mailboxes with the conversation view on: one row per conversation with its
# count, and a conversation opened in the reading pane (the user's longest in Inbox).
CONVERSATION_PAGES = [
    "conversations_first",
    "conversations_middle",
    "conversations_last",
    "conversation_open",
    "conversation_open_fragment",
]
BULK_IDS = 3  # the bulk action marks this many messages of the first page read, then unread
CURRENT_URL = "http://localhost/"  # the page htmx sends its requests from: the Inbox


@dataclass(frozen=True)
class Request:
    """One request a page makes; a page is one or more (a bulk action, then its way back)."""

    url: str
    method: str = "GET"
    data: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def send(self, client) -> tuple[float, float, int]:
        """(seconds, CPU seconds of this process, response bytes); anything but 200
        is an error. The CPU time leaves out waiting for the database server and for
        a CPU on a busy machine; the server time (wall clock) is the figure."""
        start, cpu = time.perf_counter(), time.process_time()
        if self.method == "POST":
            response = client.post(self.url, self.data, headers=self.headers)
        else:
            response = client.get(self.url, headers=self.headers)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        if response.status_code != 200:
            raise RuntimeError(f"{self.method} {self.url} answered {response.status_code}")
        return elapsed, cpu, len(response.content)


def htmx_headers(target: str, trigger: str = "") -> dict[str, str]:
    """The headers htmx 2 sends with a swap into #target from the Inbox page."""
    headers = {"HX-Request": "true", "HX-Target": target, "HX-Current-URL": CURRENT_URL}
    if trigger:
        headers["HX-Trigger"] = trigger
    return headers


def send_all(client, requests: list[Request]) -> list[tuple[float, float, int]]:
    return [r.send(client) for r in requests]


def count_queries(client, requests: list[Request]) -> list[str]:
    """The SQL of the first request (not timed: capturing adds overhead); the rest of
    the page's requests are replayed after it so the data is as it was."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        requests[0].send(client)
    sql = [q["sql"] for q in captured.captured_queries]  # the next request resets the log
    send_all(client, requests[1:])
    return sql


# --------------------------------------------------------------------------- pages

OPENED_HTML = (
    '<html><body><div style="font-family:sans-serif"><p>Hello,</p>'
    + "<p>Please find the quarterly report attached. The numbers for the third quarter "
    "are in the second tab; 다음 주 월요일 회의에서 검토하겠습니다.</p>"
    * 12
    + '<p><img src="https://tracker.example.com/pixel.gif" width="1" height="1"></p>'
    "<p>Regards,<br>Minsoo</p></div></body></html>"
)


def prepare_user(user) -> dict[str, list[Request]]:
    """The requests of the measured pages for one user, and the message it opens."""
    from mailbox.listing import Cursor
    from mailbox.models import Attachment, Folder, Message, UserFolder

    inbox = Message.objects.filter(owner=user, folder="inbox").order_by("-date", "-id")
    count = inbox.count()
    # Own folders in use: two levels in the sidebar, a fifth of Archive filed in the inner one.
    projects, _ = UserFolder.objects.get_or_create(owner=user, name="Projects", parent=None)
    reports, _ = UserFolder.objects.get_or_create(owner=user, parent=projects, name="보고서")
    archive = Message.objects.filter(owner=user, folder=Folder.ARCHIVE)
    filed = list(archive.values_list("pk", flat=True)[::5])
    Message.objects.filter(pk__in=filed).update(folder=Folder.USER, user_folder=reports)
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
    # The bulk action's messages: the newest of the first page, unread before each action.
    bulk_ids = list(inbox.values_list("pk", flat=True)[:BULK_IDS])
    Message.objects.filter(pk__in=bulk_ids).update(seen=False)
    cursor = Cursor(middle[1], middle[0]).encode()
    bulk = {"folder": "inbox", "list": "", "ids": [str(pk) for pk in bulk_ids]}
    bulk_headers = htmx_headers("list-pane", trigger="bulk")
    return {
        "inbox_first": [Request("/")],
        "inbox_middle": [Request(f"/?before={cursor}")],
        "inbox_last": [Request("/?oldest=1")],
        "folder_switch": [Request("/mail/folder/archive/")],
        "own_folder": [Request(f"/mail/folders/{reports.pk}/")],
        "open_message": [Request(f"/mail/{opened_pk}/")],
        # A click on a row: htmx GETs the message into #reading-pane.
        "open_message_fragment": [
            Request(f"/mail/{opened_pk}/", headers=htmx_headers("reading-pane"))
        ],
        # The selection toolbar's "Mark as read", then "Mark as unread" to put it back:
        # both answer with the list fragment (list pane, OOB counts, toast), both timed.
        "bulk_fragment": [
            Request("/mail/bulk/", "POST", {**bulk, "action": "mark_read"}, headers=bulk_headers),
            Request("/mail/bulk/", "POST", {**bulk, "action": "mark_unread"}, headers=bulk_headers),
        ],
    }


def prepare_conversations(user) -> dict[str, list[Request]]:
    """The conversation view's pages for one user (who has it turned on)."""
    from django.db.models import Count

    from mailbox.listing import Cursor
    from mailbox.models import Message

    inbox = Message.objects.filter(owner=user, folder="inbox").order_by("-date", "-id")
    middle = inbox.values_list("pk", "date")[inbox.count() // 2]
    cursor = Cursor(middle[1], middle[0]).encode()
    longest = (
        inbox.order_by()
        .values("thread_id")
        .annotate(n=Count("*"))
        .order_by("-n", "thread_id")
        .values_list("thread_id", flat=True)
        .first()
    )
    opened = inbox.filter(thread_id=longest).values_list("pk", flat=True).first()
    return {
        "conversations_first": [Request("/")],
        "conversations_middle": [Request(f"/?before={cursor}")],
        "conversations_last": [Request("/?oldest=1")],
        "conversation_open": [Request(f"/mail/{opened}/")],
        "conversation_open_fragment": [
            Request(f"/mail/{opened}/", headers=htmx_headers("reading-pane"))
        ],
    }


def measure_pages(users: dict, runs: int, pages: list[str] = PAGES, prepare=prepare_user) -> dict:
    """{scale label: {page: {median_ms, min_ms, queries, bytes}}}; runs interleaved.

    A page of several requests (the bulk action and its way back) adds one sample
    per request.
    """
    clients = {label: client_for(user) for label, user in users.items()}
    requests = {label: prepare(user) for label, user in users.items()}
    timings: dict[str, dict[str, list[float]]] = {
        label: {page: [] for page in pages} for label in users
    }
    cpu: dict[str, dict[str, list[float]]] = {
        label: {page: [] for page in pages} for label in users
    }
    sizes: dict[str, dict[str, int]] = {label: {} for label in users}
    for label in users:  # warm caches, connections, templates
        for page in pages:
            for _ in range(2):
                send_all(clients[label], requests[label][page])
    for _ in range(runs):
        for page in pages:
            for label in users:
                for elapsed, used, size in send_all(clients[label], requests[label][page]):
                    timings[label][page].append(elapsed)
                    cpu[label][page].append(used)
                    sizes[label][page] = max(size, sizes[label].get(page, 0))
    out: dict = {}
    for label in users:
        out[label] = {}
        for page in pages:
            first = requests[label][page][0]
            queries = count_queries(clients[label], requests[label][page])
            out[label][page] = {
                "url": first.url,
                "method": first.method,
                "headers": first.headers,
                "requests_per_sample": len(requests[label][page]),
                "median_ms": ms(median(timings[label][page])),
                "min_ms": ms(min(timings[label][page])),
                "cpu_median_ms": ms(median(cpu[label][page])),
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
    from mailbox.pages import LIST_FIELDS
    from mailbox.threading import latest_per_thread

    messages = Message.objects.filter(owner=user, folder="inbox").only(*LIST_FIELDS)
    count = messages.count()
    middle = messages.order_by("-date", "-id").values_list("date", "pk")[count // 2]
    queries = {
        "first_page": messages.order_by("-date", "-id")[:51],
        "middle_page": messages.filter(older_than(Cursor(*middle))).order_by("-date", "-id")[:51],
        "last_page": messages.order_by("date", "id")[:51],
        "conversations_first_page": latest_per_thread(messages).order_by("-date", "-id")[:51],
        "conversations_last_page": latest_per_thread(messages).order_by("date", "id")[:51],
    }
    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    return {name: qs.explain(**options) for name, qs in queries.items()}


def run(users: dict, runs: int = 25) -> dict:
    """Measure the pages for {label: user}; the first label is the big mailbox."""
    from mailbox.models import Message

    load_before = os.getloadavg()
    pages = measure_pages(users, runs)
    for user in users.values():
        type(user).objects.filter(pk=user.pk).update(conversation_view=True)
    conversations = measure_pages(users, runs, CONVERSATION_PAGES, prepare_conversations)
    for user in users.values():
        type(user).objects.filter(pk=user.pk).update(conversation_view=False)
    for label in users:
        pages[label].update(conversations[label])
    load_after = os.getloadavg()
    big, small = list(users)[0], list(users)[-1]
    comparison = {}
    for page in PAGES + CONVERSATION_PAGES:
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
        # 1/5/15-minute load averages around the measuring: a shared machine's other work
        "load_average": {"before": load_before, "after": load_after},
        "comparison": comparison,
        "pages": pages,
        "explain": {label: explain_list_queries(user) for label, user in users.items()},
    }


def report(results: dict, quick: bool) -> dict:
    size = dataset.scale(quick)
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
        table(
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
    machine = machine_of(results)
    return {
        "benchmark": NAME,
        "date": now_iso(),
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


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.split("\n")[0])
    args = p.parse_args(argv)
    results = dataset.in_children(dataset.databases(args.database), args.quick, args.runs, "inbox")
    data = report(results, args.quick)
    path = write_result(args.output, NAME, data)
    print(f"\nwrote {path}")
    return data


if __name__ == "__main__":
    main()
