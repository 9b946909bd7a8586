"""Search: a word in 0.1% of the mailbox, and a sender, at 100,000 and 1,000 messages.

The same data set as bench.inbox (bench.dataset: one user with 100,000 messages in
Inbox, nine others with 100,000 each, one with 1,000; built once per database). Timed: the
search results page (`/?q=...`, the first 50 hits, through the whole Django stack),
median of many requests, for:

- word: bench.bulk.SEARCH_WORD, in 0.1% of each user's messages (at least one);
- sender name: "Minsoo Kim", the sender of 0.5% of each user's messages;
- sender address: "minsoo.kim@daum.net", the same sender typed as an address;

and operator searches on the search page across folders (`/mail/search/?q=...`: every
folder but Trash and Junk, rows labelled with their folder), OPERATOR_QUERIES:

- op_from: ``from:minsoo.kim@daum.net`` (0.5% of the mail);
- op_has_attachment: ``has:attachment`` (15%);
- op_in_folder: ``in:archive meeting`` (a common word, in Archive only);
- op_before: ``before:2018-01-01`` (the oldest fifth of the mail).

PostgreSQL uses its search vector's GIN index (target: ≤ 200 ms at 100,000), SQLite
its FTS5 index (mailbox.search_fts; target for the searches that look for words:
≤ 50 ms at 100,000 and ≤ 1.5× the time at 1,000). Both are measured, each on its own
copy of the data set. EXPLAIN (ANALYZE, BUFFERS) of each search is in the JSON.

    python -m bench.search            # PostgreSQL when DATABASE_URL points at it, else SQLite
    python -m bench.search --quick
    python -m bench.inbox_search      # with bench.inbox, on one data set
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from bench import dataset
from bench.bulk import SEARCH_WORD, SENDER_ADDRESS, SENDER_NAME
from bench.cli import parser
from bench.pages import client_for, count_queries, get
from bench.report import machine_of, now_iso, table, write_result
from bench.timing import median, ms

NAME = "search"
TARGET_MS = 200.0
SQLITE_TARGET_MS = 50.0  # the searches that look for words (WORD_SEARCHES)
SQLITE_TARGET_RATIO = 1.5
QUERIES = {
    "word": SEARCH_WORD,
    "sender_name": SENDER_NAME,
    "sender_address": SENDER_ADDRESS,
}
OPERATOR_QUERIES = {
    "op_from": f"from:{SENDER_ADDRESS}",
    "op_has_attachment": "has:attachment",
    "op_in_folder": "in:archive meeting",
    "op_before": "before:2018-01-01",
}
ALL_QUERIES = {**QUERIES, **OPERATOR_QUERIES}
WORD_SEARCHES = [*QUERIES, "op_from", "op_in_folder"]


def meets_target(vendor: str, name: str, big_ms: float, ratio: float) -> bool | None:
    """PostgreSQL: every search ≤ TARGET_MS. SQLite: a search for words ≤ SQLITE_TARGET_MS
    and ≤ SQLITE_TARGET_RATIO × the small mailbox's time; None where no target applies."""
    if vendor == "postgresql":
        return big_ms <= TARGET_MS
    if name not in WORD_SEARCHES:
        return None
    return big_ms <= SQLITE_TARGET_MS and ratio <= SQLITE_TARGET_RATIO


def _url(name: str, query: str) -> str:
    page = "/mail/search/?" if name in OPERATOR_QUERIES else "/?"
    return page + urlencode({"q": query})


def _searched(user, name: str, query: str):
    """The queryset the page lists (unordered, before pagination)."""
    from mailbox.models import Message
    from mailbox.pages import LIST_FIELDS
    from mailbox.search import filter_by_search, search_mail

    if name in OPERATOR_QUERIES:
        found = search_mail(user, query).messages
        return found.select_related("user_folder").only(
            *LIST_FIELDS, "user_folder", "user_folder__name"
        )
    inbox = Message.objects.filter(owner=user, folder="inbox").only(*LIST_FIELDS)
    return filter_by_search(inbox, query, owner=user)


def _explain(user, name: str, query: str) -> str:
    from django.db import connection

    messages = _searched(user, name, query).order_by("-date", "-id")[:51]
    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    return messages.explain(**options)


def _hits(user, name: str, query: str) -> int:
    return _searched(user, name, query).count()


def _found_first_page(user, name: str, query: str) -> float:
    """Seconds to find the first page of results, without drawing the page: the
    index lookup and the list query (what grows with the mailbox, if anything does;
    the page also draws its rows, 50 at the big mailbox and 1-5 at the small one)."""
    start = time.perf_counter()
    list(_searched(user, name, query).order_by("-date", "-id")[:51])
    return time.perf_counter() - start


