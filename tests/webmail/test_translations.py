"""Korean and English: every string the interface shows has its Korean translation.

The catalogs in locale/ko are extracted from the code with makemessages (into a copy of
the tree, so the check never writes to the checkout) and must match what is committed;
every entry is translated; the compiled .mo files are what msgfmt makes of the .po files.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale" / "ko" / "LC_MESSAGES"
SOURCES = ["webmail", "rules", "mailbox", "accounts", "templates", "static", "manage.py"]
DOMAINS = ["django", "djangojs"]


@pytest.fixture(autouse=True, scope="module")
def gettext_tools():
    if shutil.which("msgfmt") is None or shutil.which("xgettext") is None:
        reason = "gettext (msgfmt, xgettext) is not installed: .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def msgids(po: Path) -> set[str]:
    import polib

    return {entry.msgid for entry in polib.pofile(str(po)) if not entry.obsolete}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                tree / name,
                ignore=shutil.ignore_patterns("__pycache__", "vendor", "node_modules"),
            )
        else:
            shutil.copy(source, tree / name)
    (tree / "locale").mkdir()
    for domain in DOMAINS:
        command = [sys.executable, "manage.py", "makemessages", "-l", "ko", "-d", domain]
        if domain == "djangojs":
            command += ["--ignore", "static/vendor/*"]
        # The copy has no tests/: the test settings come from the checkout.
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run(command, cwd=tree, env=env, check=True, capture_output=True, timeout=300)
    return tree / "locale" / "ko" / "LC_MESSAGES"


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_string_in_the_code_is_in_the_korean_catalog(extracted, domain):
    missing = msgids(extracted / f"{domain}.po") - msgids(LOCALE / f"{domain}.po")
    assert sorted(missing) == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_korean_entry_is_translated(domain):
    import polib

    catalog = polib.pofile(str(LOCALE / f"{domain}.po"))
    untranslated = [e.msgid for e in catalog.untranslated_entries()]
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    assert (untranslated, fuzzy) == ([], [])


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_compiled_catalogs_are_up_to_date(tmp_path, domain):
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(LOCALE / f"{domain}.po")], check=True
    )
    assert compiled.read_bytes() == (LOCALE / f"{domain}.mo").read_bytes()


def test_the_interface_speaks_korean_to_a_korean_browser(client, django_user_model):
    user = django_user_model.objects.create_user("minsu", password="pw")
    client.force_login(user)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5").content.decode()
    assert 'lang="ko"' in page
    assert "받은편지함" in page  # Inbox
    assert "편지쓰기" in page  # Compose
    with translation.override("en"):
        english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Inbox" in english and "받은편지함" not in english
