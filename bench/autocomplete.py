"""Recipient autocomplete at scale: server time and SQL queries of GET /contacts/autocomplete/.

One user with 10,000 contacts (a tenth with a second address, 40 groups) and 20,000
collected addresses, other users as large (so every query must be scoped per user),
and one user with 100 contacts and 200 collected; Korean names with their Latin
forms, addresses at the domains Korean users write to. For each two-character query
(Latin, Hangul syllables, initial consonants, a domain) the median server time of
the endpoint through the whole Django stack (test Client: middleware, session,
view, JSON) and its query count for the big and the small user. EXPLAIN (ANALYZE
on PostgreSQL) of the candidate query of two short queries (an exact match on the
prefix rows, read in index order with a LIMIT: no sort of all matches) and of a
longer one (the range of terms), with the rows each read.

    python -m bench.autocomplete            # SQLite, and PostgreSQL when DATABASE_URL points at it
    python -m bench.autocomplete --quick    # small N

Each database is built and measured in a child process of its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.cli import parser
from bench.database import bench_database, configure, database_version, migrate
from bench.dataset import databases
from bench.locations import ROOT
from bench.pages import client_for
from bench.report import machine, machine_of, now_iso, table, write_result
from bench.timing import median, ms

NAME = "autocomplete"
TARGET_MS = 20.0
QUERIES = ["ki", "le", "jh", "gm", "na", "김민", "이서", "ㄱㅈ", "ㅂㅅ"]
URL = "/contacts/autocomplete/"
SHORT_EXPLAINED = ["ki", "ㄱㅈ"]  # the commonest Latin prefix, initial consonants
EXPLAINED = [*SHORT_EXPLAINED, "jihyun"]  # and a query longer than the prefix rows

SURNAMES = [
    ("김", "kim", 21),
    ("이", "lee", 15),
    ("박", "park", 8),
    ("최", "choi", 5),
    ("정", "jung", 5),
    ("강", "kang", 2),
    ("조", "cho", 2),
    ("윤", "yoon", 2),
    ("장", "jang", 2),
    ("임", "lim", 2),
    ("한", "han", 1),
    ("오", "oh", 1),
    ("서", "seo", 1),
    ("신", "shin", 1),
    ("권", "kwon", 1),
]
SYLLABLES = [
    ("지", "ji"),
    ("현", "hyun"),
    ("민", "min"),
    ("서", "seo"),
    ("준", "jun"),
    ("수", "su"),
    ("영", "young"),
    ("하", "ha"),
    ("은", "eun"),
    ("우", "woo"),
    ("연", "yeon"),
    ("진", "jin"),
    ("호", "ho"),
    ("윤", "yun"),
    ("성", "sung"),
    ("희", "hee"),
]
DOMAINS = ["naver.com"] * 5 + ["gmail.com"] * 4 + ["daum.net", "hanmail.net", "kakao.com"]


def scale(quick: bool) -> dict:
    if quick:
        return {"contacts": 1_000, "collected": 2_000, "others": 1, "runs": 5}
    return {"contacts": 10_000, "collected": 20_000, "others": 2, "runs": 30}


def _person(rng: random.Random, i: int) -> tuple[str, str, str]:
    """(Korean name, Latin name, address) of a made-up person."""
    surnames = [s for s in SURNAMES for _ in range(s[2])]
    hangul, latin, _ = rng.choice(surnames)
    given = rng.sample(SYLLABLES, 2)
    korean = hangul + "".join(g[0] for g in given)
    first = "".join(g[1] for g in given)
    domain = rng.choice(DOMAINS) if rng.random() < 0.7 else f"corp{rng.randint(1, 300)}.co.kr"
    local = rng.choice([f"{first}.{latin}", f"{latin}{first}", f"{first}{i % 997}"])
    return korean, f"{latin.capitalize()} {first.capitalize()}", f"{local}{i}@{domain}"


def load_user(username: str, contacts: int, collected: int, seed: int):
    """A user with `contacts` contacts (+10% second addresses, groups) and `collected`
    collected addresses, bulk-inserted and then indexed by contacts.suggestions."""
    import datetime as dt

    from accounts.models import User
    from contacts import suggestions
    from contacts.models import CollectedAddress, Contact, ContactEmail, ContactGroup

    rng = random.Random(seed)
    user = User.objects.create_user(username=username, password="unused-" + username)
    now = dt.datetime.now(dt.UTC)
    groups = ContactGroup.objects.bulk_create(
        [
            ContactGroup(owner=user, name=name)
            for name in [f"Team {i}" for i in range(20)] + [f"{i}기 동기" for i in range(20)]
        ][: max(4, contacts // 250)]
    )
    people, emails = [], []
    for i in range(contacts):
        korean, latin, address = _person(rng, i)
        display = korean if rng.random() < 0.6 else latin
        people.append(
            Contact(
                owner=user,
                display_name=display,
                korean_name=korean,
                latin_name=latin,
                created_at=now - dt.timedelta(days=rng.randint(0, 2000)),
            )
        )
        emails.append([address] + ([f"home{i}@{rng.choice(DOMAINS)}"] if i % 10 == 0 else []))
    people = Contact.objects.bulk_create(people, batch_size=2000)
    ContactEmail.objects.bulk_create(
        [
            ContactEmail(
                contact=p, owner=user, address=a, address_key=a.casefold(), preferred=(j == 0)
            )
            for p, addresses in zip(people, emails, strict=True)
            for j, a in enumerate(addresses)
        ],
        batch_size=2000,
    )
    through = Contact.groups.through
    through.objects.bulk_create(
        [
            through(contact_id=p.pk, contactgroup_id=rng.choice(groups).pk)
            for p in rng.sample(people, min(len(people), 25 * len(groups)))
        ],
        batch_size=2000,
    )
    rows = []
    for i in range(collected):
        korean, latin, address = _person(rng, contacts + i)
        used = int(rng.paretovariate(1.2))  # most written to once or twice, a few often
        rows.append(
            CollectedAddress(
                owner=user,
                address=address,
                address_key=address.casefold(),
                name=rng.choice(["", korean, latin]),
                source="sent",
                times_used=used,
                last_used_at=now - dt.timedelta(days=rng.randint(0, 730)),
            )
        )
    # Some of the user's contacts were written to as well (their collected rows).
    for addresses in emails[: contacts // 5]:
        rows.append(
            CollectedAddress(
                owner=user,
                address=addresses[0],
                address_key=addresses[0].casefold(),
                source="sent",
                times_used=rng.randint(1, 40),
                last_used_at=now - dt.timedelta(days=rng.randint(0, 365)),
            )
        )
    CollectedAddress.objects.bulk_create(rows, batch_size=2000)
    terms = suggestions.reindex_owner(user)
    return user, terms


def count_queries(client, q: str) -> list[str]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        client.get(URL, {"q": q})
    return [x["sql"] for x in captured.captured_queries]


def measure(users: dict, runs: int) -> dict:
    clients = {label: client_for(user) for label, user in users.items()}
    timings = {label: {q: [] for q in QUERIES} for label in users}
    found = {label: {} for label in users}
    for client in clients.values():  # warm up
        for q in QUERIES:
            for _ in range(2):
                client.get(URL, {"q": q})
    for _ in range(runs):
        for q in QUERIES:
            for label, client in clients.items():
                start = time.perf_counter()
                response = client.get(URL, {"q": q})
                timings[label][q].append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise RuntimeError(f"{q!r} answered {response.status_code}")
                found[label][q] = len(response.json())
    out = {}
    for label, client in clients.items():
        out[label] = {}
        for q in QUERIES:
            sql = count_queries(client, q)
            out[label][q] = {
                "median_ms": ms(median(timings[label][q])),
                "min_ms": ms(min(timings[label][q])),
                "suggestions": found[label][q],
                "queries": len(sql),
                "sql": sql,
            }
    return out


def explain(user) -> dict:
    from django.db import connection

    from contacts import suggestions

    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    return {q: suggestions.candidates_query(user, q).explain(**options) for q in EXPLAINED}


def reads_in_index_order(plan: str) -> bool:
    """The short query's plan: the prefix index, and no sort (of every match) after it."""
    return "suggestion_prefix_idx" in plan and not any(
        word in plan for word in ("Sort", "TEMP B-TREE")
    )


