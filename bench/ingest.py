"""Ingest: a POP3 poll end to end against a bare poplib loop over the same maildrop.

A mailbox of N realistic messages (default 2,000, from testkit.corpus): 60% text/plain,
25% multipart/alternative with HTML, 15% with 1-3 attachments of 10 KB-2 MB
(log-uniform), about a third Korean (UTF-8, and CP949 labelled EUC-KR), about 3%
malformed. It is delivered once to a real Dovecot (devmail when Dovecot is not
installed) and polled repeatedly with "leave on server":

(a) floor: stdlib poplib logs in, UIDLs and RETRs every message, discards it;
(b) ours: mailbox.ingest.poll_account, until every message is committed
    (the database and media are emptied before each run);
(c) ours without fsync (mailbox.blobs.FSYNC off, for this measure only): what the
    durability policy (every blob fsynced and renamed, its directory fsynced, before
    the commit) costs, as the ratio (b)/(c).

Reported: messages/s, MB/s and the ratio (b)/(a) (target <= 1.5), and a second
poll with nothing new (target < 0.2 s for 2,000 UIDLs) next to its own floor
(login + UIDL + QUIT). Runs alternate (a), (b); each figure is a median.

    python -m bench.ingest [--quick] [--runs 3] [--profile]
"""

from __future__ import annotations

import poplib
import time

from bench.cli import main_wrapper, parser
from bench.database import BenchDatabase, clear_media, database_version
from bench.report import result_document, table
from bench.servers import pop3_server, server_kind
from bench.timing import median, timed
from bench.users import make_user_and_account, new_login
from testkit.corpus import corpus

NAME = "ingest"
TARGET_RATIO = 1.5
TARGET_NOTHING_NEW_S = 0.2

# --------------------------------------------------------------------------- the two paths


def floor_poll(host: str, port: int, login: str, password: str) -> tuple[int, int]:
    """The bare protocol: login, UIDL, RETR each message and drop it, QUIT."""
    pop = poplib.POP3(host, port, timeout=120)
    try:
        pop.user(login)
        pop.pass_(password)
        _, listing, _ = pop.uidl()
        count = total = 0
        for line in listing:
            _, _, octets = pop.retr(int(line.split()[0]))
            count += 1
            total += octets
        pop.quit()
    finally:
        pop.close()
    return count, total


def floor_nothing_new(host: str, port: int, login: str, password: str) -> int:
    pop = poplib.POP3(host, port, timeout=60)
    try:
        pop.user(login)
        pop.pass_(password)
        _, listing, _ = pop.uidl()
        pop.quit()
    finally:
        pop.close()
    return len(listing)


def _reset(account) -> None:
    """Forget what the last run stored: rows and blobs (the server keeps the mail)."""
    from django.db import connection

    from mailbox.models import Message, ThreadKey

    Message.objects.filter(account=account).delete()
    # Its conversation keys too: left behind, the next run would find every Message-ID
    # known (and skip the inserts of a first delivery).
    ThreadKey.objects.filter(owner_id=account.user_id).delete()
    clear_media()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM mailbox_message, mailbox_attachment, mailbox_threadkey")


def our_poll(account, *, fsync: bool = True) -> tuple[float, object]:
    from mailbox import blobs, ingest

    blobs.FSYNC = fsync
    try:
        start = time.perf_counter()
        result = ingest.poll_account(account.pk)
        elapsed = time.perf_counter() - start
    finally:
        blobs.FSYNC = True
    if result.error or result.locked:
        raise RuntimeError(f"poll failed: {result}")
    return elapsed, result


def profile_poll(account, top: int = 40) -> list[dict]:
    """cProfile of one poll: the storing thread only (INSERTs and commits).

    RETR, parsing and file writes run in the download thread and fsyncs in the sync
    thread, which cProfile does not see; profile every thread with py-spy (README,
    "Performance"; `py-spy record --threads --idle`, and `--gil` for who holds the GIL).
    """
    import cProfile
    import pstats

    _reset(account)
    profiler = cProfile.Profile()
    profiler.enable()
    our_poll(account)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # all tottime
    rows = []
    for (filename, line, function), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        rows.append(
            {
                "function": f"{filename.split('/site-packages/')[-1].split('/work/main/')[-1]}"
                f":{line}({function})",
                "calls": ncalls,
                "tottime_s": round(tottime, 3),
                "cumtime_s": round(cumtime, 3),
            }
        )
    rows.sort(key=lambda r: r["cumtime_s"], reverse=True)
    return [{"total_tottime_s": round(total, 3)}, *rows[:top]]


