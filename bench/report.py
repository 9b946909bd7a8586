"""What a benchmark reports: the machine and versions, the table it prints, its JSON."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
from pathlib import Path

from bench.database import database_version
from bench.servers import dovecot_version


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine() -> dict:
    import django

    versions = {
        "python": platform.python_version(),
        "django": django.get_version(),
    }
    for module in ("celery", "kombu", "redis", "psycopg", "aiosmtpd", "nh3"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[module] = version(module)
    with contextlib.suppress(Exception):
        versions["database"] = database_version()
    dovecot = dovecot_version()
    if dovecot:
        versions["dovecot"] = dovecot
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": _memory_gb(),
        "platform": platform.platform(),
        "versions": versions,
    }


def machine_of(results: dict) -> dict:
    """The machine of a per-database result set, without the per-figure database version."""
    found = next(iter(results.values()))["machine"] if results else machine()
    versions = {k: v for k, v in found["versions"].items() if k != "database"}
    return {**found, "versions": versions}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (prints fine in a terminal, pastes into the README)."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    lines = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in lines)]) for i, h in enumerate(headers)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    out.append("| " + " | ".join("-" * w for w in widths) + " |")
    for row in lines:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(out)


def write_result(output: Path, name: str, data: dict) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)
    return path


def result_document(
    name: str, figures: dict, *, params: dict, targets: dict, notes: list[str]
) -> dict:
    """The JSON shape every benchmark writes."""
    return {
        "benchmark": name,
        "date": now_iso(),
        "machine": machine(),
        "params": params,
        "figures": figures,
        "targets": targets,
        "notes": notes,
    }
