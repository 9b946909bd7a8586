"""Keyboard use, axe-core, visible labels, and screenshots at desktop and phone widths.

axe-core comes from the npm registry (tests/browser/package.json, installed into
tests/browser/node_modules by .ci/install-browser.sh) and is added to each page
as an init script, which the page's own CSP does not govern.
"""

import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from accounts.models import User
from mailbox.models import Folder, Message
from testkit import mailfactory as mf
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    browser_required,
    csp_violations,
    devmail_user,
    expect,
    log_in,
    shot,
    store,
)

pytestmark = pytest.mark.browser

SEOUL = timezone(timedelta(hours=9))
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"

# axe on the page, not inside the message frame (a stranger's mail, sandboxed, scriptless).
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"], iframes: false});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
}"""

# Every rendered form control has a <label> that a sighted person can see.
UNLABELLED_CONTROLS = """() => {
  const missing = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!el.getClientRects().length) continue;  // not rendered
    // Message checkboxes: their row (the subject beside them) and the column header are the
    // visible label; the accessible name repeats the subject.
    if (el.name === "ids" || el.id === "select-all") continue;
    // The search box, as in every mail client: its name is its placeholder, and its
    // <label> says the same to screen readers.
    if (el.type === "search" && el.placeholder &&
        [...el.labels].some((label) => label.innerText.trim() === el.placeholder)) continue;
    const visible = [...el.labels].some((label) => {
      const r = label.getBoundingClientRect();
      return r.width > 2 && r.height > 2 && label.innerText.trim() &&
             getComputedStyle(label).clip === "auto";
    });
    if (!visible) missing.push(el.outerHTML.slice(0, 120));
  }
  return missing;
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    index: [...document.querySelectorAll("*")].indexOf(el),
    tag: el.localName,
    name: (el.getAttribute("aria-label") || [...(el.labels || [])].map((l) => l.innerText).join(" ")
           || el.innerText || el.value || "").trim().slice(0, 60),
    visible: el.matches(":focus-visible") && (outlined || style.boxShadow !== "none"),
  };
}"""

NEWSLETTER_HTML = (
    '<table width="100%" cellpadding="12" bgcolor="#f4f6fb"><tr><td>'
    '<h2 style="color:#0b57d0">이번 주 소식 · This week</h2>'
    '<img src="https://news.invalid/banner.png" alt="Banner" width="480" height="120">'
    "<p>서울 사무소가 새 건물로 이전합니다. The Seoul office moves on 1 December.</p>"
    '<p><a href="https://news.invalid/read">Read the whole story</a></p>'
    "</td></tr></table>"
)


def seed(account) -> dict[str, Message]:
    """A small, realistic mailbox for bob."""

    def when(day: int, hour: int) -> str:
        return format_datetime(datetime(2026, 3, day + 2, hour, 15, tzinfo=SEOUL))

    korean = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part(
                "민수 씨, 안녕하세요.\n\n"
                "1분기 보고서를 첨부합니다. 금요일 회의 전에 검토해 주세요.\n\n"
                "> 지난번 초안에서 표 3을 고쳤습니다.\n\n김지현 드림\n"
            ),
            mf.attachment_part(b"%PDF-1.4 report", "1분기 보고서.pdf", "application/pdf"),
            mf.attachment_part(bytes(range(256)) * 20, "견적서 2026.xlsx"),
        ),
        subject=mf.encoded_word("1분기 보고서 검토 요청"),
        from_=f"{mf.encoded_word('김지현')} <jihyun@example.kr>",
        to="Bob <bob@example.test>",
        date=when(6, 9),
        message_id="<report@example.kr>",
    )
    messages = {
        "report": store(account, korean),
        "newsletter": store(
            account,
            mf.message(
                mf.text_part(NEWSLETTER_HTML, "html"),
                subject="Weekly news: the Seoul office moves",
                from_="Company News <news@example.org>",
                date=when(5, 8),
                message_id="<news@example.org>",
            ),
        ),
    }
    rows = [
        ("Lunch on Friday?", "Carol <carol@example.test>", "Shall we try the new place?\n"),
        ("Invoice 2026-03", "Billing <billing@example.com>", "Your invoice is attached.\n"),
        ("회의실 예약 확인", "이수민 <sumin@example.kr>", "3층 회의실이 예약되었습니다.\n"),
        ("Build passed", "CI <ci@example.org>", "All 412 tests passed.\n"),
    ]
    for i, (subject, sender, body) in enumerate(rows):
        raw = mf.plain(
            subject, body, from_=sender, date=when(4 - i, 17), message_id=f"<row{i}@example.org>"
        )
        messages[subject] = store(account, raw, seen=i % 2 == 1)
    Message.objects.filter(pk=messages["Lunch on Friday?"].pk).update(flagged=True)
    return messages


@pytest.fixture
def bob_mailbox(devmail):
    bob = devmail_user(devmail, "bob")
    return seed(bob.mail_accounts.get())


@pytest.fixture
def axe_source():
    if not AXE.is_file():
        reason = f"axe-core is not installed at {AXE} (run .ci/install-browser.sh)"
        if browser_required():
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE


def pages_to_check(page, messages):
    """(name, action) for every page the checks visit, logged in as bob."""

    def save_draft_with_attachment():
        page.goto("/compose/")
        page.get_by_label("To:", exact=True).fill("carol@example.test")
        page.get_by_label("Subject:").fill("Draft with a file")
        page.get_by_label("Attach files:").set_input_files(
            [{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"notes"}]
        )
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_role("heading", name="Edit message")).to_be_visible()

    def open_shortcuts_help():
        page.goto("/")
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()

    def inbox_compact():
        User.objects.filter(username="bob").update(list_density="compact")
        page.goto("/")
        expect(page.locator("body.density-compact")).to_be_visible()

    return [
        ("inbox", lambda: page.goto("/")),
        ("read-text", lambda: page.goto(f"/mail/{messages['report'].pk}/")),
        ("read-html", lambda: page.goto(f"/mail/{messages['newsletter'].pk}/")),
        ("compose", lambda: page.goto("/compose/")),
        ("compose-draft", save_draft_with_attachment),
        ("sent", lambda: page.goto(f"/mail/folder/{Folder.SENT}/")),
        ("settings", lambda: page.goto("/settings/accounts/")),
        ("account-form", lambda: page.goto("/settings/accounts/new/")),
        ("password", lambda: page.goto("/auth/password_change/")),
        ("shortcuts-help", open_shortcuts_help),
        ("inbox-compact", inbox_compact),
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_and_every_control_has_a_visible_label(
    new_page, bob_mailbox, axe_source, scheme
):
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(axe_source))
    results, serious, unlabelled = {}, {}, {}

    def check(name: str) -> None:
        violations = page.evaluate(RUN_AXE)
        results[name] = violations
        bad = violations  # axe reports nothing, of any impact
        if bad:
            serious[name] = bad
        missing = page.evaluate(UNLABELLED_CONTROLS)
        if missing:
            unlabelled[name] = missing
        assert csp_violations(page) == [], name

    page.goto("/auth/login/")
    check("login")
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    for name, go in pages_to_check(page, bob_mailbox):
        go()
        check(name)
    Message.objects.filter(pk=bob_mailbox["Build passed"].pk).update(folder=Folder.TRASH)
    page.goto(f"/mail/folder/{Folder.TRASH}/")
    check("trash")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-violations-{scheme}.json").write_text(json.dumps(results, indent=2))
    assert serious == {}
    assert unlabelled == {}
    assert page.record.foreign == []


def focus_walk(page, stop, limit: int = 60) -> list[dict]:
    """Press Tab until `stop(focused)` is true; every element reached, in order."""
    reached = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        reached.append(focused)
        if stop(focused):
            return reached
    raise AssertionError(f"never reached the target with Tab: {[f['name'] for f in reached]}")


def assert_orderly_and_visible(reached: list[dict]) -> None:
    indexes = [f["index"] for f in reached]
    assert indexes == sorted(indexes), "Tab order does not follow the page order"
    invisible = [f for f in reached if not f["visible"]]
    assert invisible == [], "focus is not visible on these"


def test_inbox_and_read_page_work_without_a_mouse(new_page, bob_mailbox):
    page = new_page()
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert page.locator("[tabindex]:not([tabindex='0']):not([tabindex='-1'])").count() == 0

    # Tab from the top of the inbox to the first message, and open it with Enter.
    subject = "1분기 보고서 검토 요청"
    reached = focus_walk(page, lambda f: f["tag"] == "a" and subject in f["name"])
    assert_orderly_and_visible(reached)
    names = [f["name"] for f in reached]
    opener = next(n for n in names if subject in n)
    assert names.index("Compose") < names.index("Check mail now") < names.index(opener)
    shot(page, "keyboard-inbox-focus")
    page.keyboard.press("Enter")
    expect(page.locator("#subject")).to_have_text(subject)

    # On the read page: the actions and the attachments are reachable in order.
    reached = focus_walk(page, lambda f: "견적서 2026.xlsx" in f["name"])
    assert_orderly_and_visible(reached)
    names = [f["name"] for f in reached]
    for control in ("Mark as unread", "Move to Trash", "Reply", "Forward"):
        assert control in names
    pdf = next(n for n in names if "1분기 보고서.pdf" in n)
    assert names.index("Reply") < names.index(pdf)

    # Shift+Tab back to "Move to Trash" and press it with the keyboard.
    for _ in range(len(names)):
        page.keyboard.press("Shift+Tab")
        if page.evaluate(FOCUSED)["name"] == "Move to Trash":
            break
    assert page.evaluate(FOCUSED)["name"] == "Move to Trash"
    shot(page, "keyboard-read-focus")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="1 message moved to Trash.")).to_be_visible()
    assert Message.objects.get(pk=bob_mailbox["report"].pk).folder == Folder.TRASH

    # Enter on a link in the list still opens it: the next message, from the keyboard.
    page.get_by_role("link", name=re.compile("Weekly news: the Seoul office moves")).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mailbox['newsletter'].pk}/$"))
    assert page.record.foreign == [] and page.record.page_errors == []


def assert_no_sideways_scroll(page, name: str) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 1, f"{name} scrolls sideways by {overflow}px"


@pytest.mark.parametrize(
    ("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)], ids=["desktop", "phone"]
)
def test_screenshots_of_login_inbox_read_and_compose(new_page, bob_mailbox, width, viewport):
    """Saved under test-artifacts/browser/screens/; no page scrolls sideways at either width."""
    page = new_page(viewport=viewport)
    page.goto("/auth/login/")
    shot(page, f"login-{width}", "screens")
    assert_no_sideways_scroll(page, "login")
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    shot(page, f"inbox-{width}", "screens")
    assert_no_sideways_scroll(page, "inbox")
    page.goto(f"/mail/{bob_mailbox['report'].pk}/")
    shot(page, f"read-{width}", "screens")
    assert_no_sideways_scroll(page, "read")
    page.goto(f"/mail/{bob_mailbox['newsletter'].pk}/")
    shot(page, f"read-html-{width}", "screens")
    assert_no_sideways_scroll(page, "read (html)")
    page.goto("/compose/")
    page.get_by_label("To:", exact=True).fill("김지현 <jihyun@example.kr>")
    page.get_by_label("Subject:").fill("Re: 1분기 보고서 검토 요청")
    page.get_by_label("Body:").fill("지현 씨, 검토했습니다. 표 3 좋아요.\n\n— Bob")
    shot(page, f"compose-{width}", "screens")
    assert_no_sideways_scroll(page, "compose")
    assert page.record.foreign == []
