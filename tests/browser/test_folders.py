"""Own folders in Chromium: create, rename, nest and delete them on the Folders page, drag
a message onto one, and the "Move to" menu without JavaScript."""

import re

import pytest

from mailbox.models import Folder, Message, UserFolder
from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, shot, store
from tests.browser.test_accessibility import RUN_AXE, UNLABELLED_CONTROLS
from tests.browser.test_accessibility import axe_source as axe_source  # a fixture
from tests.conftest import make_account

pytestmark = pytest.mark.browser


@pytest.fixture
def bob_mail(devmail):
    bob = devmail_user(devmail, "bob")
    account = bob.mail_accounts.get()
    for i, subject in enumerate(["Quarterly report", "Lunch on Friday", "Invoice 42"]):
        store(account, mf.plain(subject, "Hello.\n", date=f"Mon, 2 Mar 2026 1{i}:00:00 +0900"))
    return bob


def sidebar(page):
    return page.get_by_role("navigation", name="Folders")


def row(page, subject: str):
    return (
        page.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text=subject)
    )


def test_create_rename_nest_and_delete_folders(new_page, bob_mail):
    page = new_page()
    log_in(page, "bob")
    sidebar(page).get_by_role("link", name="New folder").click()

    page.get_by_label("Name:", exact=True).fill("Work")
    page.get_by_role("button", name="Create folder").click()
    expect(page.get_by_role("status").filter(has_text="Folder “Work” created.")).to_be_visible()
    page.get_by_label("Name:", exact=True).fill("Clients")
    page.get_by_label("Inside:", exact=True).select_option(label="Work")
    page.get_by_role("button", name="Create folder").click()
    page.get_by_label("Name:", exact=True).fill("Work")
    page.get_by_role("button", name="Create folder").click()
    expect(page.get_by_role("alert")).to_contain_text("There is already a folder named “Work”")

    page.get_by_role("link", name="Edit “Clients”").click()
    page.get_by_label("Name:", exact=True).fill("Customers")
    page.get_by_role("region", name="Edit “Clients”").get_by_role("button", name="Save").click()
    nested = sidebar(page).get_by_role("listitem").filter(has_text="Work")
    expect(nested.get_by_role("link", name="Customers")).to_be_visible()
    shot(page, "folders-settings", "screens")

    # Two messages filed in the subfolder: the dialog counts them.
    Message.objects.filter(subject__in=["Invoice 42", "Lunch on Friday"]).update(
        folder=Folder.USER, user_folder=UserFolder.objects.get(name="Customers")
    )
    page.reload()
    page.get_by_role("link", name="Delete “Work”").click()  # a dialog with JavaScript
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(
        "Its 1 subfolder is deleted too. "
        "2 messages in “Work” and its 1 subfolder will move to Trash. "
        "You can restore them from Trash to the Inbox."
    )
    dialog.get_by_role("button", name="Delete folder").click()
    expect(page.locator("#toasts")).to_contain_text("Folder “Work” deleted")
    expect(sidebar(page).get_by_role("link", name="Customers")).to_have_count(0)
    assert not UserFolder.objects.exists()
    assert Message.objects.filter(folder=Folder.TRASH).count() == 2
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_drag_a_message_onto_a_folder_then_undo(new_page, bob_mail):
    work = UserFolder.objects.create(owner=bob_mail, name="Work")
    page = new_page()
    log_in(page, "bob")
    folder_link = sidebar(page).get_by_role("link", name="Work")

    row(page, "Quarterly report").drag_to(folder_link)

    toast = page.get_by_role("status").filter(has_text="1 message moved to Work.")
    expect(toast).to_be_visible()
    expect(row(page, "Quarterly report")).to_have_count(0)
    expect(folder_link).to_contain_text("1")  # its unread count
    message = Message.objects.get(subject="Quarterly report")
    assert (message.folder, message.user_folder) == (Folder.USER, work)

    toast.get_by_role("button", name="Undo").click()
    expect(row(page, "Quarterly report")).to_have_count(1)
    message.refresh_from_db()
    assert (message.folder, message.user_folder) == (Folder.INBOX, None)

    folder_link.click()
    expect(page.get_by_role("heading", name="Work", level=1)).to_be_visible()
    assert page.record.page_errors == [] and csp_violations(page) == []


def test_move_to_menu_works_without_javascript(new_page, bob_mail):
    work = UserFolder.objects.create(owner=bob_mail, name="Work")
    page = new_page(java_script_enabled=False)
    log_in(page, "bob")

    row(page, "Invoice 42").get_by_role("checkbox").check()
    row(page, "Lunch on Friday").get_by_role("checkbox").check()
    page.get_by_label("Move to", exact=True).select_option(label="Work")
    page.get_by_role("button", name="Move", exact=True).click()

    expect(page.locator("#toasts")).to_contain_text("2 messages moved to Work.")
    expect(row(page, "Invoice 42")).to_have_count(0)
    assert set(
        Message.objects.filter(user_folder=work, folder=Folder.USER).values_list(
            "subject", flat=True
        )
    ) == {"Invoice 42", "Lunch on Friday"}

    sidebar(page).get_by_role("link", name=re.compile("Work")).click()
    row(page, "Invoice 42").get_by_role("link").click()  # the read page, no JavaScript
    article = page.get_by_role("article")
    article.get_by_label("Move to…").click()  # opens the menu (a <details>)
    article.get_by_label("Move to", exact=True).select_option(label="Archive")
    article.get_by_role("button", name="Move", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/mail/folders/{work.pk}/$"))
    assert Message.objects.get(subject="Invoice 42").folder == Folder.ARCHIVE


def test_folder_pages_pass_axe_with_visible_labels(new_page, bob_mail, axe_source):
    work = UserFolder.objects.create(owner=bob_mail, name="Work")
    UserFolder.objects.create(owner=bob_mail, name="Clients", parent=work)
    UserFolder.objects.create(owner=bob_mail, name="Family")
    account = bob_mail.mail_accounts.get()
    other = make_account(bob_mail, email="bob@work.test")
    store(other, mf.plain("From work", "Hi.\n"))
    Message.objects.filter(subject="Invoice 42").update(folder=Folder.USER, user_folder=work)
    page = new_page()
    page.context.add_init_script(path=str(axe_source))
    log_in(page, "bob")
    found = {}
    for name, url in [
        ("inbox-two-accounts", f"/?account={account.pk}"),
        ("own-folder", f"/mail/folders/{work.pk}/"),
        ("folder-settings", "/settings/folders/"),
        ("folder-settings-edit", f"/settings/folders/{work.pk}/"),
        ("folder-delete", f"/settings/folders/{work.pk}/delete/"),
    ]:
        page.goto(url)
        # Visible labels: checked for this page's own controls (the Folders pages' forms,
        # the list's account filter and Move to menu).
        unlabelled = [
            html
            for html in page.evaluate(UNLABELLED_CONTROLS)
            if (("settings" in name or "folder-delete" in name) and 'id="search-' not in html)
            or 'id="account-select"' in html
            or 'id="move-target"' in html
        ]
        problems = page.evaluate(RUN_AXE) + unlabelled
        if problems:
            found[name] = problems
        assert csp_violations(page) == [], name
    assert found == {}
    page.goto(f"/?account={other.pk}")
    expect(row(page, "From work")).to_have_count(1)
    expect(row(page, "Lunch on Friday")).to_have_count(0)
    shot(page, "unified-inbox-one-account", "screens")
