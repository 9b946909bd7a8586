"""Ingest: a POP3 poll end to end against a bare poplib loop over the same maildrop.

A mailbox of N realistic messages (default 2,000) generated here: 60% text/plain,
25% multipart/alternative with HTML, 15% with 1-3 attachments of 10 KB-2 MB
(log-uniform), about a third Korean (UTF-8, and CP949 labelled EUC-KR), about 3%
malformed. It is delivered once to a real Dovecot (devmail when Dovecot is not
installed) and polled repeatedly with "leave on server":

(a) floor: stdlib poplib logs in, UIDLs and RETRs every message, discards it;
(b) ours: mailbox.ingest.poll_account, until every message is committed
    (the database and media are emptied before each run).

Reported: messages/s, MB/s and the ratio (b)/(a) (target <= 1.5), and a second
poll with nothing new (target < 0.2 s for 2,000 UIDLs) next to its own floor
(login + UIDL + QUIT). Runs alternate (a), (b); each figure is a median.

    python -m bench.ingest [--quick] [--runs 3] [--profile]
"""

from __future__ import annotations

import math
import poplib
import random
import time

from bench import common

NAME = "ingest"
TARGET_RATIO = 1.5
TARGET_NOTHING_NEW_S = 0.2

ENGLISH = (
    "Hi team, following up on yesterday's call about the quarterly numbers. "
    "The draft report is attached; please review the budget section before Friday. "
    "Let me know if the schedule for the release still works for everyone. "
    "We also need the signed contract back from the customer by the end of the month. "
)
KOREAN = (
    "안녕하세요. 어제 회의에서 말씀드린 분기 실적 자료를 공유드립니다. "
    "예산 부분은 금요일 전까지 검토 부탁드립니다. 일정 변경이 있으면 알려주세요. "
    "고객사 계약서는 이번 달 말까지 회신받아야 합니다. 감사합니다. "
)
ATTACHMENT_TYPES = [
    ("report.pdf", "application/pdf"),
    ("photo.jpg", "image/jpeg"),
    ("data.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("archive.zip", "application/zip"),
    ("2024년 1분기 보고서.pdf", "application/pdf"),
]


def _text(rng: random.Random, korean: bool, low: int = 300, high: int = 8000) -> str:
    unit = KOREAN if korean else ENGLISH
    size = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    words = (unit * (size // len(unit) + 1))[:size].split(" ")
    lines, line = [], ""
    for word in words:
        if len(line) + len(word) > 72:
            lines.append(line)
            line = ""
        line += word + " "
    lines.append(line)
    return "\n".join(lines) + "\n"


def _attachment_size(rng: random.Random) -> int:
    return int(math.exp(rng.uniform(math.log(10 * 1024), math.log(2 * 1024 * 1024))))


def make_message(rng: random.Random, i: int) -> tuple[str, bytes]:
    """One realistic message: (kind, raw bytes with CRLF line endings)."""
    from testkit import mailfactory as mf

    korean = rng.random() < 0.35
    subject = (
        f"{'분기 보고서 검토 요청' if korean else 'Quarterly report review'} #{i}"
        if rng.random() < 0.9
        else f"Re: {'회의 일정' if korean else 'meeting schedule'} {i}"
    )
    day = 1 + i % 28
    headers = {
        "message_id": f"<bench-{i}-{rng.getrandbits(32):08x}@example.test>",
        "date": f"Tue, {day:02d} Oct 2026 {i % 24:02d}:{i % 60:02d}:00 +0900",
        "from_": (
            f"{mf.encoded_word('김민수')} <minsoo{i % 50}@example.kr>"
            if korean
            else f"Sender {i % 50} <sender{i % 50}@example.com>"
        ),
    }
    roll = rng.random()
    if roll < 0.03:  # malformed
        kind = rng.choice(["bad_base64", "no_boundary", "garbage_addresses", "unknown_charset"])
        raw = getattr(mf, kind)()
        raw = raw.replace(mf.DEFAULT_MESSAGE_ID.encode(), headers["message_id"].encode())
        return "malformed", raw
    if roll < 0.60:
        if korean and rng.random() < 0.4:
            body = mf.text_part(_text(rng, True), charset="cp949", label="euc-kr", cte="base64")
            subject = mf.encoded_word(subject, "cp949", label="euc-kr")
        else:
            body = mf.text_part(_text(rng, korean))
            subject = mf.encoded_word(subject) if korean else subject
        return "plain", mf.message(body, subject=subject, **headers)
    text = _text(rng, korean)
    html = "".join(f"<p>{line}</p>" for line in text.splitlines())
    html = f'<html><body><div style="font-family:sans-serif">{html}</div></body></html>'
    subject = mf.encoded_word(subject) if korean else subject
    alternative = mf.multipart(
        "alternative", mf.text_part(text), mf.text_part(html, "html", cte="quoted-printable")
    )
    if roll < 0.85:
        return "alternative", mf.message(alternative, subject=subject, **headers)
    parts = []
    for _ in range(rng.randint(1, 3)):
        name, ctype = rng.choice(ATTACHMENT_TYPES)
        data = rng.randbytes(_attachment_size(rng))
        if name.isascii():
            parts.append(mf.attachment_part(data, name, ctype))
        else:
            quoted = "".join(f"%{b:02X}" for b in name.encode())
            params = f";\r\n filename*=utf-8''{quoted}"
            parts.append(mf.attachment_part(data, None, ctype, filename_params=params))
    return "attachments", mf.message(
        mf.multipart("mixed", alternative, *parts), subject=subject, **headers
    )


def corpus(n: int, seed: int = 2026) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [make_message(rng, i) for i in range(n)]


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

    from mailbox.models import Message

    Message.objects.filter(account=account).delete()
    common.clear_media()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM mailbox_message, mailbox_attachment")


def our_poll(account) -> tuple[float, object]:
    from mailbox import ingest

    start = time.perf_counter()
    result = ingest.poll_account(account.pk)
    elapsed = time.perf_counter() - start
    if result.error or result.locked:
        raise RuntimeError(f"poll failed: {result}")
    return elapsed, result


def profile_poll(account, top: int = 40) -> list[dict]:
    """cProfile of one poll: the storing thread only (INSERTs and commits).

    RETR, parsing and file writes run in the download thread, which cProfile does
    not see; profile both threads with py-spy (README, "Performance").
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
    login, password = common.new_login()
    pop3_user = server.add_user(login, password)
    for _, raw in messages:
        pop3_user.deliver(raw)
    _, account = common.make_user_and_account(f"ingest{login}", server, pop3_user)
    args = (server.host, server.port, pop3_user.name, pop3_user.password)

    floor_poll(*args)  # warm: the server's index and the page cache
    floor_times, our_times, floor_bytes = [], [], 0
    stored = failed_parse = 0
    for _ in range(runs):
        _reset(account)
        seconds, (count, floor_bytes) = common.timed(lambda: floor_poll(*args))
        if count != n:
            raise RuntimeError(f"the floor saw {count} messages, not {n}")
        floor_times.append(seconds)
        seconds, result = our_poll(account)
        stored, failed_parse = result.new, result.failed_parse
        if stored != n:
            raise RuntimeError(f"the poll stored {stored} messages, not {n}")
        our_times.append(seconds)

    # Second poll: everything is stored already.
    nothing_new, nothing_new_floor = [], []
    for _ in range(max(3, runs)):
        nothing_new_floor.append(common.timed(lambda: floor_nothing_new(*args))[0])
        seconds, result = our_poll(account)
        if result.new:
            raise RuntimeError("the second poll found new messages")
        nothing_new.append(seconds)

    floor_s, our_s = common.median(floor_times), common.median(our_times)
    mb = floor_bytes / 1e6
    kinds: dict[str, int] = {}
    for kind, _ in messages:
        kinds[kind] = kinds.get(kind, 0) + 1
    data = {
        "messages": n,
        "megabytes": round(mb, 1),
        "mix": kinds,
        "server": common.server_kind(server),
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
        "nothing_new": {
            "median_s": round(common.median(nothing_new), 4),
            "floor_median_s": round(common.median(nothing_new_floor), 4),
            "uidls": n,
        },
        "meets_ratio_target": our_s / floor_s <= TARGET_RATIO,
        "meets_nothing_new_target": common.median(nothing_new) < TARGET_NOTHING_NEW_S,
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
    print(common.table(["path", "seconds", "msg/s", "MB/s", "ratio", "target"], rows))
    return common.result(
        NAME,
        data,
        params={"messages": f["messages"], "runs": f["runs"], "quick": quick},
        targets={"ratio_max": TARGET_RATIO, "nothing_new_max_s": TARGET_NOTHING_NEW_S},
        notes=[
            "Same maildrop for both paths (leave on server); database rows and media are "
            "emptied before each run of (b). Timed until poll_account returns, i.e. every "
            "message committed.",
        ],
    )


def main(argv: list[str] | None = None) -> dict:
    p = common.parser(__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=None)
    p.add_argument("--profile", action="store_true", help="add a cProfile of one poll")
    p.add_argument("--pop3", choices=["auto", "dovecot", "devmail"], default="auto")
    args = p.parse_args(argv)
    n = args.messages or (40 if args.quick else 2000)
    runs = args.runs or (1 if args.quick else 3)

    def body(db: common.BenchDatabase) -> dict:
        with common.pop3_server(args.pop3) as server:
            data = run(server, n, runs, profile=args.profile)
        data["database"] = common.database_version()
        return report(data, args.quick)

    return common.main_wrapper(NAME, args, body)


if __name__ == "__main__":
    main()
