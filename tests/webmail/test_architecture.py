"""The shape of the code: layer contracts that really bite, and modules of one job each.

`make lint` runs `lint-imports` on the tree; these tests show that its contracts catch
what they promise to, by planting a violation in a copy of the tree.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "webmail",
    "rules",
    "contacts",
    "security",
    "mailbox",
    "accounts",
    "devmail",
    "mailcore",
    "testkit",
    "bench",
    "tests",
]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_MODULE_LINES = 800


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path):
    """A copy of the project's Python packages and its import contracts."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "node_modules", "results"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


def test_a_mailcore_module_that_imports_django_breaks_the_contract(tree):
    (tree / "mailcore" / "probe.py").write_text("from django.conf import settings\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "mailcore.probe -> django (l.1)" in result.stdout


def test_application_code_importing_the_test_kit_breaks_the_contract(tree):
    (tree / "mailbox" / "probe.py").write_text("from testkit import mailfactory\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "mailbox.probe -> testkit.mailfactory" in result.stdout


def test_an_import_inside_a_function_that_closes_a_cycle_breaks_the_contract(tree):
    # mailbox.tasks imports mailbox.outbox; outbox reaching back, even lazily, is a cycle.
    with (tree / "mailbox" / "outbox.py").open("a") as module:
        module.write("\n\ndef probe():\n    from . import tasks\n\n    return tasks\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "No cycles are allowed in mailbox" in result.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tree):
    (tree / "accounts" / "probe.py").write_text("from mailbox import models\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "accounts.probe -> mailbox.models" in result.stdout


def test_mailbox_importing_the_rules_app_breaks_the_contract(tree):
    # rules sits above mailbox: it registers its filter with mailbox.arrival, never the reverse.
    (tree / "mailbox" / "probe.py").write_text("from rules import filtering\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "mailbox.probe -> rules.filtering" in result.stdout


def test_mailbox_importing_the_contacts_app_breaks_the_contract(tree):
    # contacts sits above mailbox: it listens to mailbox's signals, never the reverse.
    (tree / "mailbox" / "probe.py").write_text("from contacts import models\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "mailbox.probe -> contacts.models" in result.stdout


def test_rules_and_contacts_stay_independent(tree):
    (tree / "contacts" / "probe.py").write_text("from rules import models\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "contacts.probe -> rules.models" in result.stdout


def test_accounts_importing_the_security_app_breaks_the_contract(tree):
    # security sits above accounts: it listens to the login signals, never the reverse.
    (tree / "accounts" / "probe.py").write_text("from security import sessions\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "accounts.probe -> security.sessions" in result.stdout


def test_no_module_outside_tests_and_migrations_is_over_800_lines():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        if package != "tests"
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}