def child(kind: str, quick: bool, runs: int | None, out: Path) -> None:
    size = scale(quick)
    runs = runs or size["runs"]
    media = tempfile.mkdtemp(prefix="webmail-bench-media-autocomplete-")
    try:
        with bench_database(NAME, kind) as db:
            configure(db.url, media)
            logging.getLogger("axes").setLevel(logging.WARNING)
            migrate()
            from django.db import connection

            from contacts.models import SuggestionPrefix, SuggestionTerm

            start = time.perf_counter()
            big, big_terms = load_user("big", size["contacts"], size["collected"], seed=1)
            for i in range(size["others"]):
                load_user(f"other{i + 1}", size["contacts"], size["collected"], seed=10 + i)
            small, small_terms = load_user("small", 100, 200, seed=99)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # what autovacuum does after a load
                    cursor.execute("VACUUM ANALYZE")
            else:
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            load_seconds = time.perf_counter() - start
            users = {"big": big, "small": small}
            load_before = os.getloadavg()
            pages = measure(users, runs)
            load_after = os.getloadavg()
            comparison = {}
            for q in QUERIES:
                b, s = pages["big"][q], pages["small"][q]
                comparison[q] = {
                    "big_ms": b["median_ms"],
                    "small_ms": s["median_ms"],
                    "queries_big": b["queries"],
                    "queries_small": s["queries"],
                    "suggestions_big": b["suggestions"],
                    "meets_ms_target": b["median_ms"] <= TARGET_MS,
                    "queries_constant": b["queries"] == s["queries"],
                }
            plans = explain(big)
            data = {
                "database": database_version(),
                "vendor": db.vendor,
                "machine": machine(),
                "load_seconds": round(load_seconds, 1),
                "terms": {
                    "big": big_terms,
                    "small": small_terms,
                    "all_users": SuggestionTerm.objects.count(),
                },
                "prefixes": {
                    "big": SuggestionPrefix.objects.filter(owner=big).count(),
                    "small": SuggestionPrefix.objects.filter(owner=small).count(),
                    "all_users": SuggestionPrefix.objects.count(),
                },
                "runs": runs,
                "load_average": {"before": load_before, "after": load_after},
                "comparison": comparison,
                "queries": pages,
                "explain": plans,
                "short_queries_read_in_index_order": all(
                    reads_in_index_order(plans[q]) for q in SHORT_EXPLAINED
                ),
                "long_query_uses_term_index": "suggestion_term_prefix_idx" in plans[EXPLAINED[-1]],
            }
    finally:
        shutil.rmtree(media, ignore_errors=True)
    out.write_text(json.dumps(data, default=str, ensure_ascii=False))


