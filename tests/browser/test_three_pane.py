"""The three-pane client in Chromium: reading in place, the address bar, actions without a
page load, Undo, themes and the phone layout.

A marker set on `window` before an action survives only if no full page load happened.
"""

import re

import pytest

from accounts.models import User
from mailbox.models import Folder, Message
from testkit import mailfactory as mf
from tests.browser.conftest import (
    PASSWORD,
    PHONE,
    csp_violations,
    devmail_user,
    expect,
    log_in,
    shot,
    store,
)

pytestmark = pytest.mark.browser

COLOURFUL = (
    '<table width="100%" bgcolor="#0b57d0"><tr><td style="color:#ffffff">'
    "<h2>Spring sale</h2><p>Everything must go.</p></td></tr></table>"
)
PLAIN_HTML = "<p>No colours of its own here.</p><p>두 번째 문단.</p>"


def set_marker(page) -> None:
    page.evaluate("window.__noReload = 'still here'")


def marker(page):
    return page.evaluate("window.__noReload || null")


@pytest.fixture
def mailbox(devmail):
    bob = devmail_user(devmail, "bob")
    account = bob.mail_accounts.get()
    messages = {}
    for i, subject in enumerate(["First thing", "Second thing", "Third thing", "세 번째 소식"]):
        messages[subject] = store(
            account,
            mf.plain(subject, f"Body of {subject}.\n", date=f"Mon, 2 Mar 2026 1{i}:00:00 +0900"),
        )
    messages["colourful"] = store(
        account,
        mf.message(
            mf.text_part(COLOURFUL, "html"),
            subject="Colourful newsletter",
            date="Mon, 2 Mar 2026 08:00:00 +0900",
        ),
    )
    messages["plain-html"] = store(
        account,
        mf.message(
            mf.text_part(PLAIN_HTML, "html"),
            subject="Plain HTML note",
            date="Mon, 2 Mar 2026 07:00:00 +0900",
        ),
    )
    return bob, messages


def row(page, subject: str):
    return (
        page.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text=subject)
    )


