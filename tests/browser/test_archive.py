"""Export and import in Chromium: Alice downloads her Inbox as an mbox file from the list's
Download menu, Bob uploads it on Settings → Import and export, follows the progress to
the summary, and reads Alice's messages in his Inbox."""

import io
import re

import pytest

from mailbox.models import MailImport
from mailcore.mbox import read_mbox
from testkit import mailfactory as mf
from tests.browser.conftest import (
    browser_required,
    csp_violations,
    expect,
    log_in,
    log_out,
    shot,
    store,
)
from tests.browser.test_accessibility import AXE, RUN_AXE, UNLABELLED_CONTROLS
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser

# Every control of these pages' own content has a visible label (the top bar is checked
# by test_accessibility).
UNLABELLED_IN_MAIN = UNLABELLED_CONTROLS.replace(
    "document.querySelectorAll(", 'document.querySelector("main").querySelectorAll('
)
SUBJECTS = ["회의 안내 (3월)", "Quarterly numbers", "From the desk of Alice"]


def test_download_a_folder_as_mbox_and_import_it_into_another_user(new_page, tmp_path):
    alice = make_user("alice")
    account = make_account(alice)
    for number, subject in enumerate(SUBJECTS):
        body = f"From here on, message {number}.\n"
        store(account, mf.plain(subject, body, message_id=f"<archive-{number}@example.test>"))
    bob = make_user("bob")
    make_account(bob)
    page = new_page()

    log_in(page, "alice")
    page.get_by_label("Download", exact=True).click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Folder as mbox").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert download.suggested_filename == "Inbox.mbox"
    messages = list(read_mbox(io.BytesIO(saved.read_bytes())))
    assert len(messages) == 3
    shot(page, "01-alice-downloaded", "archive")

    # A selection: the list's form goes to the export view, and the page stays.
    page.locator("#message-list input[type=checkbox]").first.check()
    page.get_by_text("Download selected").click()
    with page.expect_download() as selection_info:
        page.get_by_role("button", name="As mbox").click()
    selection = tmp_path / "selection.mbox"
    selection_info.value.save_as(selection)
    assert selection_info.value.suggested_filename == "Selected messages.mbox"
    assert len(list(read_mbox(io.BytesIO(selection.read_bytes())))) == 1
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    log_out(page)

    log_in(page, "bob")
    page.goto("/settings/import-export/")
    page.locator("input[type=file][name=file]").set_input_files(str(saved))
    page.get_by_label("Into folder").select_option("inbox")
    shot(page, "02-bob-import-page", "archive")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/settings/import-export/\d+/$"))
    expect(page.get_by_role("heading", name="Done")).to_be_visible()
    expect(page.locator('[data-count="imported"]')).to_have_text("3")
    expect(page.locator('[data-count="duplicates"]')).to_have_text("0")
    shot(page, "03-bob-imported", "archive")

    page.get_by_role("link", name="Open Inbox").click()
    for subject in SUBJECTS:
        expect(page.get_by_role("link", name=re.compile(re.escape(subject)))).to_be_visible()
    shot(page, "04-bob-inbox", "archive")
    assert csp_violations(page) == []
    assert page.record.page_errors == []


@pytest.fixture
def axe_script():
    if not AXE.is_file():
        if browser_required():
            pytest.fail(f"axe-core is not installed at {AXE}")
        pytest.skip(f"axe-core is not installed at {AXE}")
    return AXE


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_import_and_export_pages_pass_axe_with_every_control_labelled(new_page, axe_script, scheme):
    bob = make_user("bob")
    account = make_account(bob)
    mail_import = MailImport.objects.create(
        owner=bob, account=account, filename="old.mbox", status="done", imported=2
    )
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(axe_script))
    log_in(page, "bob")

    for url in ["/settings/import-export/", f"/settings/import-export/{mail_import.pk}/"]:
        page.goto(url)
        assert page.evaluate(RUN_AXE) == [], url
        assert page.evaluate(UNLABELLED_IN_MAIN) == [], url
        assert csp_violations(page) == [], url


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_an_upload_over_the_limit_is_refused_with_the_limit_named(new_page, settings, javascript):
    settings.WEBMAIL_IMPORT_MAX_BYTES = 1024
    make_account(make_user("alice"))
    page = new_page(java_script_enabled=javascript)
    log_in(page, "alice")
    page.goto("/settings/import-export/")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    big = {"name": "big.mbox", "mimeType": "application/mbox", "buffer": b"x" * 5000}
    page.locator("input[type=file][name=file]").set_input_files(big)
    page.get_by_role("button", name="Import").click()

    message = "The file is larger than 1\xa0KB, the most an import can take."
    if javascript:  # refused before a byte is sent: the browser's message says why
        file_input = page.locator("input[type=file][name=file]")
        said = file_input.evaluate("input => input.validationMessage")
        assert said.replace("\xa0", " ").startswith(message.replace("\xa0", " "))
        assert posts == []
    else:  # refused by the server while it streamed in: the form's error names the field
        expect(page.get_by_role("alert")).to_contain_text("File: " + message)
    assert not MailImport.objects.exists()
    assert csp_violations(page) == [] and page.record.page_errors == []
