"""Keyboard shortcuts in Chromium: each key does what the help dialog says, on a page
just loaded and after htmx swapped its panes; never while typing; never when turned off.

Keys are pressed the way a person presses them (Playwright's keyboard, on whatever has
the focus), and every effect is checked where a person or the database would see it.
"""

import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from accounts.models import User
from mailbox.models import Folder, Message
from testkit import mailfactory as mf
from tests.browser.conftest import (
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
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"], iframes: false});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, help: v.help,
                  nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
}"""
SUBJECTS = ["Lunch on Friday?", "Invoice 2026-03", "회의실 예약 확인", "Build passed"]

# Every navigation the page starts, recorded the moment it starts (the Navigation API's
# "navigate" event fires synchronously inside link.click()), so "nothing happened" is
# known as soon as the key press returns, without waiting.
WATCH_NAVIGATIONS = """() => {
  window.__navigations = [];
  navigation.addEventListener("navigate", (e) => window.__navigations.push(e.destination.url));
}"""


@pytest.fixture
def bob_mail(devmail):
    """Bob's inbox, newest first in the list: SUBJECTS[0] is the top row."""
    bob = devmail_user(devmail, "bob")
    account = bob.mail_accounts.get()
    messages = []
    for i, subject in enumerate(SUBJECTS):
        raw = mf.plain(
            subject,
            f"Body of {subject}.\n",
            from_="Alice <alice@example.test>",
            to="Bob <bob@example.test>",
            date=format_datetime(datetime(2026, 3, 10 - i, 9, 0, tzinfo=SEOUL)),
            message_id=f"<shortcut{i}@example.test>",
            headers=[("Cc", "Carol <carol@example.test>")],
        )
        messages.append(store(account, raw, seen=i != 1))
    return messages


def row(page, message):
    return page.locator(f"#row-{message.pk}")


def reading_pane(page):
    return page.locator("#reading-pane")


def assert_clean(page):
    assert page.record.page_errors == []
    assert csp_violations(page) == []
    assert page.record.foreign == []


def open_inbox(new_page, **page_options):
    page = new_page(**page_options)
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    # The script has run: it reveals the help button.
    expect(page.locator("#shortcuts-button")).to_be_visible()
    return page


def test_j_and_k_move_the_cursor_and_o_opens_the_row(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    expect(row(page, bob_mail[0])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    page.keyboard.press("j")
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    expect(row(page, bob_mail[0])).not_to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    expect(page.locator(".keyboard-cursor")).to_have_count(1)
    # The cursor row's link has the focus, so a screen reader reads the row.
    expect(row(page, bob_mail[1]).locator(".row-link")).to_be_focused()
    shot(page, "cursor", "shortcuts")

    page.keyboard.press("o")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[1])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[1].pk}/$"))
    assert_clean(page)


def test_enter_opens_the_cursor_row(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(row(page, bob_mail[0])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    # Focus away from the row's link: Enter is then the shortcut, not the link's own.
    page.locator("#main").focus()
    page.keyboard.press("Enter")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[0])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[0].pk}/$"))
    assert_clean(page)


def test_j_and_k_open_the_next_and_previous_message_while_one_is_open(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[0].pk}/$"))

    page.keyboard.press("j")  # after the htmx swap: the next row's message, loaded in place
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[1])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[1].pk}/$"))
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[2].pk}/$"))
    page.keyboard.press("k")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[1])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[1].pk}/$"))
    assert_clean(page)


