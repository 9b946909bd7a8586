"""Attachments in compose, in Chromium: drop, paste, progress, cancel, the size limit, Send waits.

Files are dropped and pasted the way the browser delivers them: a DataTransfer built
in the page, carried by real `dragenter`/`drop` and `paste` events. An upload is held
on its way with Playwright's `page.route`, so "while it uploads" is a state the test
controls rather than a race it hopes to win.
"""

import base64
import re
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from mailbox.models import Outgoing, OutgoingStatus
from tests.browser.conftest import (
    PlaywrightError,
    csp_violations,
    devmail_user,
    expect,
    log_in,
    shot,
)

pytestmark = pytest.mark.browser

LIMIT = 64 * 1024
KOREAN_NAME = "견적서 2026.xlsx"
XLSX = bytes(range(256)) * 64  # 16 KiB, every byte value
NOTES = "회의 메모\nline two\n".encode()
BIG = b"\x00" * 30 * 1024
PASTED = bytes(range(256)) * 4
UPLOADS = re.compile(r"/compose/(\d+/)?attachments/$")

# Files travel into the page as base64 and become File objects in a DataTransfer there.
DROP = """([files, selector]) => {
  const data = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const target = document.querySelector(selector);
  const init = {bubbles: true, cancelable: true, dataTransfer: data};
  target.dispatchEvent(new DragEvent("dragenter", init));
  target.dispatchEvent(new DragEvent("dragover", init));
  const highlighted = document.getElementById("dropzone").classList.contains("dragover");
  const accepted = !target.dispatchEvent(new DragEvent("drop", init));
  return {highlighted, accepted};
}"""
PASTE = """([files, selector]) => {
  const data = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const target = document.querySelector(selector);
  target.focus();
  return !target.dispatchEvent(
    new ClipboardEvent("paste", {bubbles: true, cancelable: true, clipboardData: data}));
}"""


def files(*items):
    return [
        {"name": name, "type": kind, "data": base64.b64encode(data).decode()}
        for name, data, kind in items
    ]


def drop(page, *items, selector="#dropzone"):
    return page.evaluate(DROP, [files(*items), selector])


def upload_posts(page, mark):
    return [r for r in page.record.since(mark, "requests") if UPLOADS.search(r[1])]


def until(page, condition, what: str) -> None:
    """Let the page's events arrive until `condition()` holds (bounded)."""
    for _ in range(400):
        if condition():
            return
        page.wait_for_timeout(25)
    raise AssertionError(f"timed out waiting for {what}")


class Holder:
    """Holds upload requests on their way to the server until released."""

    def __init__(self, page):
        self.page = page
        self.held = []
        page.route(UPLOADS, self._hold)

    def _hold(self, route):
        self.held.append(route)

    def wait(self):
        until(self.page, lambda: self.held, "an upload request to reach the route")

    def release(self):
        """Let held requests go on; one the page has aborted meanwhile is already gone."""
        outcomes = []
        for route in self.held:
            try:
                route.continue_()
                outcomes.append("continued")
            except PlaywrightError as exc:
                outcomes.append(f"gone: {exc}")
        self.held.clear()
        return outcomes

    def stop(self):
        self.page.unroute(UPLOADS, self._hold)


def attachments(draft):
    return {a.filename: a.file.open("rb").read() for a in draft.attachments.all()}