def in_children(kinds: list[str], quick: bool, runs: int | None) -> dict:
    results = {}
    for kind in kinds:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            path = Path(tmp.name)
        command = [sys.executable, "-m", "bench.autocomplete", "--child", kind]
        command += ["--child-out", str(path)] + (["--quick"] if quick else [])
        if runs:
            command += ["--runs", str(runs)]
        print(f"[{NAME}] {kind}: loading and measuring ...", flush=True)
        subprocess.run(command, cwd=ROOT, check=True)
        results[kind] = json.loads(path.read_text())
        path.unlink()
    return results


def report(results: dict, quick: bool) -> dict:
    size = scale(quick)
    rows = []
    for kind, data in results.items():
        for q, c in data["comparison"].items():
            rows.append(
                [
                    kind,
                    q,
                    c["big_ms"],
                    c["small_ms"],
                    f"{c['queries_big']}/{c['queries_small']}",
                    c["suggestions_big"],
                    "yes" if c["meets_ms_target"] and c["queries_constant"] else "NO",
                ]
            )
    print()
    print(
        table(
            [
                "database",
                "q",
                f"{size['contacts']:,} contacts ms",
                "100 contacts ms",
                "queries",
                "shown",
                "target",
            ],
            rows,
        )
    )
    return {
        "benchmark": NAME,
        "date": now_iso(),
        "machine": machine_of(results),
        "params": {
            "contacts_big": size["contacts"],
            "collected_big": size["collected"],
            "contacts_small": 100,
            "collected_small": 200,
            "other_users": size["others"],
            "queries": QUERIES,
            "quick": quick,
        },
        "targets": {"median_ms_max": TARGET_MS, "queries": "constant"},
        "figures": {
            kind: {
                **{k: v for k, v in data.items() if k not in {"machine", "queries"}},
                "worst_big_ms": max(c["big_ms"] for c in data["comparison"].values()),
                "median_of_medians_big_ms": median(
                    [c["big_ms"] for c in data["comparison"].values()]
                ),
                "meets_target": all(
                    c["meets_ms_target"] and c["queries_constant"]
                    for c in data["comparison"].values()
                ),
                "sql": data["queries"]["big"][QUERIES[0]]["sql"],
            }
            for kind, data in results.items()
        },
        "notes": [
            "Server time = test Client GET through all middleware, session, view and JSON, "
            "with a persistent database connection; the data is in the OS page cache (warm).",
            "Query counts include the session and user lookups of every request.",
            "Queries of up to 4 characters read SuggestionPrefix (owner, prefix) in index "
            "order with a LIMIT; longer ones the SuggestionTerm range (explain: 'jihyun').",
            "Two-character queries: Latin prefixes, Hangul syllables, initial consonants "
            "and a domain prefix (gm → gmail.com).",
        ],
    }


def main(argv: list[str] | None = None) -> dict | None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.quick, args.runs, args.child_out)
        return None
    results = in_children(databases(args.database), args.quick, args.runs)
    data = report(results, args.quick)
    path = write_result(args.output, NAME, data)
    print(f"\nwrote {path}")
    return data


if __name__ == "__main__":
    main()
