"""Smoke runs of the benchmarks (bench/): each core function with a tiny N.

Benchmarks are not tests: nothing here asserts a timing. These only prove that
each benchmark still runs against the current code and produces the figures its
JSON promises, so `make bench` does not rot between the times someone runs it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import bigmessage, dataset, inbox, ingest, search, ui
from bench.bulk import MailboxSpec, load_mailboxes
from testkit.corpus import corpus

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path):
    # The benchmarks empty MEDIA_ROOT between runs: give them one of their own.
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


@pytest.mark.dovecot
def test_ingest_measures_floor_poll_and_second_poll(dovecot, media):
    data = ingest.run(dovecot, n=8, runs=1)

    assert data["messages"] == 8
    assert data["ours"]["stored"] == 8
    assert {"median_s", "messages_per_s", "mb_per_s"} <= data["floor"].keys()
    assert {"median_s", "messages_per_s", "mb_per_s"} <= data["ours"].keys()
    assert {"median_s", "floor_median_s", "uidls"} <= data["nothing_new"].keys()
    assert {"ratio", "meets_ratio_target", "meets_nothing_new_target", "mix"} <= data.keys()
    assert {"median_s", "ratio", "fsync_cost"} <= data["without_fsync"].keys()


def test_ingest_corpus_has_the_announced_mix():
    kinds = [kind for kind, _ in corpus(200)]

    assert {"plain", "alternative", "attachments", "malformed"} == set(kinds)
    assert all(raw.endswith(b"\r\n") for _, raw in corpus(20))


@pytest.mark.dovecot
def test_bigmessage_measures_every_probe(dovecot, media):
    data = bigmessage.run(dovecot, attachment_mb=0.2, runs=1)

    assert set(data["probes"]) == set(bigmessage.PROBES)
    for probe in data["probes"].values():
        assert {"peak_above_baseline_mb", "factor", "runs_mb"} <= probe.keys()
    assert {"message_bytes", "meets_target"} <= data.keys()


def test_inbox_and_search_measure_pages_queries_and_plans(media):
    made = load_mailboxes(dataset.specs(big=150, small=60, others=1), bulk_load=False)
    users = {"big": made["big"][0], "small": made["small"][0]}

    pages = inbox.run(users, runs=1)
    searches = search.run(users, runs=1)

    assert set(pages["comparison"]) == set(inbox.PAGES + inbox.CONVERSATION_PAGES)
    for figures in pages["comparison"].values():
        assert {"big_ms", "small_ms", "ratio", "queries_big", "queries_small"} <= figures.keys()
        assert figures["queries_big"] > 0
    assert pages["pages"]["big"]["bulk_fragment"]["method"] == "POST"
    assert pages["pages"]["big"]["open_message_fragment"]["headers"]["HX-Target"] == "reading-pane"
    assert set(pages["explain"]["big"]) == {
        "first_page",
        "middle_page",
        "last_page",
        "conversations_first_page",
        "conversations_last_page",
    }
    assert pages["pages"]["big"]["conversations_first"]["queries"] == (
        pages["pages"]["big"]["inbox_first"]["queries"] + 1  # the page's conversation counts
    )
    assert pages["mailbox_sizes"]["big"]["inbox"] == 150
    assert set(searches["comparison"]) == set(search.ALL_QUERIES)
    assert searches["searches"]["big"]["word"]["hits"] >= 1
    assert searches["searches"]["big"]["op_from"]["hits"] >= 1
    assert searches["searches"]["big"]["sender_name"]["hits"] >= 1


def test_ui_measures_the_first_load_and_the_repeat_visit(media):
    made = load_mailboxes([MailboxSpec("ui", {"inbox": 3})], bulk_load=False)

    data = ui.run(made["ui"][0], languages=["en"])

    first = data["languages"]["en"]
    assert {"css", "js", "icon"} <= {a["kind"] for a in first["assets"]}
    assert first["bytes"] == sum(a["bytes"] for a in first["assets"])
    for asset in first["assets"]:
        assert {"path", "bytes", "gzip_bytes", "cache_control", "repeat_visit"} <= asset.keys()
    assert {"requests", "bytes"} <= first["repeat_visit"].keys()
    assert {"max_bytes", "meets_target", "all_static_hashed_and_immutable"} <= data.keys()


@pytest.mark.slow
def test_send_runs_through_a_real_worker_and_writes_its_json(tmp_path):
    # A process of its own: a Celery worker, a database and settings of its own.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "bench.send", "--smoke", "--output", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )

    data = json.loads((tmp_path / "send.json").read_text())
    assert {"benchmark", "date", "machine", "params", "figures", "targets"} <= data.keys()
    assert data["machine"]["cpu_count"] >= 1
    figures = data["figures"]
    assert figures["ours"]["runs"][0]["received"] == figures["messages"]
    assert (figures["duplicates"], figures["losses"]) == (0, 0)
    assert {"floor", "ours", "ratio", "meets_ratio_target"} <= figures.keys()
    assert 0 < figures["lease"]["us_per_send"] and 0 < figures["lease"]["share_of_a_send"] < 1


@pytest.mark.slow
def test_polling_runs_two_real_workers_and_writes_its_json(tmp_path):
    # A process of its own: a POP3 server, two Celery workers, a database of its own.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "bench.polling", "--smoke", "--output", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )

    figures = json.loads((tmp_path / "polling.json").read_text())["figures"]
    assert figures["accounts"] == 40 and figures["rounds"] == 2
    for round_ in figures["rounds_detail"]:
        assert round_["accounts_polled"] == 40
    assert figures["overlapping_sessions"] == 0
    assert (figures["polled_twice_in_a_round"], figures["skipped_in_a_round"]) == (0, 0)
    assert figures["claimed_twice_by_racing_dispatchers"] == 0
    assert figures["dispatcher"]["queries"] and figures["polls_per_minute"] > 0
    for steady in figures["steady_state"].values():
        assert {"plan", "uses_due_index", "due", "claimed", "queries"} <= steady.keys()
        assert steady["claimed"] == steady["due"] > 0


def test_export_measures_the_memory_of_each_kind_at_both_sizes(media):
    from bench import export

    data = export.run(small=5, big=20)

    assert set(data["kinds"]) == set(export.KINDS)
    for figures in data["kinds"].values():
        assert {"small", "big", "ratio", "flat"} <= figures.keys()
        assert figures["big"]["bytes"] > figures["small"]["bytes"] > 0
