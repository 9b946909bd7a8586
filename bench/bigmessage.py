"""Big message memory: peak resident memory to ingest one message with a 25 MB attachment.

Each probe runs in a fresh subprocess: Django set up, modules imported, the
database connected, then the baseline is taken (VmRSS) and the kernel's peak
counter reset (`5` > /proc/self/clear_refs); after the probe, VmHWM - baseline
is the memory the probe needed. Probes, from the bare protocol to the whole poll,
so the differences show where the copies are:

- poplib:  stdlib poplib RETR (a list of lines), the floor;
- retr:    mailcore.pop3.POP3Session.retr (the raw bytes);
- parse:   retr + mailcore.mime.parse_message;
- store:   retr + mailbox.ingest.store_message (parse, blobs, rows, search vector);
- poll:    mailbox.ingest.poll_account, the real path (target: <= 4x the message size).

Each figure is the median of several runs.

    python -m bench.bigmessage [--quick] [--runs 3]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.cli import main_wrapper, parser
from bench.database import BenchDatabase, child_env, clear_media, database_version
from bench.locations import ROOT
from bench.report import result_document, table
from bench.servers import pop3_server, server_kind
from bench.timing import median
from bench.users import make_user_and_account, new_login

NAME = "bigmessage"
TARGET_FACTOR = 4.0
PROBES = ["poplib", "retr", "parse", "store", "poll"]


def big_message(attachment_bytes: int, seed: int = 25) -> bytes:
    import random

    from testkit import mailfactory as mf

    data = random.Random(seed).randbytes(attachment_bytes)
    return mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("The scans are attached.\n스캔 파일 첨부합니다.\n"),
            mf.attachment_part(data, "scans.zip", "application/zip"),
        ),
        subject="Big attachment",
        message_id="<big-attachment@example.test>",
    )


# --------------------------------------------------------------------------- in the probe process


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def probe(name: str, host: str, port: int, login: str, password: str, account_id: int) -> dict:
    import gc
    import poplib

    from accounts.models import MailAccount
    from mailbox import ingest
    from mailbox.models import Message
    from mailcore import mime, pop3

    account = MailAccount.objects.get(pk=account_id)
    Message.objects.exists()  # connect now, not inside the measurement
    gc.collect()
    baseline = _status_kb("VmRSS")
    reset = _reset_peak()
    if not reset:  # old kernel: the peak so far must stay below what the probe needs
        baseline = max(baseline, _status_kb("VmHWM"))
    size = 0
    if name == "poplib":
        pop = poplib.POP3(host, port, timeout=120)
        pop.user(login)
        pop.pass_(password)
        _, lines, size = pop.retr(1)
        pop.quit()
    elif name == "poll":
        result = ingest.poll_account(account_id)
        if result.new != 1:
            raise RuntimeError(f"poll: {result}")
        size = result.bytes
    else:
        with pop3.POP3Session(host, port, "none", login, password) as session:
            uid = session.listing()[0].uid
            raw = session.retr(1)
            session.quit()
        size = len(raw)
        if name == "parse":
            parsed = mime.parse_message(raw)
            assert parsed.attachments
        elif name == "store":
            assert ingest.store_message(account, raw, ingest.uid_key(uid)) is not None
    peak = _status_kb("VmHWM")
    return {"baseline_kb": baseline, "peak_kb": peak, "size": size, "peak_reset": reset}


# --------------------------------------------------------------------------- in the benchmark


def _run_probe(name: str, server, user, account) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.bigmessage",
        "--probe",
        name,
        json.dumps([server.host, server.port, user.name, user.password, account.pk]),
    ]
    out = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"probe {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(server, attachment_mb: float = 25, runs: int = 3) -> dict:
    from mailbox.models import Message

    raw = big_message(int(attachment_mb * 1024 * 1024))
    login, password = new_login()
    user = server.add_user(login, password)
    delivered = user.deliver(raw)
    wire = getattr(delivered, "wire", None) or getattr(delivered, "data", raw)
    size = len(wire)
    _, account = make_user_and_account(f"big{login}", server, user)
    figures = {}
    for name in PROBES:
        samples = []
        for _ in range(runs):
            Message.objects.filter(account=account).delete()
            clear_media()
            sample = _run_probe(name, server, user, account)
            samples.append((sample["peak_kb"] - sample["baseline_kb"]) * 1024)
        peak = median(samples)
        figures[name] = {
            "peak_above_baseline_mb": round(peak / 1e6, 1),
            "factor": round(peak / size, 2),
            "runs_mb": [round(s / 1e6, 1) for s in samples],
            "peak_reset": sample["peak_reset"],
        }
    return {
        "message_bytes": size,
        "message_mb": round(size / 1e6, 1),
        "attachment_mb": round(attachment_mb * 1024 * 1024 / 1e6, 1),
        "server": server_kind(server),
        "runs": runs,
        "probes": figures,
        "meets_target": figures["poll"]["factor"] <= TARGET_FACTOR,
    }


def report(data: dict, quick: bool) -> dict:
    rows = [[name, p["peak_above_baseline_mb"], p["factor"]] for name, p in data["probes"].items()]
    print()
    print(
        f"one message of {data['message_mb']} MB ({data['attachment_mb']} MB attachment), "
        f"{data['server']}, {data['database']}"
    )
    print(table(["probe", "peak above baseline MB", "x message size"], rows))
    print(f"target: poll <= {TARGET_FACTOR}x: {'yes' if data['meets_target'] else 'NO'}")
    return result_document(
        NAME,
        data,
        params={"attachment_mb": data["attachment_mb"], "runs": data["runs"], "quick": quick},
        targets={"poll_factor_max": TARGET_FACTOR},
        notes=[
            "Peak RSS (VmHWM after resetting it via /proc/self/clear_refs) minus VmRSS just "
            "before the probe, in a fresh process per run; factor = that / message size on "
            "the wire.",
        ],
    )


def main(argv: list[str] | None = None) -> dict | None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--probe", choices=PROBES, help="(internal) run one probe and print JSON")
    p.add_argument("probe_args", nargs="?", help="(internal)")
    p.add_argument("--pop3", choices=["auto", "dovecot", "devmail"], default="auto")
    args = p.parse_args(argv)
    if args.probe:
        import django

        django.setup()
        host, port, login, password, account_id = json.loads(args.probe_args)
        print(json.dumps(probe(args.probe, host, port, login, password, account_id)))
        return None
    attachment_mb = 2 if args.quick else 25
    runs = args.runs or (1 if args.quick else 3)

    def body(db: BenchDatabase) -> dict:
        start = time.perf_counter()
        with pop3_server(args.pop3) as server:
            data = run(server, attachment_mb, runs)
        data["database"] = database_version()
        data["wall_seconds"] = round(time.perf_counter() - start, 1)
        return report(data, args.quick)

    return main_wrapper(NAME, args, body)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