def test_drop_cancel_refuse_and_send_waits_for_uploads(new_page, devmail, settings):
    settings.WEBMAIL_MAX_ATTACHMENT_BYTES = LIMIT
    alice = devmail_user(devmail, "alice")
    page = new_page()
    log_in(page, "alice")
    page.goto("/compose/")
    page.get_by_label("To:", exact=True).fill("Bob <bob@example.test>")
    page.get_by_label("Subject").fill("견적서 보내드립니다")
    send = page.locator("#send-button")
    list_ = page.get_by_role("list", name="Attachments")

    # Too large: refused with the file's name before any request leaves the page.
    mark = page.record.mark()
    result = drop(page, ("큰 파일.bin", b"\x01" * (LIMIT + 1), "application/octet-stream"))
    assert result == {"highlighted": True, "accepted": True}
    warning = page.locator("#attachment-warning")
    expect(warning).to_be_visible()
    expect(warning).to_have_text("“큰 파일.bin” is larger than the 64\xa0KB limit.")
    expect(list_.get_by_role("listitem")).to_have_count(0)
    assert upload_posts(page, mark) == []
    assert not Outgoing.objects.filter(owner=alice).exists()
    shot(page, "refused-too-large", "compose-uploads")

    # Two files dropped: two progress bars, both done; the page continues on the new draft.
    result = drop(
        page,
        (KOREAN_NAME, XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("notes.txt", NOTES, "text/plain"),
    )
    assert result == {"highlighted": True, "accepted": True}
    expect(page.locator("#dropzone")).not_to_have_class(re.compile(r"\bdragover\b"))
    expect(warning).to_be_hidden()
    for name in (KOREAN_NAME, "notes.txt"):
        bar = page.get_by_role("progressbar", name=f"Uploaded {name}")
        expect(bar).to_have_js_property("value", 100)
        expect(list_.get_by_role("listitem").filter(has_text=name)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/compose/\d+/$"))
    draft = Outgoing.objects.get(owner=alice)
    assert page.url.endswith(f"/compose/{draft.pk}/")
    assert attachments(draft) == {KOREAN_NAME: XLSX, "notes.txt": NOTES}
    expect(page.get_by_role("button", name=f"Remove {KOREAN_NAME}")).to_be_visible()
    shot(page, "two-uploaded", "compose-uploads")

    # A third file, held on its way: Send waits; Cancel stops it and it never reaches the draft.
    holder = Holder(page)
    failed = []
    page.on("requestfailed", lambda r: failed.append((r.method, r.url, r.failure)))
    drop(page, ("big.bin", BIG, "application/octet-stream"))
    holder.wait()
    expect(page.get_by_role("progressbar", name="Uploading big.bin")).to_be_visible()
    expect(send).to_be_disabled()
    expect(send).to_have_accessible_name("Waiting for uploads…")
    shot(page, "uploading", "compose-uploads")
    page.get_by_role("button", name="Cancel upload of big.bin").click()
    expect(page.get_by_role("progressbar", name="Uploading big.bin")).to_have_count(0)
    expect(list_.get_by_role("listitem").filter(has_text="big.bin")).to_have_count(0)
    expect(page.locator("#upload-status")).to_have_text("Upload of big.bin cancelled.")
    until(page, lambda: failed, "the cancelled request to end")
    assert failed == [("POST", f"{page.url}attachments/", "net::ERR_ABORTED")]  # the XHR aborted
    holder.release()
    expect(send).to_be_enabled()
    expect(send).to_have_accessible_name("Send")
    assert attachments(draft) == {KOREAN_NAME: XLSX, "notes.txt": NOTES}

    # A pasted file, held: Enter in a field does not send early; once released, Send sends all.
    assert page.evaluate(PASTE, [files(("붙여넣기.png", PASTED, "image/png")), "#id_body"])
    holder.wait()
    expect(page.get_by_role("progressbar", name="Uploading 붙여넣기.png")).to_be_visible()
    expect(send).to_be_disabled()
    mark = page.record.mark()
    page.get_by_label("Subject").press("Enter")
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")
    assert [r for r in page.record.since(mark, "requests") if r[0] == "POST"] == []
    assert page.record.since(mark, "navigations") == []
    draft.refresh_from_db()
    assert draft.status == OutgoingStatus.DRAFT
    holder.release()
    holder.stop()
    expect(page.get_by_role("progressbar", name="Uploaded 붙여넣기.png")).to_have_js_property(
        "value", 100
    )
    expect(send).to_be_enabled()
    send.click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    draft.refresh_from_db()
    assert draft.status == OutgoingStatus.SENT
    assert devmail.message_count("bob@example.test") == 1
    sent = message_from_bytes(draft.sent_message.raw_file.open("rb").read(), policy=default_policy)
    parts = {p.get_filename(): p.get_payload(decode=True) for p in sent.iter_attachments()}
    assert parts == {KOREAN_NAME: XLSX, "notes.txt": NOTES, "붙여넣기.png": PASTED}

    record = page.record
    assert record.page_errors == [] and record.foreign == [] and record.dialogs == []
    assert csp_violations(page) == []


def test_a_file_already_on_the_draft_is_removed_with_its_button(new_page, devmail):
    alice = devmail_user(devmail, "alice")
    page = new_page()
    log_in(page, "alice")
    page.goto("/compose/")
    page.get_by_label("Attach files").set_input_files(
        [
            {"name": KOREAN_NAME, "mimeType": "application/octet-stream", "buffer": XLSX},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": NOTES},
        ]
    )
    expect(page.get_by_role("progressbar", name="Uploaded notes.txt")).to_have_js_property(
        "value", 100
    )
    draft = Outgoing.objects.get(owner=alice)
    page.reload()  # now the server lists the draft's files
    expect(page).to_have_url(re.compile(rf"/compose/{draft.pk}/$"))
    files_ = page.get_by_role("list", name="Attachments")
    expect(files_.get_by_role("listitem")).to_have_count(2)
    expect(files_.get_by_role("checkbox")).to_have_count(0)  # the no-JS control, swapped
    page.get_by_role("button", name=f"Remove {KOREAN_NAME}").click()
    expect(files_.get_by_role("listitem")).to_have_count(1)
    expect(page.locator("#upload-status")).to_have_text(f"{KOREAN_NAME} removed.")
    expect(page.get_by_role("button", name="Remove notes.txt")).to_be_focused()
    assert [a.filename for a in draft.attachments.all()] == ["notes.txt"]
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_without_javascript_files_go_with_save_and_are_removed_by_ticking(new_page, devmail):
    alice = devmail_user(devmail, "alice")
    page = new_page(java_script_enabled=False)
    log_in(page, "alice")
    page.goto("/compose/")
    page.get_by_label("Attach files").set_input_files(
        [{"name": KOREAN_NAME, "mimeType": "application/octet-stream", "buffer": XLSX}]
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Edit message")).to_be_visible()
    draft = Outgoing.objects.get(owner=alice)
    assert attachments(draft) == {KOREAN_NAME: XLSX}
    expect(page.get_by_role("button", name=f"Remove {KOREAN_NAME}")).to_be_hidden()
    page.get_by_role("checkbox", name=f"Remove {KOREAN_NAME}").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Edit message")).to_be_visible()
    assert not draft.attachments.exists()
    assert page.record.requests and not [r for r in page.record.requests if UPLOADS.search(r[1])]
