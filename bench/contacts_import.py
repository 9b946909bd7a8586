"""Contacts import: a generated 10,000-card vCard file read, previewed and stored.

The file mixes what address books export: Korean and Latin names (N and FN), one to
three addresses with a preferred one, organizations, phones, notes and categories
(groups), vCard 3.0 and 4.0 cards, and one malformed card in every thousand (skipped
with its position). Half the users' addresses are new, and a tenth of the cards share
an address with an earlier card, so both "new" and "merged" paths are measured.

Reported: the file's size; the wall time of reading (vobject, card by card), of the
preview plan, and of storing it (contacts.importing.apply, one transaction with a
savepoint per card), each the median of --runs into a fresh user; and the Python
heap's peak (tracemalloc) over read + plan + apply, measured in a separate run because
tracemalloc slows everything it traces. Not asserted anywhere.

    python -m bench.contacts_import [--quick] [--cards 10000]
"""

from __future__ import annotations

import os
import random
import statistics
import time
import tracemalloc

from bench.cli import main_wrapper, parser
from bench.database import BenchDatabase, database_version
from bench.report import result_document, table
from bench.users import make_user_and_account, new_login

NAME = "contacts_import"
FAMILY = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["지현", "민수", "서연", "도윤", "하은", "준호", "수빈", "예린", "현우", "지민"]
LATIN = ["Jihyun", "Minsoo", "Seoyeon", "Doyoon", "Haeun", "Junho", "Subin", "Yerin"]
GROUPS = ["친구", "가족", "Work", "동창", "Clients"]


def make_file(cards: int, seed: int = 15) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(cards):
        if i % 1000 == 500:
            out.append(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN Broken {i}\r\nEND:VCARD\r\n")
            continue
        version = "4.0" if i % 4 == 0 else "3.0"
        korean = i % 3 != 0
        if korean:
            family, given = rng.choice(FAMILY), rng.choice(GIVEN)
            fn, n = f"{family}{given}", f"{family};{given};;;"
        else:
            given, family = rng.choice(LATIN), f"Kim{i % 97}"
            fn, n = f"{given} {family}", f"{family};{given};;;"
        lines = ["BEGIN:VCARD", f"VERSION:{version}", f"FN:{fn}", f"N:{n}"]
        shared = i - 1 if i % 10 == 9 else i  # a tenth share an address with the card before
        addresses = [f"user{shared}@example.{'com' if shared % 3 == 0 else 'kr'}"]
        addresses += [f"alt{i}.{k}@mail.example" for k in range(rng.randint(0, 2))]
        for k, address in enumerate(addresses):
            if version == "4.0":
                lines.append(f"EMAIL{';PREF=1' if k == 0 else ''}:{address}")
            else:
                lines.append(f"EMAIL;TYPE=INTERNET{',PREF' if k == 0 else ''}:{address}")
        if i % 2:
            lines.append(f"ORG:{'회사' if korean else 'Company'} {i % 50}")
        if i % 3:
            lines.append(f"TEL;TYPE=CELL:010-{i % 10000:04}-{(i * 7) % 10000:04}")
        if i % 5 == 0:
            lines.append(f"NOTE:메모 {i}\\n두 번째 줄")
        if i % 4 == 1:
            lines.append(f"CATEGORIES:{rng.choice(GROUPS)}")
        lines.append("END:VCARD")
        out.append("\r\n".join(lines) + "\r\n")
    return "".join(out).encode("utf-8")


def _one(raw: bytes) -> dict:
    from contacts import importing

    user, _account = make_user_and_account(new_login()[0])
    began = time.perf_counter()
    parsed = importing.read_file(raw)
    read = time.perf_counter()
    plan = importing.plan(user, parsed.entries)
    planned = time.perf_counter()
    summary = importing.apply(user, parsed.entries)
    done = time.perf_counter()
    return {
        "read_s": read - began,
        "plan_s": planned - read,
        "apply_s": done - planned,
        "total_s": done - began,
        "new": plan.new,
        "merged": plan.merged,
        "created": summary.created,
        "merged_stored": summary.merged,
        "skipped": len(summary.skipped),
    }


def _peak(raw: bytes) -> float:
    tracemalloc.start()
    try:
        _one(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return round(peak / 1e6, 1)


def run(cards: int = 10_000, runs: int = 3) -> dict:
    raw = make_file(cards)
    results = [_one(raw) for _ in range(runs)]
    first = results[0]

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in results), 2)

    return {
        "cards": cards,
        "file_mb": round(len(raw) / 1e6, 2),
        "runs": runs,
        "read_s": median("read_s"),
        "plan_s": median("plan_s"),
        "apply_s": median("apply_s"),
        "total_s": median("total_s"),
        "cards_per_s": round(cards / median("total_s"), 0),
        "peak_mb": _peak(raw),
        "outcome": {
            "created": first["created"],
            "merged": first["merged_stored"],
            "skipped": first["skipped"],
            "preview_new": first["new"],
            "preview_merged": first["merged"],
        },
    }


def report(data: dict, quick: bool) -> dict:
    print(
        table(
            ["cards", "file MB", "read s", "plan s", "apply s", "total s", "peak MB", "outcome"],
            [
                [
                    f"{data['cards']:,}",
                    data["file_mb"],
                    data["read_s"],
                    data["plan_s"],
                    data["apply_s"],
                    data["total_s"],
                    data["peak_mb"],
                    ", ".join(f"{k} {v}" for k, v in data["outcome"].items()),
                ]
            ],
        )
    )
    return result_document(
        NAME,
        data,
        params={"cards": data["cards"], "runs": data["runs"], "quick": quick},
        targets={"reported": "time and peak memory (issue 15), no target"},
        notes=[
            "Times: medians of `runs` imports of the same file, each into a fresh user "
            "(read = vobject card by card; plan = the preview; apply = storing, one "
            "transaction, a savepoint per card).",
            "peak_mb: tracemalloc peak of the Python heap over read + plan + apply, in a "
            "separate run (tracemalloc slows the code it traces).",
            "One malformed card per thousand; a tenth of the cards share an address with "
            "the card before and are merged into it.",
        ],
    )


def main(argv: list[str] | None = None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument("--cards", type=int, default=None, help="cards in the file (10000)")
    args = cli.parse_args(argv)
    cards = args.cards or (1000 if args.quick else 10_000)
    runs = args.runs or (1 if args.quick else 3)

    def body(db: BenchDatabase) -> dict:
        data = run(cards, runs)
        data["database"] = database_version()
        return report(data, args.quick)

    return main_wrapper(NAME, args, body)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
