"""Export memory: the Python heap's peak while a folder of 1,000 and of 10,000 messages
is exported (mbox, zip of .eml, and the whole account as a zip of mbox files).

The export streams: rows come from the database in chunks and each stored original is
read when its turn comes, so the peak should not grow with the folder. The figure is the
ratio of the peaks (10k / 1k), about 1 when memory is flat; it is reported, not asserted
(tracemalloc counts Python allocations, which is where a list of messages or a zip's
table of contents would show; it slows the run, so no timing is taken under it).

Messages are small text mails of similar size (1-4 KB, a third Korean), written as blobs
and inserted as rows directly: the benchmark measures the export, not the ingest.

    python -m bench.export [--quick]
"""

from __future__ import annotations

import os
import random
import time
import tracemalloc

from bench.cli import main_wrapper, parser
from bench.database import BenchDatabase, database_version
from bench.report import result_document, table
from bench.users import make_user_and_account, new_login

NAME = "export"
KINDS = ["mbox", "eml-zip", "account-mbox"]
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
        if kind == "account-mbox":
            result = export.account_export(user, "mbox")
        else:
            result = export.export(user, messages, kind, name)
        written = sum(len(chunk) for chunk in result.chunks)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"bytes": written, "peak_mb": round(peak / 1e6, 3)}


def run(small: int = 1000, big: int = 10000) -> dict:
    started = time.perf_counter()
    users = {small: make_mailbox(small), big: make_mailbox(big)}
    setup = round(time.perf_counter() - started, 1)
    kinds = {}
    for kind in KINDS:
        figures = {n: measure(user, kind) for n, user in users.items()}
        ratio = round(figures[big]["peak_mb"] / max(figures[small]["peak_mb"], 1e-6), 2)
        kinds[kind] = {
            "small": figures[small],
            "big": figures[big],
            "ratio": ratio,
            "flat": ratio <= TARGET_RATIO,
        }
    return {"sizes": {"small": small, "big": big}, "kinds": kinds, "setup_s": setup}


def report(data: dict, quick: bool) -> dict:
    small, big = data["sizes"]["small"], data["sizes"]["big"]
    rows = [
        [
            kind,
            f["small"]["peak_mb"],
            f["big"]["peak_mb"],
            f["ratio"],
            round(f["big"]["bytes"] / 1e6, 1),
        ]
        for kind, f in data["kinds"].items()
    ]
    headers = [
        "export",
        f"peak MB at {small:,}",
        f"peak MB at {big:,}",
        "ratio",
        f"MB written at {big:,}",
    ]
    print(table(headers, rows))
    return result_document(
        NAME,
        data,
        params={"small": small, "big": big, "quick": quick},
        targets={"ratio_max": TARGET_RATIO},
        notes=[
            "tracemalloc peak while the whole export is consumed (chunks counted, not kept); "
            "ratio = peak at the big size / peak at the small size; flat memory gives ~1.",
            "Messages: small text mails (1-4 KB) with their blobs written and rows bulk-inserted.",
        ],
    )


def main(argv: list[str] | None = None) -> dict:
    args = parser(__doc__.split("\n")[0]).parse_args(argv)
    small, big = (100, 1000) if args.quick else (1000, 10000)

    def body(db: BenchDatabase) -> dict:
        data = run(small, big)
        data["database"] = database_version()
        return report(data, args.quick)

    return main_wrapper(NAME, args, body)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