def run(server, n: int = 2000, runs: int = 3, *, profile: bool = False, seed: int = 2026) -> dict:
    """Deliver n messages to `server` and measure both paths `runs` times."""
    messages = corpus(n, seed)
    login, password = new_login()
    pop3_user = server.add_user(login, password)
    for _, raw in messages:
        pop3_user.deliver(raw)
    _, account = make_user_and_account(f"ingest{login}", server, pop3_user)
    args = (server.host, server.port, pop3_user.name, pop3_user.password)

    floor_poll(*args)  # warm: the server's index and the page cache
    floor_times, our_times, unsynced_times, floor_bytes = [], [], [], 0
    stored = failed_parse = 0
    for _ in range(runs):
        _reset(account)
        seconds, (count, floor_bytes) = timed(lambda: floor_poll(*args))
        if count != n:
            raise RuntimeError(f"the floor saw {count} messages, not {n}")
        floor_times.append(seconds)
        seconds, result = our_poll(account)
        stored, failed_parse = result.new, result.failed_parse
        if stored != n:
            raise RuntimeError(f"the poll stored {stored} messages, not {n}")
        our_times.append(seconds)
        _reset(account)
        unsynced_times.append(our_poll(account, fsync=False)[0])

    # Second poll: everything is stored already.
    nothing_new, nothing_new_floor = [], []
    for _ in range(max(3, runs)):
        nothing_new_floor.append(timed(lambda: floor_nothing_new(*args))[0])
        seconds, result = our_poll(account)
        if result.new:
            raise RuntimeError("the second poll found new messages")
        nothing_new.append(seconds)

    floor_s, our_s, unsynced_s = median(floor_times), median(our_times), median(unsynced_times)
    mb = floor_bytes / 1e6
    kinds: dict[str, int] = {}
    for kind, _ in messages:
        kinds[kind] = kinds.get(kind, 0) + 1
    data = {
        "messages": n,
        "megabytes": round(mb, 1),
        "mix": kinds,
        "server": server_kind(server),
        "runs": runs,
        "floor": {
            "median_s": round(floor_s, 3),
            "messages_per_s": round(n / floor_s, 1),
            "mb_per_s": round(mb / floor_s, 1),
            "runs_s": [round(t, 3) for t in floor_times],
        },
        "ours": {
            "median_s": round(our_s, 3),
            "messages_per_s": round(n / our_s, 1),
            "mb_per_s": round(mb / our_s, 1),
            "runs_s": [round(t, 3) for t in our_times],
            "stored": stored,
            "failed_parse": failed_parse,
        },
        "ratio": round(our_s / floor_s, 2),
        "without_fsync": {
            "median_s": round(unsynced_s, 3),
            "runs_s": [round(t, 3) for t in unsynced_times],
            "ratio": round(unsynced_s / floor_s, 2),
            "fsync_cost": round(our_s / unsynced_s, 2),
        },
        "nothing_new": {
            "median_s": round(median(nothing_new), 4),
            "floor_median_s": round(median(nothing_new_floor), 4),
            "uidls": n,
        },
        "meets_ratio_target": our_s / floor_s <= TARGET_RATIO,
        "meets_nothing_new_target": median(nothing_new) < TARGET_NOTHING_NEW_S,
    }
    if profile:
        data["profile"] = profile_poll(account)
    return data


def report(data: dict, quick: bool) -> dict:
    f = data
    rows = [
        [
            "(a) poplib floor",
            f["floor"]["median_s"],
            f["floor"]["messages_per_s"],
            f["floor"]["mb_per_s"],
            "1",
            "",
        ],
        [
            "(b) poll_account",
            f["ours"]["median_s"],
            f["ours"]["messages_per_s"],
            f["ours"]["mb_per_s"],
            f["ratio"],
            "yes" if f["meets_ratio_target"] else "NO (≤ 1.5)",
        ],
        [
            "(c) without fsync (cost)",
            f["without_fsync"]["median_s"],
            round(f["messages"] / f["without_fsync"]["median_s"], 1),
            round(f["megabytes"] / f["without_fsync"]["median_s"], 1),
            f"{f['without_fsync']['ratio']} (fsync ×{f['without_fsync']['fsync_cost']})",
            "",
        ],
        [
            "second poll, nothing new",
            f["nothing_new"]["median_s"],
            "",
            "",
            f"floor {f['nothing_new']['floor_median_s']} s",
            "yes" if f["meets_nothing_new_target"] else "NO (< 0.2 s)",
        ],
    ]
    print()
    print(f"{f['messages']:,} messages, {f['megabytes']} MB, {f['server']}, {f['database']}")
    print(table(["path", "seconds", "msg/s", "MB/s", "ratio", "target"], rows))
    return result_document(
        NAME,
        data,
        params={"messages": f["messages"], "runs": f["runs"], "quick": quick},
        targets={"ratio_max": TARGET_RATIO, "nothing_new_max_s": TARGET_NOTHING_NEW_S},
        notes=[
            "Same maildrop for both paths (leave on server); database rows and media are "
            "emptied before each run of (b). Timed until poll_account returns, i.e. every "
            "message committed.",
            "(c) is (b) with mailbox.blobs.FSYNC off, a measure only: the app always "
            "fsyncs (leave-on-server too). fsync cost = (b) / (c).",
        ],
    )


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=None)
    p.add_argument("--profile", action="store_true", help="add a cProfile of one poll")
    p.add_argument("--pop3", choices=["auto", "dovecot", "devmail"], default="auto")
    args = p.parse_args(argv)
    n = args.messages or (40 if args.quick else 2000)
    runs = args.runs or (1 if args.quick else 3)

    def body(db: BenchDatabase) -> dict:
        with pop3_server(args.pop3) as server:
            data = run(server, n, runs, profile=args.profile)
        data["database"] = database_version()
        return report(data, args.quick)

    return main_wrapper(NAME, args, body)


if __name__ == "__main__":
    main()