def run(users: dict, runs: int = 25) -> dict:
    """Time the search page for {label: user}; the first label is the big mailbox."""
    from django.db import connection

    clients = {label: client_for(user) for label, user in users.items()}
    urls = {name: _url(name, q) for name, q in ALL_QUERIES.items()}
    timings = {label: {name: [] for name in ALL_QUERIES} for label in users}
    for label in users:
        for url in urls.values():
            for _ in range(2):
                get(clients[label], url)
    found = {label: {name: [] for name in ALL_QUERIES} for label in users}
    for _ in range(runs):
        for name, url in urls.items():
            for label, user in users.items():
                timings[label][name].append(get(clients[label], url)[0])
                found[label][name].append(_found_first_page(user, name, ALL_QUERIES[name]))
    figures: dict = {}
    for label, user in users.items():
        figures[label] = {}
        for name, query in ALL_QUERIES.items():
            figures[label][name] = {
                "query": query,
                "url": urls[name],
                "median_ms": ms(median(timings[label][name])),
                "min_ms": ms(min(timings[label][name])),
                "found_ms": ms(median(found[label][name])),
                "hits": _hits(user, name, query),
                "queries": len(count_queries(clients[label], urls[name])),
                "explain": _explain(user, name, query),
            }
    big, small = list(users)[0], list(users)[-1]
    comparison = {}
    for name in ALL_QUERIES:
        b, s = figures[big][name], figures[small][name]
        ratio = b["median_ms"] / s["median_ms"] if s["median_ms"] else float("nan")
        comparison[name] = {
            "big_ms": b["median_ms"],
            "small_ms": s["median_ms"],
            "ratio": round(ratio, 2),
            "found_big_ms": b["found_ms"],
            "found_small_ms": s["found_ms"],
            "found_ratio": round(b["found_ms"] / s["found_ms"], 2) if s["found_ms"] else None,
            "hits_big": b["hits"],
            "hits_small": s["hits"],
            "meets_target": meets_target(connection.vendor, name, b["median_ms"], ratio),
        }
    return {"runs": runs, "comparison": comparison, "searches": figures}


def report(results: dict, quick: bool) -> dict:
    size = dataset.scale(quick)
    rows = []
    for kind, data in results.items():
        for name, c in data["search"]["comparison"].items():
            target = {True: "yes", False: "NO", None: "n/a"}[c["meets_target"]]
            rows.append(
                [
                    kind,
                    name,
                    c["big_ms"],
                    c["small_ms"],
                    c["ratio"],
                    f"{c['found_big_ms']}/{c['found_small_ms']} ({c['found_ratio']})",
                    f"{c['hits_big']}/{c['hits_small']}",
                    target,
                ]
            )
    print()
    print(
        table(
            [
                "database",
                "search",
                f"{size['big']:,} msgs ms",
                f"{size['small']:,} msgs ms",
                "ratio",
                "finding page 1 ms (ratio)",
                "hits",
                "target",
            ],
            rows,
        )
    )
    # The database version is per figure here, not per machine.
    machine = machine_of(results)
    notes = [
        "Server time of the search results page (first 50 hits) through the whole stack.",
        "found_*: finding the first page of results alone (index lookup and list query, "
        "median), without drawing the rows: 50 at the big mailbox, the 1-5 hits of the "
        "small one for the word and sender searches.",
        f"Targets: PostgreSQL ≤ {TARGET_MS:.0f} ms at the big mailbox; SQLite (FTS5) "
        f"≤ {SQLITE_TARGET_MS:.0f} ms and ≤ {SQLITE_TARGET_RATIO}× the small mailbox's "
        f"time for the searches for words ({', '.join(WORD_SEARCHES)}).",
    ]
    if any(
        d["vendor"] == "postgresql" and d["search"]["comparison"]["sender_address"]["hits_big"] == 0
        for d in results.values()
    ):
        notes.append(
            "PostgreSQL's 'simple' parser keeps an e-mail address as one lexeme while the "
            "search box splits the query into \\w+ words joined with &: searching a full "
            "address finds nothing (sender_address hits = 0)."
        )
    return {
        "benchmark": NAME,
        "date": now_iso(),
        "machine": machine,
        "params": {
            "messages_big_inbox": size["big"],
            "messages_small_inbox": size["small"],
            "other_users": size["others"],
            "word_share": 0.001,
            "sender_share": 0.005,
            "quick": quick,
        },
        "targets": {
            "postgresql_median_ms_max": TARGET_MS,
            "sqlite_median_ms_max": SQLITE_TARGET_MS,
            "sqlite_ratio_max": SQLITE_TARGET_RATIO,
            "sqlite_searches": WORD_SEARCHES,
        },
        "figures": {
            kind: {
                "database": data["database"],
                "load_seconds": data["load_seconds"],
                **data["search"],
            }
            for kind, data in results.items()
        },
        "notes": notes,
    }


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.split("\n")[0])
    args = p.parse_args(argv)
    kinds = dataset.databases(args.database)  # SQLite, and PostgreSQL when available
    start = time.perf_counter()
    results = dataset.in_children(kinds, args.quick, args.runs, "search")
    data = report(results, args.quick)
    data["wall_seconds"] = round(time.perf_counter() - start, 1)
    path = write_result(args.output, NAME, data)
    print(f"\nwrote {path}")
    return data


if __name__ == "__main__":
    main()
