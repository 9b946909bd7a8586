"""Deleting an own folder says how many messages (and subfolders) go to Trash: on the
confirmation page (no JavaScript) and in the settings page's dialog (each Delete link
carries the server's sentence), plural-aware, in English and Korean."""

import html
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailbox import folders, ingest
from mailbox.models import Folder, Message, UserFolder
from testkit import mailfactory as mf

_uidls = itertools.count(1)


def fill(account, folder: UserFolder, count: int) -> None:
    for _ in range(count):
        message = ingest.store_message(account, mf.plain("hello"), f"summary-{next(_uidls)}")
        Message.objects.filter(pk=message.pk).update(folder=Folder.USER, user_folder=folder)


@pytest.fixture
def projects(alice, alice_account):
    """“Projects” (7 messages) with two subfolders (3 and 2 messages): 12 in all."""
    top = folders.create(alice, "Projects")
    fill(alice_account, top, 7)
    fill(alice_account, folders.create(alice, "Alpha", parent=top), 3)
    fill(alice_account, folders.create(alice, "Beta", parent=top), 2)
    return top


def delete_link_summary(page: str, name: str) -> str:
    link = re.search(rf'data-delete-folder="{name}" data-delete-summary="([^"]*)"', page)
    assert link, f"no Delete link for {name}"
    return html.unescape(link.group(1))


def test_the_confirmation_page_counts_the_messages_and_subfolders(alice_client, projects):
    page = alice_client.get(reverse("folder_delete", args=[projects.pk])).content.decode()

    assert "Its 2 subfolders are deleted too." in page
    assert "12 messages in “Projects” and its 2 subfolders will move to Trash." in page
    assert "You can restore them from Trash to the Inbox." in page


def test_the_counts_are_singular_for_one(alice, alice_client, alice_account):
    top = folders.create(alice, "Receipts")
    fill(alice_account, top, 1)
    folders.create(alice, "2025", parent=top)

    page = alice_client.get(reverse("folder_delete", args=[top.pk])).content.decode()

    assert "Its 1 subfolder is deleted too." in page
    assert "1 message in “Receipts” and its 1 subfolder will move to Trash." in page
    assert "You can restore it from Trash to the Inbox." in page


def test_an_empty_folder_says_there_is_no_mail(alice, alice_client):
    empty = folders.create(alice, "Empty")

    page = alice_client.get(reverse("folder_delete", args=[empty.pk])).content.decode()

    assert "There is no mail in “Empty”." in page
    assert "move to Trash" not in page


def test_each_delete_link_carries_its_folders_sentence_for_the_dialog(alice_client, projects):
    page = alice_client.get(reverse("folder_settings")).content.decode()

    assert delete_link_summary(page, "Projects") == (
        "Its 2 subfolders are deleted too. "
        "12 messages in “Projects” and its 2 subfolders will move to Trash. "
        "You can restore them from Trash to the Inbox."
    )
    assert delete_link_summary(page, "Alpha") == (
        "3 messages in “Alpha” will move to Trash. You can restore them from Trash to the Inbox."
    )
    # The dialog the script fills in is on the page, with its place for the sentence.
    assert "data-folder-delete-summary" in page


def test_the_settings_page_counts_take_the_same_queries_for_more_folders(
    alice, alice_client, alice_account, projects
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(reverse("folder_settings")).status_code == 200
        return len(captured)

    queries()  # warm the session and the user
    before = queries()
    for name in ("Gamma", "Delta", "Epsilon"):
        fill(alice_account, folders.create(alice, name, parent=projects), 2)
    assert queries() == before


def test_the_sentence_is_in_korean_for_a_korean_reader(alice_client, projects):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"

    confirm = alice_client.get(reverse("folder_delete", args=[projects.pk])).content.decode()
    settings_page = alice_client.get(reverse("folder_settings")).content.decode()

    expected = "“Projects” 및 하위 폴더 2개의 메일 12통이 휴지통으로 이동합니다."
    assert expected in confirm
    assert expected in delete_link_summary(settings_page, "Projects")


def test_deleting_moves_exactly_the_counted_messages(alice, alice_client, projects):
    alice_client.post(reverse("folder_delete", args=[projects.pk]))

    assert Message.objects.filter(owner=alice, folder=Folder.TRASH).count() == 12
    assert not UserFolder.objects.filter(owner=alice).exists()


def test_another_users_folder_is_not_found(client, bob, projects):
    client.force_login(bob)
    assert client.get(reverse("folder_delete", args=[projects.pk])).status_code == 404
