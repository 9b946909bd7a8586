"""bench.run_all: which benchmark runs on which database, and the summary of both."""

from __future__ import annotations

import json

from bench import run_all


def test_ingest_and_send_run_on_both_databases_and_the_rest_once(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    commands = []
    monkeypatch.setattr(run_all.subprocess, "run", lambda command, **_: commands.append(command))
    monkeypatch.setattr(run_all, "summary_rows", lambda output: [])

    run_all.main(
        ["--quick", "--only", "ingest", "bigmessage", "send", "export", "--output", str(tmp_path)]
    )

    ran = [(c[2], c[c.index("--database") + 1] if "--database" in c else "auto") for c in commands]
    assert ran == [
        ("bench.ingest", "sqlite"),
        ("bench.ingest", "postgres"),
        ("bench.bigmessage", "sqlite"),
        ("bench.bigmessage", "postgres"),
        ("bench.send", "sqlite"),
        ("bench.send", "postgres"),
        ("bench.export", "auto"),
    ]


def test_without_postgresql_ingest_and_send_run_on_sqlite_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///unused.sqlite3")
    commands = []
    monkeypatch.setattr(run_all.subprocess, "run", lambda command, **_: commands.append(command))
    monkeypatch.setattr(run_all, "summary_rows", lambda output: [])

    run_all.main(["--quick", "--only", "send", "--output", str(tmp_path)])

    assert [c[c.index("--database") + 1] for c in commands] == ["sqlite"]


def test_the_summary_has_a_send_row_for_each_database(tmp_path):
    def figures(ratio: float) -> dict:
        side = {"messages_per_s": 100.0, "median_s": 1.0}
        return {
            "messages": 500,
            "message_kb": 138.5,
            "floor": side,
            "ours": side,
            "ratio": ratio,
            "duplicates": 0,
            "losses": 0,
            "meets_ratio_target": ratio <= 2.0,
            "meets_exactly_once": True,
        }

    for kind, database, ratio in [
        ("sqlite", "SQLite 3.40.1", 1.9),
        ("postgres", "PostgreSQL 15", 3.1),
    ]:
        # Where bench.send writes it: inside the figures.
        (tmp_path / f"send-{kind}.json").write_text(
            json.dumps({"figures": {**figures(ratio), "database": database}})
        )

    rows = run_all.summary_rows(tmp_path)

    assert [(r[0], r[2].split(",")[0], r[4]) for r in rows] == [
        ("send 500 x 138.5 KB, SQLite", "ratio 1.9", "yes"),
        ("send 500 x 138.5 KB, PostgreSQL", "ratio 3.1", "NO"),
    ]