def test_opening_a_message_reads_it_in_place_and_the_address_bar_follows(new_page, mailbox):
    bob, messages = mailbox
    page = new_page()
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    set_marker(page)

    page.get_by_role("link", name=re.compile("Second thing")).click()
    reading = page.locator("#reading-pane")
    expect(reading.locator("#subject")).to_have_text("Second thing")
    pk = messages["Second thing"].pk
    expect(page).to_have_url(re.compile(rf"/mail/{pk}/$"))
    assert marker(page) == "still here"  # no full page load
    expect(page.get_by_role("list", name="Messages")).to_be_visible()  # the list stays
    expect(row(page, "Second thing")).to_have_class(re.compile(r"\bcurrent\b"))
    expect(row(page, "Second thing")).not_to_have_class(re.compile(r"\bunread\b"))
    assert Message.objects.get(pk=pk).seen
    expect(page).to_have_title(re.compile(r"^\(5\) Second thing · Webmail$"))
    shot(page, "three-pane-reading", "screens")

    # Reload: the same message, in the same three panes.
    page.reload()
    expect(page.locator("#reading-pane").locator("#subject")).to_have_text("Second thing")
    expect(page.get_by_role("list", name="Messages")).to_be_visible()
    assert marker(page) is None

    # Back: the inbox without a message.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_text("Select a message to read it here.")).to_be_visible()
    # Opening in a new tab (a plain link) shows the whole page too.
    href = page.get_by_role("link", name=re.compile("Third thing")).get_attribute("href")
    tab = new_page()
    log_in(tab, "bob")
    tab.goto(href)
    expect(tab.locator("#subject")).to_have_text("Third thing")
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_bulk_archive_updates_the_list_and_counts_in_place_and_undo_brings_them_back(
    new_page, mailbox
):
    bob, messages = mailbox
    page = new_page()
    log_in(page, "bob")
    inbox_link = page.get_by_role("navigation", name="Folders").get_by_role(
        "link", name=re.compile("Inbox")
    )
    expect(inbox_link).to_contain_text("6")
    set_marker(page)

    row(page, "First thing").get_by_role("checkbox").check()
    row(page, "Third thing").get_by_role("checkbox").check()
    page.locator(".toolbar-sticky").get_by_role("button", name="Archive").click()

    toast = page.get_by_role("status").filter(has_text="2 messages archived.")
    expect(toast).to_be_visible()
    expect(row(page, "First thing")).to_have_count(0)
    expect(row(page, "Third thing")).to_have_count(0)
    expect(inbox_link).to_contain_text("4")
    assert marker(page) == "still here"
    assert set(Message.objects.filter(folder=Folder.ARCHIVE).values_list("subject", flat=True)) == {
        "First thing",
        "Third thing",
    }
    shot(page, "bulk-archive-toast", "screens")

    toast.get_by_role("button", name="Undo").click()
    expect(row(page, "First thing")).to_have_count(1)
    expect(row(page, "Third thing")).to_have_count(1)
    expect(page.get_by_role("status").filter(has_text="2 messages moved back.")).to_be_visible()
    assert not Message.objects.filter(folder=Folder.ARCHIVE).exists()
    assert marker(page) == "still here"
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_trashing_the_open_message_closes_it_and_undo_restores_it(new_page, mailbox):
    bob, messages = mailbox
    page = new_page()
    log_in(page, "bob")
    page.get_by_role("link", name=re.compile("세 번째 소식")).click()
    reading = page.locator("#reading-pane")
    expect(reading.locator("#subject")).to_have_text("세 번째 소식")
    set_marker(page)

    reading.get_by_role("button", name="Move to Trash").click()
    toast = page.get_by_role("status").filter(has_text="1 message moved to Trash.")
    expect(toast).to_be_visible()
    expect(page.get_by_text("Select a message to read it here.")).to_be_visible()
    expect(row(page, "세 번째 소식")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/mail/folder/inbox/$"))
    pk = messages["세 번째 소식"].pk
    assert Message.objects.get(pk=pk).folder == Folder.TRASH

    toast.get_by_role("button", name="Undo").click()
    expect(row(page, "세 번째 소식")).to_have_count(1)
    assert Message.objects.get(pk=pk).folder == Folder.INBOX
    assert marker(page) == "still here"


def test_row_actions_flag_and_mark_unread_without_a_page_load(new_page, mailbox):
    bob, messages = mailbox
    Message.objects.filter(pk=messages["First thing"].pk).update(seen=True)
    page = new_page()
    log_in(page, "bob")
    set_marker(page)
    first = row(page, "First thing")
    first.hover()
    first.get_by_role("button", name="Flag").click()
    expect(first.get_by_role("button", name="Flag")).to_have_attribute("aria-pressed", "true")
    assert Message.objects.get(pk=messages["First thing"].pk).flagged
    first.hover()
    first.get_by_role("button", name="Mark as unread").click()
    expect(first).to_have_class(re.compile(r"\bunread\b"))
    assert not Message.objects.get(pk=messages["First thing"].pk).seen
    assert marker(page) == "still here"


def background_of(locator) -> tuple[int, int, int]:
    colour = locator.evaluate("(el) => getComputedStyle(el).backgroundColor")
    return tuple(int(x) for x in re.findall(r"\d+", colour)[:3])


def is_dark(rgb) -> bool:
    return sum(rgb) / 3 < 80


def test_dark_mode_follows_the_system_and_mail_with_its_own_colours_stays_on_a_light_sheet(
    new_page, mailbox
):
    bob, messages = mailbox
    page = new_page(color_scheme="dark")
    log_in(page, "bob")
    assert is_dark(background_of(page.locator("body")))
    assert is_dark(background_of(page.locator(".list-pane")))

    page.goto(f"/mail/{messages['plain-html'].pk}/")
    frame = page.frame_locator("iframe.body-frame")
    expect(frame.get_by_text("No colours of its own here.")).to_be_visible()
    assert is_dark(background_of(frame.locator("body")))

    page.goto(f"/mail/{messages['colourful'].pk}/")
    frame = page.frame_locator("iframe.body-frame")
    expect(frame.get_by_text("Everything must go.")).to_be_visible()
    assert background_of(frame.locator("body")) == (255, 255, 255)
    shot(page, "read-dark-colourful", "screens")
    assert csp_violations(page) == []


def test_the_theme_preference_overrides_the_system(new_page, mailbox):
    bob, messages = mailbox
    page = new_page(color_scheme="light")
    log_in(page, "bob")
    assert not is_dark(background_of(page.locator("body")))
    page.get_by_role("link", name="Settings").click()
    theme = page.get_by_role("group", name="Theme")
    theme.get_by_label("Dark").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status").filter(has_text="Preferences saved.")).to_be_visible()
    assert User.objects.get(pk=bob.pk).theme == "dark"
    assert is_dark(background_of(page.locator("body")))
    page.goto(f"/mail/{messages['plain-html'].pk}/")
    frame = page.frame_locator("iframe.body-frame")
    expect(frame.get_by_text("No colours of its own here.")).to_be_visible()
    assert is_dark(background_of(frame.locator("body")))
    shot(page, "read-dark-theme", "screens")

    page.goto("/settings/accounts/")
    page.get_by_role("group", name="Theme").get_by_label("Light").check()
    page.get_by_role("group", name="Message list").get_by_label("Compact (one line)").check()
    page.get_by_role("button", name="Save preferences").click()
    # The saved page has loaded (reading the old one mid-navigation sees no background).
    expect(page.get_by_role("status").filter(has_text="Preferences saved.")).to_be_visible()
    assert not is_dark(background_of(page.locator("body")))
    page.goto("/")
    expect(page.locator("body")).to_have_class(re.compile(r"\bdensity-compact\b"))
    shot(page, "inbox-compact", "screens")


def test_phone_goes_list_then_message_then_back(new_page, mailbox):
    bob, messages = mailbox
    page = new_page(viewport=PHONE)
    log_in(page, "bob")
    expect(page.get_by_role("list", name="Messages")).to_be_visible()
    expect(page.locator("#reading-pane")).to_be_hidden()
    page.get_by_role("link", name=re.compile("Second thing")).click()
    expect(page.locator("#reading-pane").locator("#subject")).to_have_text("Second thing")
    expect(page.get_by_role("list", name="Messages")).to_be_hidden()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 1
    shot(page, "phone-message", "screens")
    page.get_by_role("link", name="Back to Inbox").click()
    expect(page.get_by_role("list", name="Messages")).to_be_visible()
    expect(page.locator("#reading-pane")).to_be_hidden()


def test_every_page_sends_a_strict_csp(new_page, mailbox):
    bob, messages = mailbox
    page = new_page()
    log_in(page, "bob")
    for path in [
        "/",
        f"/mail/{messages['First thing'].pk}/",
        "/mail/folder/trash/",
        "/compose/",
        "/settings/accounts/",
        "/auth/password_change/",
    ]:
        response = page.goto(path)
        policy = response.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", policy).group(1)
        assert script_src.strip() == "'self'", path
        assert "unsafe-inline" not in re.search(r"style-src ([^;]*)", policy).group(1), path
        assert csp_violations(page) == [], path


def test_readme_screenshots(new_page, mailbox):
    """The pictures in README.md: inbox light and dark, the reading pane, the phone."""
    bob, messages = mailbox
    for scheme in ("light", "dark"):
        page = new_page(color_scheme=scheme)
        log_in(page, "bob")
        expect(page.get_by_role("list", name="Messages")).to_be_visible()
        shot(page, f"readme-inbox-desktop-{scheme}", "screens")
        page.get_by_role("link", name=re.compile("Colourful newsletter")).click()
        expect(page.frame_locator("iframe.body-frame").get_by_text("Spring sale")).to_be_visible()
        shot(page, f"readme-reading-{scheme}", "screens")
        assert csp_violations(page) == []
    phone = new_page(viewport=PHONE)
    log_in(phone, "bob")
    expect(phone.get_by_role("list", name="Messages")).to_be_visible()
    shot(phone, "readme-phone-list", "screens")
    phone.get_by_role("link", name=re.compile("Second thing")).click()
    expect(phone.locator("#subject")).to_have_text("Second thing")
    shot(phone, "readme-phone-message", "screens")


def test_a_korean_browser_gets_the_korean_interface(new_page, mailbox):
    bob, messages = mailbox
    page = new_page(locale="ko-KR")
    page.goto("/auth/login/")
    page.get_by_label("아이디").fill("bob")
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("heading", name="받은편지함")).to_be_visible()
    expect(page.get_by_role("link", name="편지쓰기")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.get_by_role("link", name=re.compile("Second thing")).click()
    expect(page.locator("#reading-pane").get_by_role("button", name="전체답장")).to_be_visible()
    shot(page, "readme-korean-reading", "screens")
    assert csp_violations(page) == [] and page.record.page_errors == []
