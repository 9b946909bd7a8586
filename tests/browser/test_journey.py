"""The whole user journey in Chromium: log in, write, send, receive, read, reply, tidy, admin.

Controls are found the way a person or a screen reader finds them: by label,
button text and link text. Every step leaves a screenshot in
test-artifacts/browser/journey/. Mail goes through devmail in-process: SMTP for
sending, POP3 for "Check mail now" (eager tasks; see conftest).
"""

import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from accounts.models import User
from mailbox import ingest
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, log_out, shot
from tests.conftest import make_user

pytestmark = pytest.mark.browser

SUBJECT = "3분기 보고서 (최종)"
BODY = "밥, 안녕하세요.\n3분기 보고서와 메모를 첨부합니다.\n— 앨리스"
XLSX = bytes(range(256)) * 64  # binary, every byte value
NOTES = "회의 메모\nplain notes, line two\n".encode()
KOREAN_NAME = "견적서 2026.xlsx"


class Steps:
    """Numbered screenshots, and the checks every step of ours must pass."""

    def __init__(self, page):
        self.page = page
        self.n = 0

    def __call__(self, name: str, *, own_page: bool = True) -> None:
        self.n += 1
        shot(self.page, f"{self.n:02d}-{name}", "journey")
        record = self.page.record
        assert record.foreign == [], f"{name}: requests left the live server: {record.foreign}"
        assert record.dialogs == [], name
        assert record.page_errors == [], name
        if own_page:  # our pages need no inline script or style: the CSP is never hit
            assert csp_violations(self.page) == [], name


