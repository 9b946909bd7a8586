"""New mail without reloading, in Chromium: the open page asks /mail/status/ and shows it.

A message is stored while bob's page is open (as a poll by the worker would), and
then, with no page load: its row appears in the list, the title's count and the
favicon's badge go up, the message open in the reading pane stays open, and with
desktop notifications turned on the browser announces sender and subject.
"""

import datetime as dt
import re
from email.utils import format_datetime

import pytest

from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, shot, store
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser

# Records each notification the page creates; permission stays the browser's own
# (granted to the context by the test, or not).
NOTIFICATION_STUB = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notifications = [];
  window.__permissionRequests = 0;
  class Recorded {
    constructor(title, options) {
      const o = options || {};
      window.__notifications.push({title: title, body: o.body, tag: o.tag});
    }
    addEventListener() {}
    close() {}
    static get permission() { return Real.permission; }
    static requestPermission(callback) {
      window.__permissionRequests += 1;
      return Real.requestPermission(callback);
    }
  }
  window.Notification = Recorded;
})();
"""


def dated(hours_ago: float = 0) -> str:
    return format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago))


def mail(subject: str, sender: str, hours_ago: float = 0) -> bytes:
    return mf.plain(
        subject,
        f"About {subject}.\n",
        from_=sender,
        to="Bob <bob@example.test>",
        date=dated(hours_ago),
        message_id=f"<{abs(hash(subject))}@example.test>",
    )


def bob_with_mail():
    """bob, one read and two unread messages in his Inbox."""
    bob = make_user("bob")
    account = make_account(bob)
    read = store(account, mail("Minutes of Monday", "Alice <alice@example.test>", 3), seen=True)
    store(account, mail("Budget draft", "Carol <carol@example.test>", 2))
    store(account, mail("Travel plans", "Dave <dave@example.test>", 1))
    return account, read


def favicon(page) -> str:
    return page.locator("link[rel~=icon]").get_attribute("href")


def assert_clean(page) -> None:
    assert page.record.page_errors == []
    assert page.record.foreign == []
    assert page.record.dialogs == []
    assert csp_violations(page) == []


def test_new_mail_shows_in_list_title_and_favicon_without_reload(new_page, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 1
    account, read = bob_with_mail()
    page = new_page()
    log_in(page, "bob")
    expect(page).to_have_title("(2) Inbox · Webmail")

    # bob reads a message; the page's first poll has drawn the count on the favicon.
    page.locator("#message-list").get_by_role("link", name="Minutes of Monday").click()
    reading = page.locator("#reading-pane")
    expect(reading.get_by_role("heading", name="Minutes of Monday")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/mail/{read.pk}/$"))
    expect(page.locator("link[rel~=icon]")).to_have_attribute(
        "href", re.compile(r"^data:image/png")
    )
    badge_of_two = favicon(page)
    title = page.title()
    assert title.startswith("(2) ")
    # Markers that a page load would wipe: a global, and the reading pane's own node.
    page.evaluate("""() => {
        window.__sameDocument = "yes";
        document.querySelector("#reading-pane [data-message-id]").dataset.kept = "yes";
    }""")
    mark = page.record.mark()

    store(account, mail("Fresh news", "Dana <dana@example.test>"))

    row = page.locator("#message-list li").filter(has_text="Fresh news")
    expect(row).to_be_visible()
    expect(row).to_have_class(re.compile(r"\bunread\b"))
    expect(row).to_contain_text("Dana")
    expect(page.locator("#message-list li").first).to_contain_text("Fresh news")
    expect(page).to_have_title("(3) " + title.removeprefix("(2) "))
    expect(page.locator("link[rel~=icon]")).not_to_have_attribute("href", badge_of_two)
    assert favicon(page).startswith("data:image/png;base64,")
    expect(page.locator("#folder-list [data-folder=inbox] .badge")).to_have_attribute(
        "data-unread", "3"
    )

    # No page load: the marker survived, the open message is the same node, still open.
    assert page.evaluate("window.__sameDocument") == "yes"
    expect(reading.locator(f"[data-message-id='{read.pk}']")).to_have_attribute("data-kept", "yes")
    expect(reading.get_by_role("heading", name="Minutes of Monday")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/mail/{read.pk}/$"))
    expect(page.locator(f"#row-{read.pk}")).to_have_class(re.compile(r"\bcurrent\b"))
    assert page.record.since(mark, "navigations") == []
    shot(page, "new-mail-arrived", "newmail")
    assert_clean(page)


def test_desktop_notification_names_sender_and_subject(new_page, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 1
    account, _ = bob_with_mail()
    page = new_page()
    page.context.grant_permissions(["notifications"])
    page.context.add_init_script(NOTIFICATION_STUB)
    log_in(page, "bob")

    button = page.get_by_role("button", name="Enable desktop notifications")
    expect(button).to_be_visible()
    # Nothing is asked before the click.
    assert page.evaluate("window.__permissionRequests") == 0
    button.click()
    expect(
        page.get_by_role("status").filter(has_text="Desktop notifications are on")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Turn off desktop notifications")).to_be_visible()
    assert page.evaluate("window.__permissionRequests") == 0  # already granted: not asked
    # The page's first poll is done (it drew the badge): what comes next is new.
    expect(page.locator("link[rel~=icon]")).to_have_attribute("href", re.compile(r"^data:"))

    arrived = store(account, mail("Quarterly numbers", "Erin <erin@example.test>"))

    expect(
        page.locator("#message-list").get_by_role("link", name="Quarterly numbers")
    ).to_be_visible()
    page.wait_for_function("window.__notifications.length > 0")
    assert page.evaluate("window.__notifications") == [
        {"title": "Erin", "body": "Quarterly numbers", "tag": f"webmail-message-{arrived.pk}"}
    ]

    # The choice is kept across pages, and can be undone.
    page.reload()
    page.get_by_role("button", name="Turn off desktop notifications").click()
    expect(page.get_by_role("button", name="Enable desktop notifications")).to_be_visible()
    store(account, mail("Not announced", "Frank <frank@example.test>"))
    expect(page.locator("#message-list").get_by_role("link", name="Not announced")).to_be_visible()
    assert page.evaluate("window.__notifications") == []
    assert_clean(page)


def test_notifications_ask_for_permission_only_when_clicked(new_page):
    bob_with_mail()
    page = new_page()
    page.context.add_init_script(NOTIFICATION_STUB)
    log_in(page, "bob")
    button = page.get_by_role("button", name="Enable desktop notifications")
    expect(button).to_be_visible()
    assert page.evaluate("window.__permissionRequests") == 0
    button.click()
    # Headless Chromium answers an ungranted request itself; it was asked by the click.
    page.wait_for_function("window.__permissionRequests === 1")
    expect(page.locator("#notify-status")).not_to_be_empty()
    assert_clean(page)


def test_check_mail_now_shows_new_mail_at_once(new_page, devmail, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 600  # only "Check mail now" can bring it in time
    devmail_user(devmail, "bob")
    page = new_page()
    log_in(page, "bob")
    expect(page.get_by_text("No mail yet")).to_be_visible()
    expect(page).to_have_title("Inbox · Webmail")
    page.evaluate("window.__sameDocument = 'yes'")

    devmail.deliver("bob@example.test", mail("Over POP3", "Grace <grace@example.test>"))
    page.get_by_role("button", name="Check mail now").click()

    expect(page.locator("#message-list").get_by_role("link", name="Over POP3")).to_be_visible()
    expect(page).to_have_title("(1) Inbox · Webmail")
    # What "Check mail now" said is still there for screen readers after the refresh.
    expect(page.locator("#check-mail-status")).to_contain_text("1 new message.")
    assert page.evaluate("window.__sameDocument") == "yes"
    assert_clean(page)


def test_selected_rows_are_not_swept_away(new_page, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 1
    account, read = bob_with_mail()
    page = new_page()
    log_in(page, "bob")
    expect(page).to_have_title("(2) Inbox · Webmail")
    box = page.get_by_role("checkbox", name="Select “Minutes of Monday”")
    box.check()
    mark = page.record.mark()

    store(account, mail("Wait for me", "Heidi <heidi@example.test>"))

    expect(page).to_have_title("(3) Inbox · Webmail")  # a poll saw it...
    # ...and the next poll starts only after that one has chosen whether to refresh.
    with page.expect_request(re.compile(r"/mail/status/")):
        pass
    assert not [r for r in page.record.since(mark, "requests") if "/mail/folder/" in r[1]]
    expect(box).to_be_checked()
    expect(page.locator("#message-list").get_by_role("link", name="Wait for me")).to_have_count(0)
    assert_clean(page)


def test_without_notification_support_the_button_stays_hidden(new_page):
    bob_with_mail()
    page = new_page()
    page.context.add_init_script("delete window.Notification;")
    log_in(page, "bob")
    expect(page.locator("link[rel~=icon]")).to_have_attribute("href", re.compile(r"^data:"))
    expect(page.locator("#notify-button")).to_be_hidden()
    assert_clean(page)


def test_without_javascript_the_title_counts_and_the_button_stays_hidden(new_page):
    bob_with_mail()
    page = new_page(java_script_enabled=False)
    log_in(page, "bob")
    expect(page).to_have_title("(2) Inbox · Webmail")
    expect(page.locator("#notify-button")).to_be_hidden()
    assert favicon(page).endswith("/icons/app.svg")


def test_refresh_keeps_the_focus_and_an_undo_toast(new_page, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 1
    account, read = bob_with_mail()
    page = new_page()
    log_in(page, "bob")
    travel = page.locator("#message-list li").filter(has_text="Travel plans")
    travel.hover()  # the row's buttons show on hover and focus
    travel.get_by_role("button", name="Archive").click()
    undo = page.locator("#toasts").get_by_role("button", name="Undo")
    expect(undo).to_be_visible()
    expect(travel).to_have_count(0)
    page.locator(f"#row-{read.pk} .row-link").focus()

    store(account, mail("Arrived meanwhile", "Ivan <ivan@example.test>"))

    expect(
        page.locator("#message-list").get_by_role("link", name="Arrived meanwhile")
    ).to_be_visible()
    # The keyboard user is where they were, and can still undo.
    expect(page.locator(f"#row-{read.pk} .row-link")).to_be_focused()
    expect(undo).to_be_visible()
    undo.click()
    expect(page.locator("#message-list li").filter(has_text="Travel plans")).to_be_visible()
    assert_clean(page)


def test_new_mail_dated_before_the_newest_row_still_appears(new_page, settings):
    settings.WEBMAIL_NEW_MAIL_SECONDS = 1
    account, _ = bob_with_mail()
    page = new_page()
    log_in(page, "bob")
    expect(page.locator("link[rel~=icon]")).to_have_attribute("href", re.compile(r"^data:"))
    page.evaluate("window.__sameDocument = 'yes'")

    # Delivered late: its Date sorts it under "Travel plans", so the newest row is the same.
    store(account, mail("Delayed by a relay", "Judy <judy@example.test>", 1.5))

    rows = page.locator("#message-list li")
    expect(rows.nth(1)).to_contain_text("Delayed by a relay")
    expect(rows.first).to_contain_text("Travel plans")
    expect(page).to_have_title("(3) Inbox · Webmail")
    assert page.evaluate("window.__sameDocument") == "yes"
    assert_clean(page)
