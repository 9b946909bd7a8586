"""Polling 10,000 accounts: the dispatcher and two Celery workers against a POP3 server
that always answers "nothing new".

N accounts (one user each, checked every minute) poll a tiny asyncio POP3 server in a
process of its own (bench.polling --pop3), which logs each session: its login, start
and end. Two real `celery -A webmail worker` processes (each --concurrency 1 by default:
two polls at a time) take the tasks from the broker (Redis when available).

Each round is one minute of the schedule: every account is due. Instead of waiting the
minute, the round moves every account's next_poll_at one interval back (what the clock
would have done), then calls the function beat calls (mailbox.tasks.dispatch_polls) and
waits until the server has seen a session of every account. Measured:

- polls per minute the two workers complete (N / the round's drain time × 60), and
  whether they keep up with N one-minute accounts (drain ≤ 60 s);
- the dispatcher: its queries (counted; the same at any N) and time per run, and the
  plan of its SELECT in the steady state of 5-minute accounts (a fifth of them due);
- that no account was polled twice at once (sessions of one login never overlap), none
  twice in a round, and none skipped (every account polled in every round); in one
  round two dispatchers race for the same due accounts and each is claimed once.

    python -m bench.polling [--quick] [--accounts 10000] [--rounds 3] [--concurrency 1]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from bench.cli import main_wrapper, parser
from bench.database import BenchDatabase, database_version
from bench.locations import LOOPBACK, ROOT
from bench.report import result_document, table
from bench.send import Worker, _forget_queue, producer_env
from bench.servers import free_port
from bench.timing import median

NAME = "polling"
ROUND_TIMEOUT = 900.0  # seconds a round may take before the benchmark gives up
# Minutes: the plan is shown for accounts checked every 5 minutes (the default interval)
# and every 60 (the backoff's ceiling, where idle accounts end up).
STEADY_INTERVALS = (5, 60)


# --------------------------------------------------------------------------- the POP3 server


def pop3_main(port: int) -> None:
    """A POP3 server with an empty maildrop for any login; prints one line per session:
    `S <login> <start> <end>` (time.time() at the greeting and at QUIT or close)."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = time.time()
        login = "-"
        writer.write(b"+OK bench POP3 ready\r\n")
        try:
            while line := await reader.readline():
                command, _, arg = line.decode("ascii", "replace").strip().partition(" ")
                command = command.upper()
                if command == "QUIT":
                    writer.write(b"+OK bye\r\n")
                    break
                if command == "CAPA":
                    writer.write(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n")
                elif command == "USER":
                    login = arg
                    writer.write(b"+OK\r\n")
                elif command == "PASS" or command == "NOOP":
                    writer.write(b"+OK\r\n")
                elif command == "STAT":
                    writer.write(b"+OK 0 0\r\n")
                elif command in ("LIST", "UIDL"):
                    writer.write(b"+OK\r\n.\r\n")
                else:
                    writer.write(b"-ERR unknown command\r\n")
                await writer.drain()
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            sys.stdout.write(f"S {login} {start:.6f} {time.time():.6f}\n")
            sys.stdout.flush()
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(session, LOOPBACK, port, backlog=1024)
        print("READY", flush=True)
        async with server:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(serve())


class Pop3Server:
    """The server process and the sessions it logged."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.polling", "--pop3", str(self.port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "READY":
            raise RuntimeError("the POP3 server did not start")
        self._lock = threading.Lock()
        self._sessions: list[tuple[str, float, float]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("S "):
                _, login, start, end = line.split()
                with self._lock:
                    self._sessions.append((login, float(start), float(end)))

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def take(self) -> list[tuple[str, float, float]]:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        return sessions

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --------------------------------------------------------------------------- the workers


# --------------------------------------------------------------------------- the accounts


def make_accounts(n: int, port: int) -> list[int]:
    """n users with one account each on the bench server, every one due now."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import MailAccount, User

    password = make_password(None)
    now = timezone.now()
    users = User.objects.bulk_create(
        User(username=f"poll{i:05d}", password=password) for i in range(n)
    )
    MailAccount.objects.bulk_create(
        MailAccount(
            user=user,
            email=f"poll{i:05d}@example.test",
            pop3_host=LOOPBACK,
            pop3_port=port,
            pop3_security="none",
            pop3_login=f"poll{i:05d}",
            pop3_password="unused",
            smtp_host=LOOPBACK,
            smtp_port=2525,
            smtp_security="none",
            poll_interval=1,
            last_mail_at=now,  # active accounts: no backoff
        )
        for i, user in enumerate(users)
    )
    return list(MailAccount.objects.order_by("pk").values_list("pk", flat=True))


def a_minute_passes() -> None:
    """Move every next poll one interval back: what the clock does in a minute."""
    from django.db.models import F

    from accounts.models import MailAccount

    MailAccount.objects.filter(next_poll_at__isnull=False).update(
        next_poll_at=F("next_poll_at") - timedelta(minutes=1)
    )


# --------------------------------------------------------------------------- a round


def _dispatch(racing: bool) -> dict:
    """What beat calls, timed and its queries counted; `racing`: two dispatchers at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mailbox import ingest, tasks

    if not racing:
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            claimed = ingest.due_account_ids()
            claim_s = time.perf_counter() - start
        start = time.perf_counter()
        tasks.enqueue_polls(claimed)
        return {
            "claimed": claimed,
            "claim_s": claim_s,
            "publish_s": time.perf_counter() - start,
            "queries": len(queries),
            "claimed_twice": 0,
        }
    barrier = threading.Barrier(2)
    claims: list[list[int]] = []

    def claim() -> None:
        try:
            barrier.wait()
            claims.append(ingest.due_account_ids())
        finally:
            connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claim_s = time.perf_counter() - start
    claimed = [pk for one in claims for pk in one]
    start = time.perf_counter()
    tasks.enqueue_polls(claimed)
    return {
        "claimed": claimed,
        "claim_s": claim_s,
        "publish_s": time.perf_counter() - start,
        "queries": None,
        "claimed_twice": len(claimed) - len(set(claimed)),
        "split": [len(one) for one in claims],
    }


def one_round(server: Pop3Server, n: int, *, racing: bool) -> dict:
    server.take()
    began = time.time()
    dispatched = _dispatch(racing)
    deadline = time.monotonic() + ROUND_TIMEOUT
    while server.count() < n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # a session polled twice would show up now
    sessions = server.take()
    per_login = defaultdict(int)
    for login, _, _ in sessions:
        per_login[login] += 1
    last_end = max((end for _, _, end in sessions), default=began)
    drain = last_end - began
    # How long after the round began (when every account was due) each poll started.
    waits = sorted(start - began for _, start, _ in sessions)
    return {
        "claimed": len(dispatched["claimed"]),
        "claimed_twice": dispatched["claimed_twice"],
        "claim_s": round(dispatched["claim_s"], 4),
        "publish_s": round(dispatched["publish_s"], 3),
        "queries": dispatched["queries"],
        "split": dispatched.get("split"),
        "sessions": len(sessions),
        "accounts_polled": len(per_login),
        "polled_twice": sum(1 for c in per_login.values() if c > 1),
        "skipped": n - len(per_login),
        "drain_s": round(drain, 3),
        "polls_per_minute": round(len(sessions) / drain * 60) if drain > 0 else None,
        "worst_wait_s": round(waits[-1], 3) if waits else None,
        "_sessions": sessions,
    }


def overlaps(sessions: list[tuple[str, float, float]]) -> int:
    """Sessions of one login that began before its previous one ended."""
    by_login = defaultdict(list)
    for login, start, end in sessions:
        by_login[login].append((start, end))
    count = 0
    for spans in by_login.values():
        spans.sort()
        count += sum(
            1 for (_, end), (start, _) in zip(spans, spans[1:], strict=False) if start < end
        )
    return count


# --------------------------------------------------------------------------- the plan


def dispatcher_plan(n: int, minutes: int) -> dict:
    """The steady state of accounts checked every `minutes` minutes (their next polls
    spread over the interval): the dispatcher's SELECT plan, time and queries."""
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import MailAccount
    from mailbox import ingest

    now = timezone.now()
    ids = list(MailAccount.objects.order_by("pk").values_list("pk", flat=True))
    spread = minutes * 60
    # One UPDATE per distinct offset: spread the accounts over the interval by second.
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, pk in enumerate(ids):
        buckets[(i * spread) // len(ids)].append(pk)
    for offset, pks in buckets.items():
        for start in range(0, len(pks), 500):
            MailAccount.objects.filter(pk__in=pks[start : start + 500]).update(
                # From a minute ago to an interval less a minute ahead: the accounts
                # whose poll fell due since the dispatcher's last run (one a minute).
                next_poll_at=now + timedelta(seconds=offset - 60),
                poll_interval=minutes,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    horizon = now + ingest.DISPATCH_SLACK
    due = MailAccount.objects.filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=horizon), enabled=True
    ).order_by()
    expected = due.count()
    plan = due.values_list("pk", flat=True).explain(
        **({"analyze": True} if connection.vendor == "postgresql" else {})
    )
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        claimed = ingest.due_account_ids(now)
        claim_s = time.perf_counter() - start
    return {
        "accounts": n,
        "interval_minutes": minutes,
        "due": expected,
        "claimed": len(claimed),
        "claim_s": round(claim_s, 4),
        "queries": len(queries),
        "sql": [q["sql"][:300] for q in queries.captured_queries],
        "plan": plan,
        "uses_due_index": "mail_account_due_idx" in plan,
    }


# --------------------------------------------------------------------------- run


def run(n: int, rounds: int, *, scratch: Path, queue: str, concurrency: int = 1) -> dict:
    """Needs this process configured with producer_env(scratch, queue) (see main)."""
    server = Pop3Server()
    workers: list[Worker] = []
    try:
        make_accounts(n, server.port)
        workers = [
            Worker(scratch / f"worker{i}.log", queue, f"{queue}-{i}", concurrency) for i in range(2)
        ]
        for worker in workers:
            worker.wait_ready()
        results = []
        every_session: list[tuple[str, float, float]] = []
        for round_ in range(1, rounds + 1):
            if round_ > 1:
                a_minute_passes()
            result = one_round(server, n, racing=round_ == rounds and rounds > 1)
            every_session.extend(result.pop("_sessions"))
            results.append(result)
        plans = {str(minutes): dispatcher_plan(n, minutes) for minutes in STEADY_INTERVALS}
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
        _forget_queue(queue)
    timed = [r for r in results if r["queries"] is not None]
    rates = [r["polls_per_minute"] for r in results if r["polls_per_minute"]]
    ppm = median(rates) if rates else 0
    concurrent = overlaps(every_session)
    return {
        "accounts": n,
        "rounds": rounds,
        "workers": 2,
        "worker_concurrency": concurrency,
        "broker": os.environ.get("CELERY_BROKER_URL", "").split("://")[0],
        "polls_per_minute": ppm,
        "keeps_up_with_one_minute_accounts": ppm >= n,
        "accounts_per_two_workers_at_5_min": ppm * 5,
        "dispatcher": {
            "claim_median_s": round(median([r["claim_s"] for r in timed]), 4),
            "publish_median_s": round(median([r["publish_s"] for r in timed]), 3),
            "queries": sorted({r["queries"] for r in timed}),
            "queries_per_due_account": round(timed[0]["queries"] / n, 4),
        },
        "steady_state": plans,
        "rounds_detail": results,
        "overlapping_sessions": concurrent,
        "polled_twice_in_a_round": sum(r["polled_twice"] for r in results),
        "skipped_in_a_round": sum(r["skipped"] for r in results),
        "claimed_twice_by_racing_dispatchers": sum(r["claimed_twice"] for r in results),
        # Every account was due at the round's start: none waited longer than its interval.
        "worst_wait_s": max(r["worst_wait_s"] or 0 for r in results),
        "none_waited_over_an_interval": all((r["worst_wait_s"] or 0) <= 60 for r in results),
        "meets_exactly_once": concurrent == 0
        and all(r["polled_twice"] == 0 and r["skipped"] == 0 for r in results)
        and all(r["claimed_twice"] == 0 for r in results),
    }


def report(data: dict, quick: bool) -> dict:
    rows = [
        [
            r_index,
            r["claimed"],
            r["queries"] if r["queries"] is not None else "race: " + "+".join(map(str, r["split"])),
            r["claim_s"],
            r["publish_s"],
            r["drain_s"],
            r["polls_per_minute"],
            r["worst_wait_s"],
            f"{r['polled_twice']}/{r['skipped']}",
        ]
        for r_index, r in enumerate(data["rounds_detail"], start=1)
    ]
    print()
    print(
        f"{data['accounts']:,} accounts, 2 workers × concurrency {data['worker_concurrency']}, "
        f"broker {data['broker']}, {data['database']}"
    )
    print(
        table(
            [
                "round",
                "claimed",
                "queries",
                "claim s",
                "publish s",
                "drain s",
                "polls/min",
                "worst wait s",
                "twice/skipped",
            ],
            rows,
        )
    )
    print(
        f"polls/min (median) {data['polls_per_minute']}; overlapping sessions "
        f"{data['overlapping_sessions']}; worst wait {data['worst_wait_s']} s"
    )
    for steady in data["steady_state"].values():
        print(
            f"\nsteady state, {steady['interval_minutes']}-minute accounts: {steady['due']} "
            f"due, claimed in {steady['claim_s']} s with {steady['queries']} queries; due "
            f"index used: {steady['uses_due_index']}"
        )
        print(steady["plan"])
    return result_document(
        NAME,
        data,
        params={"accounts": data["accounts"], "rounds": data["rounds"], "quick": quick},
        targets={"overlapping_sessions": 0, "polled_twice": 0, "skipped": 0},
        notes=[
            "Each round is one minute of the schedule with every account due: instead of "
            "waiting the minute, every next_poll_at is moved one interval back.",
            "drain_s: from the dispatcher's start until the server saw the last session's "
            "end; polls_per_minute = sessions / drain_s × 60.",
            "The last round runs two dispatchers at once on the same due accounts.",
            "steady_state: next polls spread over a 5- and a 60-minute interval (the "
            "accounts due since the last minute's run, and the slack), the dispatcher's "
            "SELECT plan (EXPLAIN ANALYZE on PostgreSQL), its time and queries.",
        ],
    )


def main(argv: list[str] | None = None) -> dict | None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--accounts", type=int, default=None)
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--concurrency", type=int, default=1, help="per worker (two workers)")
    p.add_argument("--pop3", type=int, help="(internal) run the POP3 server on this port")
    p.add_argument("--smoke", action="store_true", help="tiny N, own database name per process")
    args = p.parse_args(argv)
    if args.pop3:
        pop3_main(args.pop3)
        return None
    quick = args.quick or args.smoke
    n = args.accounts or (40 if args.smoke else 300 if args.quick else 10_000)
    rounds = args.rounds or (2 if quick else 3)
    scratch = Path(tempfile.mkdtemp(prefix="webmail-bench-polling-"))
    queue = f"bench-polling-{os.getpid()}"

    def body(db: BenchDatabase) -> dict:
        data = run(n, rounds, scratch=scratch, queue=queue, concurrency=args.concurrency)
        data["database"] = database_version()
        return report(data, quick)

    try:
        return main_wrapper(
            NAME,
            args,
            body,
            suffix=f"_{os.getpid()}" if args.smoke else "",
            env=producer_env(scratch, queue),
        )
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
