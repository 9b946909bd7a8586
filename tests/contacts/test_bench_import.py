"""Smoke run of bench/contacts_import.py with a tiny file: it still runs and reports
what its JSON promises (no timing is asserted)."""

import pytest

from bench import contacts_import

pytestmark = pytest.mark.django_db


def test_contacts_import_bench_reports_time_memory_and_outcome():
    data = contacts_import.run(cards=40, runs=1)
    assert data["cards"] == 40
    assert {"read_s", "plan_s", "apply_s", "total_s", "peak_mb", "file_mb"} <= data.keys()
    outcome = data["outcome"]
    assert outcome["created"] + outcome["merged"] + outcome["skipped"] == 40
    assert outcome["merged"] == 4  # every tenth card shares the card before's address