def test_j_works_on_a_message_page_loaded_in_full(new_page, bob_mail):
    page = open_inbox(new_page)
    page.goto(f"/mail/{bob_mail[2].pk}/")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[2])).to_be_visible()
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[3].pk}/$"))
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[3])).to_be_visible()
    assert_clean(page)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_u_goes_back_to_the_list_with_the_cursor_on_the_message(new_page, bob_mail, viewport):
    page = open_inbox(new_page, **({"viewport": PHONE} if viewport == "phone" else {}))
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[0])).to_be_visible()
    page.keyboard.press("j")  # on a phone too, where the list is hidden behind the message
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[1])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[1].pk}/$"))
    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(r"/mail/folder/inbox/$"))
    expect(reading_pane(page)).to_contain_text("Select a message to read it here.")
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    expect(row(page, bob_mail[1]).locator(".row-link")).to_be_focused()
    page.keyboard.press("j")
    expect(row(page, bob_mail[2])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    assert_clean(page)


def test_a_korean_layout_key_counts_as_the_latin_letter_in_its_place(new_page, bob_mail):
    page = open_inbox(new_page)
    # With a Korean layout the J key gives "ㅓ"; Playwright's US keyboard cannot type it,
    # so the event a Korean keyboard sends is dispatched as such.
    page.evaluate(
        """() => document.body.dispatchEvent(new KeyboardEvent("keydown",
             {key: "ㅓ", code: "KeyJ", bubbles: true, cancelable: true}))"""
    )
    expect(row(page, bob_mail[0])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    assert_clean(page)


def test_e_archives_the_open_message_and_the_cursor_moves_on(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[0])).to_be_visible()
    page.keyboard.press("e")
    expect(row(page, bob_mail[0])).to_have_count(0)
    expect(reading_pane(page)).to_contain_text("Select a message to read it here.")
    assert Message.objects.get(pk=bob_mail[0].pk).folder == Folder.ARCHIVE
    # The cursor is on the message that took its place, ready for the next key.
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(rf"/mail/{bob_mail[1].pk}/$"))
    assert_clean(page)


def test_hash_trashes_the_open_message(new_page, bob_mail):
    page = open_inbox(new_page)
    page.goto(f"/mail/{bob_mail[2].pk}/")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[2])).to_be_visible()
    page.keyboard.press("#")
    expect(row(page, bob_mail[2])).to_have_count(0)
    assert Message.objects.get(pk=bob_mail[2].pk).folder == Folder.TRASH
    assert_clean(page)