def flash(page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def parsed(raw: bytes):
    return message_from_bytes(raw, policy=default_policy)


def test_the_whole_journey(new_page, devmail):
    alice = devmail_user(devmail, "alice")
    bob = devmail_user(devmail, "bob")
    make_user("admin", is_staff=True, is_superuser=True)
    page = new_page()
    step = Steps(page)

    # A wrong password first: the error is shown, and we stay on the login page.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login/\?next=/$"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    step("wrong-password")

    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    step("alice-inbox")

    # Compose to bob with a Cc, a Korean subject and two attachments.
    page.get_by_role("link", name="Compose").click()
    expect(page.get_by_role("heading", name="New message")).to_be_visible()
    expect(page.get_by_label("From")).to_have_value(str(alice.mail_accounts.get().pk))
    page.get_by_label("To:", exact=True).fill("Bob <bob@example.test>")
    page.get_by_label("Cc:", exact=True).fill("carol@example.test")
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Body").fill(BODY)
    page.get_by_label("Attach files").set_input_files(
        [
            {"name": KOREAN_NAME, "mimeType": "application/octet-stream", "buffer": XLSX},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": NOTES},
        ]
    )
    step("compose")
    page.get_by_role("button", name="Send", exact=True).click()

    # Sent: the flash, and the message in the Sent folder.
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    flash(page, "Queued for sending.")
    expect(page.get_by_role("link", name=re.compile(re.escape(SUBJECT)))).to_be_visible()
    assert Outgoing.objects.get(owner=alice).status == OutgoingStatus.SENT
    assert devmail.message_count("bob@example.test") == 1
    assert devmail.message_count("carol@example.test") == 1  # the Cc
    step("alice-sent")
    log_out(page)

    # Bob: "Check mail now" fetches it over POP3; it is unread, with the attachment mark.
    # Eager tasks because the live server runs each request in autocommit: delay_on_commit
    # fires right after the request's commit, so the poll (like Send above) is done when the
    # page's status request asks; a real worker is covered by tests/mailbox/test_celery_worker.py.
    log_in(page, "bob")
    expect(page.get_by_text("No mail yet")).to_be_visible()
    page.get_by_role("button", name="Check mail now").click()
    expect(page.locator("#check-mail-status")).to_contain_text("1 new message.")
    step("bob-checked-mail")
    flash(page, "1 new message.")
    # The list shows it without a reload: unread, with the attachment mark.
    row = page.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text=SUBJECT)
    expect(row).to_have_class(re.compile(r"\bunread\b"))
    expect(row.get_by_text("Has attachments")).to_be_attached()
    expect(row).to_contain_text("Alice")
    folders = page.get_by_role("navigation", name="Folders")
    expect(folders.get_by_role("link", name="Inbox , 1 unread")).to_be_visible()
    step("bob-inbox")

    # Open it: subject, sender, body, Cc and both attachments.
    page.get_by_role("link", name=re.compile(re.escape(SUBJECT))).click()
    expect(page.locator("#subject")).to_have_text(SUBJECT)
    headers = page.locator("dl.headers")
    expect(headers).to_contain_text("Alice <alice@example.test>")
    expect(headers).to_contain_text("carol@example.test")
    expect(page.locator(".text-body")).to_contain_text("3분기 보고서와 메모를 첨부합니다.")
    attachments = page.get_by_role("region", name="Attachments")
    expect(attachments.get_by_role("link", name=KOREAN_NAME)).to_be_visible()
    expect(attachments.get_by_role("link", name="notes.txt")).to_be_visible()
    step("bob-reads")
    message = Message.objects.get(owner=bob, folder=Folder.INBOX)
    assert message.seen

    # Download the Korean-named attachment: the same bytes, the same name.
    with page.expect_download() as info:
        attachments.get_by_role("link", name=KOREAN_NAME).click()
    download = info.value
    assert download.suggested_filename == KOREAN_NAME
    assert Path(download.path()).read_bytes() == XLSX

    # Reply: a draft addressed to alice, threaded; alice receives it.
    page.get_by_role("button", name="Reply", exact=True).click()
    expect(page.get_by_role("heading", name="Edit message")).to_be_visible()
    expect(page.get_by_label("To:", exact=True)).to_have_value(re.compile("alice@example.test"))
    expect(page.get_by_label("Subject")).to_have_value(f"Re: {SUBJECT}")
    body = page.get_by_label("Body")
    body.fill("고맙습니다, 잘 받았어요.\n" + body.input_value())
    step("bob-replies")
    page.get_by_role("button", name="Send", exact=True).click()
    flash(page, "Queued for sending.")
    replies = devmail.messages("alice@example.test")
    assert len(replies) == 1
    reply = parsed(replies[0])
    original_id = f"<{message.message_id}>"
    assert reply["In-Reply-To"] == original_id
    assert original_id in reply["References"].split()
    assert ingest.poll_account(alice.mail_accounts.get().pk).new == 1
    threaded = Message.objects.get(owner=alice, folder=Folder.INBOX)
    assert threaded.subject == f"Re: {SUBJECT}"
    assert threaded.in_reply_to == message.message_id

    # Move to Trash, then restore it from there.
    folders = page.get_by_role("navigation", name="Folders")
    folders.get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name=re.compile(re.escape(SUBJECT))).click()
    page.locator("#reading-pane").get_by_role("button", name="Move to Trash").click()
    flash(page, "1 message moved to Trash.")
    expect(page.get_by_role("link", name=re.compile(re.escape(SUBJECT)))).to_have_count(0)
    folders.get_by_role("link", name="Trash").click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    page.get_by_role("link", name=re.compile(re.escape(SUBJECT))).click()
    step("bob-trash")
    page.locator("#reading-pane").get_by_role("button", name="Restore").click()
    flash(page, "1 message restored.")
    folders.get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("link", name=re.compile(re.escape(SUBJECT)))).to_be_visible()
    step("bob-restored")
    assert Message.objects.get(pk=message.pk).folder == Folder.INBOX
    log_out(page)

    # The administrator deactivates bob in the admin...
    page.goto("/admin/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="bob", exact=True).click()
    active = page.get_by_role("checkbox", name="Active")
    expect(active).to_be_checked()
    active.uncheck()
    step("admin-deactivates-bob", own_page=False)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert not User.objects.get(pk=bob.pk).is_active
    page.get_by_role("button", name="Log out").click()

    # ...and bob can no longer log in.
    log_in(page, "bob")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/auth/login/$"))
    step("bob-refused")
