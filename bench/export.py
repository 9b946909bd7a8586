"""Export memory: the Python heap's peak while a folder of 1,000 and of 10,000 messages
is exported (mbox, zip of .eml, and the whole account as a zip of mbox files and as a
zip of .eml files).

The export streams: rows come from the database in chunks and each stored original is
read when its turn comes, so the peak should not grow with the folder. The figure is the
ratio of the peaks (10k / 1k), about 1 when memory is flat; it is reported, not asserted
(tracemalloc counts Python allocations, which is where a list of messages or a zip's
table of contents would show; it slows the run, so no timing is taken under it).

Messages are small text mails of similar size (1-4 KB, a third Korean), written as blobs
and inserted as rows directly: the benchmark measures the export, not the ingest.

    python -m bench.export [--quick] [--sizes 1000,10000,50000]

``--sizes`` takes the small and the big size and, optionally, larger ones: their peaks
are reported too (``larger``), and ``ratio_largest`` is the largest's peak over the small.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import tracemalloc

from bench.cli import main_wrapper, parser
from bench.database import BenchDatabase, database_version
from bench.report import result_document, table
from bench.users import make_user_and_account, new_login

NAME = "export"
KINDS = ["mbox", "eml-zip", "account-mbox", "account-eml-zip"]
TARGET_RATIO = 1.5  # what "flat" means here; a list of 10x the messages would be ~10


def _messages(n: int, seed: int = 14) -> list[bytes]:
    from testkit import mailfactory as mf

    rng = random.Random(seed)
    words = "meeting report budget schedule 회의 보고서 일정 안내 검토 요청".split()
    out = []
    for i in range(n):
        body = " ".join(rng.choice(words) for _ in range(rng.randint(150, 600))) + "\n"
        subject = f"{'회의 안내' if i % 3 == 0 else 'Report'} {i}"
        out.append(mf.plain(subject, body, message_id=f"<export-{seed}-{i}@bench.test>"))
    return out


def make_mailbox(n: int) -> object:
    """A user with ``n`` messages in the Inbox (blobs written, rows bulk-inserted)."""
    import datetime as dt

    from mailbox.ingest import store_blob
    from mailbox.models import Message

    user, account = make_user_and_account(new_login()[0])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = []
    for i, raw in enumerate(_messages(n)):
        name, digest = store_blob("raw", raw, ".eml")
        date = start + dt.timedelta(minutes=i)
        rows.append(
            Message(
                owner=user,
                account=account,
                folder="inbox",
                subject=f"Message {i}",
                from_address="sender@bench.test",
                date=date,
                received_at=date,
                size=len(raw),
                raw_file=name,
                raw_sha256=digest,
            )
        )
    Message.objects.bulk_create(rows, batch_size=1000)
    return user


def measure(user, kind: str) -> dict:
    """Peak traced memory (and bytes written) while the whole export is consumed."""
    from mailbox import export

    messages, name = export.folder_messages(user, "inbox")
    tracemalloc.start()
    try:
        if kind.startswith("account-"):
            result = export.account_export(user, kind.removeprefix("account-"))
        else:
            result = export.export(user, messages, kind, name)
        written = sum(len(chunk) for chunk in result.chunks)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"bytes": written, "peak_mb": round(peak / 1e6, 3)}


def run(small: int = 1000, big: int = 10000, larger: tuple[int, ...] = ()) -> dict:
    started = time.perf_counter()
    sizes = [small, big, *larger]
    users = {n: make_mailbox(n) for n in sizes}
    setup = round(time.perf_counter() - started, 1)
    kinds = {}
    for kind in KINDS:
        figures = {n: measure(user, kind) for n, user in users.items()}

        def ratio(n: int, figures: dict = figures) -> float:
            return round(figures[n]["peak_mb"] / max(figures[small]["peak_mb"], 1e-6), 2)

        kinds[kind] = {
            "small": figures[small],
            "big": figures[big],
            "ratio": ratio(big),
            "flat": ratio(big) <= TARGET_RATIO,
        }
        if larger:
            kinds[kind]["larger"] = {str(n): figures[n] for n in larger}
            kinds[kind]["ratio_largest"] = ratio(max(sizes))
    return {
        "sizes": {"small": small, "big": big, "larger": list(larger)},
        "kinds": kinds,
        "setup_s": setup,
    }


def report(data: dict, quick: bool) -> dict:
    small, big = data["sizes"]["small"], data["sizes"]["big"]
    larger = data["sizes"].get("larger", [])
    rows = [
        [
            kind,
            f["small"]["peak_mb"],
            f["big"]["peak_mb"],
            *(f["larger"][str(n)]["peak_mb"] for n in larger),
            f["ratio"],
            *([f["ratio_largest"]] if larger else []),
            round(f["big"]["bytes"] / 1e6, 1),
        ]
        for kind, f in data["kinds"].items()
    ]
    headers = [
        "export",
        f"peak MB at {small:,}",
        f"peak MB at {big:,}",
        *(f"peak MB at {n:,}" for n in larger),
        "ratio",
        *([f"ratio {max(larger):,}/{small:,}"] if larger else []),
        f"MB written at {big:,}",
    ]
    print(table(headers, rows))
    return result_document(
        NAME,
        data,
        params={"small": small, "big": big, "larger": larger, "quick": quick},
        targets={"ratio_max": TARGET_RATIO},
        notes=[
            "tracemalloc peak while the whole export is consumed (chunks counted, not kept); "
            "ratio = peak at the big size / peak at the small size; flat memory gives ~1.",
            "Messages: small text mails (1-4 KB) with their blobs written and rows bulk-inserted.",
        ],
    )


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers, e.g. 1000,10000") from None
    if len(sizes) < 2 or min(sizes) < 1 or sizes != sorted(set(sizes)):
        raise argparse.ArgumentTypeError("at least two increasing sizes, e.g. 1000,10000")
    return sizes


def main(argv: list[str] | None = None) -> dict:
    cli = parser(__doc__.split("\n")[0])
    cli.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated folder sizes: small,big[,larger...] (default 1000,10000; "
        "--quick: 100,1000)",
    )
    args = cli.parse_args(argv)
    sizes = args.sizes or ([100, 1000] if args.quick else [1000, 10000])

    def body(db: BenchDatabase) -> dict:
        data = run(sizes[0], sizes[1], tuple(sizes[2:]))
        data["database"] = database_version()
        return report(data, args.quick)

    return main_wrapper(NAME, args, body)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