def test_s_flags_and_shift_u_marks_the_open_message_unread(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("o")
    flag = reading_pane(page).locator("[data-shortcut-target=flag]")
    expect(flag).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("s")
    expect(reading_pane(page).locator("[data-shortcut-target=flag]")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert Message.objects.get(pk=bob_mail[0].pk).flagged is True
    page.keyboard.press("s")
    expect(reading_pane(page).locator("[data-shortcut-target=flag]")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert Message.objects.get(pk=bob_mail[0].pk).flagged is False

    page.keyboard.press("Shift+U")
    expect(row(page, bob_mail[0])).to_have_class(re.compile(r"\bunread\b"))
    assert Message.objects.get(pk=bob_mail[0].pk).seen is False
    assert_clean(page)


def test_actions_apply_to_the_cursor_row_when_no_message_is_open(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("j")  # the second row is the unread one
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bunread\b"))
    page.keyboard.press("Shift+I")
    expect(row(page, bob_mail[1])).not_to_have_class(re.compile(r"\bunread\b"))
    assert Message.objects.get(pk=bob_mail[1].pk).seen is True
    # The list was re-rendered by htmx: the cursor is still on the same message.
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))

    page.keyboard.press("Shift+U")
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bunread\b"))
    assert Message.objects.get(pk=bob_mail[1].pk).seen is False

    page.keyboard.press("s")
    expect(row(page, bob_mail[1]).get_by_title("Flagged")).to_be_visible()
    assert Message.objects.get(pk=bob_mail[1].pk).flagged is True

    page.keyboard.press("e")
    expect(row(page, bob_mail[1])).to_have_count(0)
    assert Message.objects.get(pk=bob_mail[1].pk).folder == Folder.ARCHIVE
    expect(row(page, bob_mail[2])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    page.keyboard.press("#")
    expect(row(page, bob_mail[2])).to_have_count(0)
    assert Message.objects.get(pk=bob_mail[2].pk).folder == Folder.TRASH
    assert_clean(page)


def test_the_cursor_stays_on_its_message_when_the_list_is_re_rendered(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    # Archive the row above with the mouse: the list is swapped and the rows shift up.
    top = row(page, bob_mail[0])
    top.hover()
    top.get_by_role("button", name="Archive").click()
    expect(row(page, bob_mail[0])).to_have_count(0)
    expect(row(page, bob_mail[1])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    expect(page.locator(".keyboard-cursor")).to_have_count(1)
    page.keyboard.press("j")
    expect(row(page, bob_mail[2])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    assert_clean(page)


@pytest.mark.parametrize(
    ("key", "subject", "carol_copied"),
    [("r", "Re: ", False), ("a", "Re: ", True), ("f", "Fwd: ", False)],
    ids=["reply", "reply-all", "forward"],
)
def test_reply_keys_open_the_compose_page(new_page, bob_mail, key, subject, carol_copied):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[0])).to_be_visible()
    page.keyboard.press(key)
    expect(page.get_by_role("heading", name="Edit message")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/compose/\d+/$"))
    expect(page.get_by_label("Subject")).to_have_value(subject + SUBJECTS[0])
    recipients = (
        page.get_by_label("To:", exact=True).input_value()
        + page.get_by_label("Cc:", exact=True).input_value()
    )
    assert ("carol@example.test" in recipients) is carol_copied
    assert_clean(page)


def test_c_opens_compose(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("c")
    expect(page.get_by_role("heading", name="New message")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/compose/$"))
    assert_clean(page)


def test_slash_focuses_search_and_letters_typed_there_are_only_typed(new_page, bob_mail):
    page = open_inbox(new_page)
    page.evaluate(WATCH_NAVIGATIONS)
    search = page.get_by_role("searchbox", name="Search mail")
    page.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("")  # the "/" was not typed
    page.keyboard.type("jc/xe#?")
    expect(search).to_have_value("jc/xe#?")
    expect(page.locator(".keyboard-cursor")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate("window.__navigations") == []
    expect(page).to_have_url(re.compile(r"/$"))
    assert_clean(page)


def test_x_ticks_the_cursor_rows_checkbox(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    box = row(page, bob_mail[1]).get_by_role("checkbox")
    expect(box).not_to_be_checked()
    page.keyboard.press("x")
    expect(box).to_be_checked()
    expect(row(page, bob_mail[0]).get_by_role("checkbox")).not_to_be_checked()
    page.keyboard.press("x")
    expect(box).not_to_be_checked()
    assert_clean(page)


@pytest.mark.parametrize(
    ("second", "folder", "heading"),
    [("s", "sent", "Sent"), ("d", "drafts", "Drafts"), ("t", "trash", "Trash")],
)
def test_g_then_a_letter_goes_to_the_folder_and_g_i_comes_back(
    new_page, bob_mail, second, folder, heading
):
    page = open_inbox(new_page)
    page.keyboard.press("g")
    page.keyboard.press(second)
    expect(page).to_have_url(re.compile(rf"/mail/folder/{folder}/$"))
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.locator("#shortcuts-button")).to_be_visible()
    page.keyboard.press("g")
    page.keyboard.press("i")
    expect(page).to_have_url(re.compile(r"/mail/folder/inbox/$"))
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert_clean(page)


def test_question_mark_opens_the_help_and_escape_returns_the_focus(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    link = row(page, bob_mail[0]).locator(".row-link")
    expect(link).to_be_focused()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name=re.compile("Keyboard shortcuts"))
    expect(dialog).to_be_visible()
    # Modal: the keys are the dialog's, not the shortcuts'.
    page.keyboard.press("j")
    expect(row(page, bob_mail[0])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()

    # The topbar button opens the same dialog, and gets the focus back.
    button = page.get_by_role("button", name="Keyboard shortcuts")
    button.click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Go to Drafts")
    shot(page, "help", "shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()

    # Its close button closes it too.
    button.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    assert_clean(page)


def test_modifier_keys_are_left_to_the_browser(new_page, bob_mail):
    page = open_inbox(new_page)
    page.evaluate(WATCH_NAVIGATIONS)
    page.keyboard.press("Alt+c")
    page.keyboard.press("Control+j")
    expect(page.locator(".keyboard-cursor")).to_have_count(0)
    assert page.evaluate("window.__navigations") == []
    assert_clean(page)


def test_turned_off_in_the_preferences_no_key_does_anything(new_page, bob_mail):
    User.objects.filter(username="bob").update(keyboard_shortcuts=False)
    page = new_page()
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-shortcuts", "off")
    page.evaluate(WATCH_NAVIGATIONS)
    page.keyboard.press("c")
    page.keyboard.press("j")
    page.keyboard.press("?")
    assert page.evaluate("window.__navigations") == []
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".keyboard-cursor")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#shortcuts-button")).to_be_hidden()
    assert_clean(page)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_cursor_and_the_help_pass_axe(new_page, bob_mail, theme):
    if not AXE.is_file():
        reason = f"axe-core is not installed at {AXE} (run .ci/install-browser.sh)"
        if browser_required():
            pytest.fail(reason)
        pytest.skip(reason)
    User.objects.filter(username="bob").update(theme=theme)
    page = new_page()
    page.context.add_init_script(path=str(AXE))
    log_in(page, "bob")
    expect(page.locator("#shortcuts-button")).to_be_visible()
    page.keyboard.press("j")
    expect(row(page, bob_mail[0])).to_have_class(re.compile(r"\bkeyboard-cursor\b"))
    assert page.evaluate(RUN_AXE) == []
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name=re.compile("Keyboard shortcuts"))).to_be_visible()
    assert page.evaluate(RUN_AXE) == []
    shot(page, f"help-{theme}", "shortcuts")
    assert_clean(page)


def test_v_opens_move_to_for_the_open_message_and_escape_gives_the_focus_back(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[0])).to_be_visible()
    # Whatever has the focus now (the reader's place) is where Escape brings it back.
    page.evaluate("document.activeElement.dataset.before = 'v'")
    before = page.locator("[data-before=v]")
    expect(before).to_have_count(1)

    page.keyboard.press("v")
    menu = reading_pane(page).locator("details.move-to")
    expect(menu).to_have_attribute("open", "")
    folder_list = menu.get_by_label("Move to", exact=True)
    expect(folder_list).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(before).to_be_focused()

    # Opened again, used with the keyboard alone: Archive is its first choice.
    page.keyboard.press("v")
    expect(folder_list).to_be_focused()
    expect(folder_list).to_have_value("archive")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("button", name="Move", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(row(page, bob_mail[0])).to_have_count(0)
    assert Message.objects.get(pk=bob_mail[0].pk).folder == Folder.ARCHIVE
    assert_clean(page)


def test_v_in_the_list_moves_the_cursor_row_through_the_move_menu(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    link = row(page, bob_mail[1]).locator(".row-link")
    expect(link).to_be_focused()

    page.keyboard.press("v")
    # No message was ticked: the cursor's row is, and the list's "Move to" has the focus.
    expect(row(page, bob_mail[1]).get_by_role("checkbox")).to_be_checked()
    folder_list = page.locator("#list-pane").get_by_label("Move to", exact=True)
    expect(folder_list).to_be_focused()
    page.keyboard.press("Escape")
    expect(link).to_be_focused()

    page.keyboard.press("v")
    expect(folder_list).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the "Move" button; the first choice is Archive
    expect(row(page, bob_mail[1])).to_have_count(0)
    assert Message.objects.get(pk=bob_mail[1].pk).folder == Folder.ARCHIVE
    assert Message.objects.get(pk=bob_mail[0].pk).folder == Folder.INBOX
    assert_clean(page)


def test_v_is_listed_in_the_help_and_does_nothing_when_shortcuts_are_off(new_page, bob_mail):
    page = open_inbox(new_page)
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name=re.compile("Keyboard shortcuts"))
    expect(dialog).to_contain_text("Move to a folder")
    page.keyboard.press("Escape")

    User.objects.filter(username="bob").update(keyboard_shortcuts=False)
    page.goto(f"/mail/{bob_mail[0].pk}/")
    expect(reading_pane(page).get_by_role("heading", name=SUBJECTS[0])).to_be_visible()
    page.keyboard.press("v")
    expect(reading_pane(page).locator("details.move-to")).not_to_have_attribute("open", "")
    assert_clean(page)
