"""Own folders: create, rename, nest, reorder, delete (never losing mail); moving mail into
them; their pages and the sidebar; per-account delivery; the unified inbox's filter."""

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mailbox import actions, folders, ingest
from mailbox.models import AccountDelivery, Folder, Message, UserFolder
from testkit import mailfactory as mf
from tests.conftest import dovecot_account, make_account

_uidls = itertools.count(1)


def store(account, subject="hello", **fields) -> Message:
    message = ingest.store_message(account, mf.plain(subject), f"folders-{next(_uidls)}")
    if fields:
        Message.objects.filter(pk=message.pk).update(**fields)
        message.refresh_from_db()
    return message


def field_errors(raised: pytest.ExceptionInfo) -> set[str]:
    return set(raised.value.message_dict)


# Domain: creating, naming, nesting ---------------------------------------------------


def test_folders_nest_and_list_in_order(alice):
    work = folders.create(alice, "Work")
    clients = folders.create(alice, "Clients", parent=work)
    folders.create(alice, "Acme", parent=clients)
    folders.create(alice, "Family")

    assert [(n.path, n.depth) for n in folders.flat(alice)] == [
        ("Work", 1),
        ("Work / Clients", 2),
        ("Work / Clients / Acme", 3),
        ("Family", 1),
    ]


def test_a_fourth_level_is_refused_on_the_parent_field(alice):
    a = folders.create(alice, "A")
    b = folders.create(alice, "B", parent=a)
    c = folders.create(alice, "C", parent=b)

    with pytest.raises(ValidationError) as raised:
        folders.create(alice, "D", parent=c)

    assert field_errors(raised) == {"parent"}


def test_moving_a_subtree_may_not_make_it_too_deep(alice):
    a = folders.create(alice, "A")
    b = folders.create(alice, "B", parent=a)
    x = folders.create(alice, "X")
    folders.create(alice, "Y", parent=x)

    with pytest.raises(ValidationError) as raised:
        folders.update(alice, x, "X", parent=b)  # X/Y under A/B: four levels

    assert field_errors(raised) == {"parent"}


def test_a_folder_cannot_go_inside_its_own_subfolder(alice):
    a = folders.create(alice, "A")
    b = folders.create(alice, "B", parent=a)

    with pytest.raises(ValidationError) as raised:
        folders.update(alice, a, "A", parent=b)

    assert field_errors(raised) == {"parent"}
    a.refresh_from_db()
    assert a.parent is None


@pytest.mark.parametrize("name", ["", "   ", "Work/Clients"])
def test_empty_names_and_slashes_are_refused_on_the_name_field(alice, name):
    with pytest.raises(ValidationError) as raised:
        folders.create(alice, name)

    assert field_errors(raised) == {"name"}
    assert not UserFolder.objects.exists()


def test_names_are_unique_among_siblings_only(alice, bob):
    work = folders.create(alice, "Work")
    folders.create(alice, "Archive 2025", parent=work)
    folders.create(alice, "Archive 2025")  # another parent: fine
    folders.create(bob, "Work")  # another user: fine

    with pytest.raises(ValidationError) as raised:
        folders.create(alice, "work")

    assert field_errors(raised) == {"name"}


def test_rename_keeps_the_folder_and_its_mail(alice, alice_account):
    work = folders.create(alice, "Work")
    message = store(alice_account)
    actions.move_to(alice, [message.pk], folders.user_key(work.pk))

    folders.update(alice, work, "  Office  ", parent=None)

    work.refresh_from_db()
    message.refresh_from_db()
    assert work.name == "Office"
    assert message.user_folder == work


def test_reorder_moves_a_folder_among_its_siblings(alice):
    a, b, c = (folders.create(alice, name) for name in "ABC")

    assert folders.reorder(alice, c, -1)
    assert [n.name for n in folders.flat(alice)] == ["A", "C", "B"]
    assert folders.reorder(alice, a, +1)
    assert [n.name for n in folders.flat(alice)] == ["C", "A", "B"]
    assert not folders.reorder(alice, b, +1)  # already last


# Domain: moving mail, Trash and Restore, deleting --------------------------------------


def test_moving_into_an_own_folder_and_back_to_the_inbox(alice, alice_account):
    work = folders.create(alice, "Work")
    message = store(alice_account)

    assert actions.move_to(alice, [message.pk], folders.user_key(work.pk)) == 1
    message.refresh_from_db()
    assert (message.folder, message.user_folder) == (Folder.USER, work)

    actions.move_to(alice, [message.pk], Folder.INBOX)
    message.refresh_from_db()
    assert (message.folder, message.user_folder) == (Folder.INBOX, None)


def test_nobody_moves_mail_into_someone_elses_folder(alice, alice_account, bob):
    bobs = folders.create(bob, "Bob's")
    message = store(alice_account)

    assert actions.move_to(alice, [message.pk], folders.user_key(bobs.pk)) == 0
    message.refresh_from_db()
    assert (message.folder, message.user_folder) == (Folder.INBOX, None)


def test_trash_from_an_own_folder_and_restore_goes_back_there(alice, alice_account):
    work = folders.create(alice, "Work")
    message = store(alice_account)
    actions.move_to(alice, [message.pk], folders.user_key(work.pk))

    actions.move_to_trash(alice, [message.pk])
    message.refresh_from_db()
    assert (message.folder, message.trashed_from, message.user_folder) == (
        Folder.TRASH,
        Folder.USER,
        work,
    )

    actions.restore(alice, [message.pk])
    message.refresh_from_db()
    assert (message.folder, message.user_folder, message.trashed_from) == (Folder.USER, work, "")


def test_deleting_a_folder_moves_its_and_its_subfolders_mail_to_trash(alice, alice_account):
    work = folders.create(alice, "Work")
    clients = folders.create(alice, "Clients", parent=work)
    keep = folders.create(alice, "Keep")
    in_work, in_clients, in_keep = store(alice_account), store(alice_account), store(alice_account)
    actions.move_to(alice, [in_work.pk], folders.user_key(work.pk))
    actions.move_to(alice, [in_clients.pk], folders.user_key(clients.pk))
    actions.move_to(alice, [in_keep.pk], folders.user_key(keep.pk))

    assert folders.delete(alice, work) == 2

    assert list(UserFolder.objects.filter(owner=alice)) == [keep]
    trashed = Message.objects.filter(pk__in=[in_work.pk, in_clients.pk])
    assert {(m.folder, m.trashed_from, m.user_folder_id) for m in trashed} == {
        (Folder.TRASH, Folder.INBOX, None)
    }
    actions.restore(alice, [in_work.pk, in_clients.pk])
    assert set(trashed.values_list("folder", flat=True)) == {Folder.INBOX}
    in_keep.refresh_from_db()
    assert in_keep.user_folder == keep


def test_mail_trashed_from_a_folder_deleted_later_restores_to_the_inbox(alice, alice_account):
    work = folders.create(alice, "Work")
    message = store(alice_account)
    actions.move_to(alice, [message.pk], folders.user_key(work.pk))
    actions.move_to_trash(alice, [message.pk])

    folders.delete(alice, work)
    actions.restore(alice, [message.pk])

    message.refresh_from_db()
    assert (message.folder, message.user_folder, message.trashed_from) == (Folder.INBOX, None, "")


# Pages ------------------------------------------------------------------------------


def test_folder_page_lists_only_that_folders_mail(alice_client, alice, alice_account):
    work = folders.create(alice, "Work")
    inside = store(alice_account, "in the folder")
    store(alice_account, "in the inbox")
    actions.move_to(alice, [inside.pk], folders.user_key(work.pk))

    response = alice_client.get(reverse("user_folder", args=[work.pk]))

    assert [m.subject for m in response.context["page"].messages] == ["in the folder"]
    assert response.context["folder_label"] == "Work"
    html = response.content.decode()
    assert f'aria-current="page" data-folder="user:{work.pk}"' in html


def test_someone_elses_folder_page_is_not_found(client, bob, alice):
    work = folders.create(alice, "Work")
    client.force_login(bob)

    for url in (
        reverse("user_folder", args=[work.pk]),
        reverse("folder_edit", args=[work.pk]),
        reverse("folder_delete", args=[work.pk]),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("folder_delete", args=[work.pk])).status_code == 404
    assert (
        client.post(reverse("folder_reorder", args=[work.pk]), {"direction": "up"}).status_code
        == 404
    )
    assert UserFolder.objects.filter(pk=work.pk).exists()


def test_sidebar_shows_nested_folders_with_unread_counts(alice_client, alice, alice_account):
    work = folders.create(alice, "Work")
    clients = folders.create(alice, "Clients", parent=work)
    unread, read = store(alice_account), store(alice_account, seen=True)
    actions.move_to(alice, [unread.pk, read.pk], folders.user_key(clients.pk))

    html = alice_client.get(reverse("home")).content.decode()

    work_at, clients_at = html.index("<bdi>Work</bdi>"), html.index("<bdi>Clients</bdi>")
    assert work_at < clients_at
    nested = html[work_at:clients_at]
    assert '<ul class="folder-list folder-tree">' in nested  # Clients inside Work's item
    after = html[clients_at : html.index("</a>", clients_at)]
    assert 'data-unread="1"' in after
    for name, icon in (("junk", "shield-alert"), ("snoozed", "clock")):
        link = html[html.index(f'data-folder="{name}"') :]
        assert link[: link.index("</a>")].count(f'#{icon}"></use>') == 1


def test_inbox_and_folder_pages_cost_the_same_queries_with_many_folders(
    alice_client, alice, alice_account, django_assert_num_queries
):
    def measure(url):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(url).status_code == 200
        return len(captured)

    first = folders.create(alice, "First")
    for i in range(3):
        store(alice_account, f"m{i}")
    inbox, folder_page = reverse("home"), reverse("user_folder", args=[first.pk])
    inbox_queries, folder_queries = measure(inbox), measure(folder_page)

    parent = first
    for i in range(8):
        child = folders.create(alice, f"F{i}", parent=parent if i % 3 else None)
        parent = child if i % 3 else first
        moved = store(alice_account, f"x{i}")
        actions.move_to(alice, [moved.pk], folders.user_key(child.pk))
    actions.move_to(
        alice,
        Message.objects.filter(subject="m0").values_list("pk", flat=True),
        f"user:{first.pk}",
    )

    with django_assert_num_queries(inbox_queries):
        alice_client.get(inbox)
    with django_assert_num_queries(folder_queries):
        alice_client.get(folder_page)


# Moving from the list and the reading pane ------------------------------------------


def test_move_to_menu_moves_selected_mail_and_offers_undo(alice_client, alice, alice_account):
    work = folders.create(alice, "Work")
    message = store(alice_account)
    data = {
        "action": "move_to",
        "target": f"user:{work.pk}",
        "ids": [message.pk],
        "folder": "inbox",
    }

    response = alice_client.post(reverse("bulk_action"), data, follow=True)

    message.refresh_from_db()
    assert message.user_folder == work
    html = response.content.decode()
    assert "1 message moved to Work." in html
    assert '<input type="hidden" name="target" value="inbox">' in html  # Undo
    alice_client.post(
        reverse("bulk_action"), {"action": "move", "target": "inbox", "ids": [message.pk]}
    )
    message.refresh_from_db()
    assert (message.folder, message.user_folder) == (Folder.INBOX, None)


def test_moving_out_of_an_own_folder_in_place_returns_that_folders_list(
    alice_client, alice, alice_account
):
    work = folders.create(alice, "Work")
    leaving, staying = store(alice_account, "leaving"), store(alice_account, "staying")
    actions.move_to(alice, [leaving.pk, staying.pk], f"user:{work.pk}")

    response = alice_client.post(
        reverse("bulk_action"),
        {"action": "archive", "ids": [leaving.pk], "folder": f"user:{work.pk}"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list-pane",
    )

    assert [m.subject for m in response.context["page"].messages] == ["staying"]
    html = response.content.decode()
    assert '<h1 id="folder-title" class="toolbar-title">Work</h1>' in html
    assert f'<input type="hidden" name="target" value="user:{work.pk}">' in html  # Undo


def test_move_to_someone_elses_folder_is_a_form_error(alice_client, alice_account, bob):
    bobs = folders.create(bob, "Bob's")
    message = store(alice_account)

    response = alice_client.post(
        reverse("bulk_action"),
        {"action": "move_to", "target": f"user:{bobs.pk}", "ids": [message.pk]},
        follow=True,
    )

    message.refresh_from_db()
    assert message.folder == Folder.INBOX
    assert 'class="toast error"' in response.content.decode()


def test_reading_pane_offers_move_to_and_returns_to_the_folder(alice_client, alice, alice_account):
    work = folders.create(alice, "Work")
    message = store(alice_account)
    actions.move_to(alice, [message.pk], f"user:{work.pk}")

    html = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert 'id="message-move-target"' in html
    assert f'href="{reverse("user_folder", args=[work.pk])}"' in html  # back to Work

    response = alice_client.post(
        reverse("message_action", args=[message.pk]), {"action": "move_to", "target": "archive"}
    )
    assert response.url == reverse("user_folder", args=[work.pk])
    message.refresh_from_db()
    assert (message.folder, message.user_folder) == (Folder.ARCHIVE, None)


# The Folders settings page ------------------------------------------------------------


def test_settings_create_rename_nest_and_delete(alice_client, alice, alice_account):
    url = reverse("folder_settings")
    assert alice_client.post(url, {"name": "Work"}).status_code == 302
    work = UserFolder.objects.get(owner=alice, name="Work")
    alice_client.post(url, {"name": "Clients", "parent": work.pk})
    clients = UserFolder.objects.get(name="Clients")
    assert clients.parent == work

    alice_client.post(
        reverse("folder_edit", args=[clients.pk]), {"name": "Customers", "parent": ""}
    )
    clients.refresh_from_db()
    assert (clients.name, clients.parent) == ("Customers", None)

    message = store(alice_account)
    actions.move_to(alice, [message.pk], f"user:{work.pk}")
    page = alice_client.get(reverse("folder_delete", args=[work.pk])).content.decode()
    assert "1 message in “Work” will move to Trash." in page
    alice_client.post(reverse("folder_delete", args=[work.pk]))
    assert not UserFolder.objects.filter(pk=work.pk).exists()
    message.refresh_from_db()
    assert message.folder == Folder.TRASH


def test_settings_shows_a_duplicate_name_error_on_the_name_field(alice_client, alice):
    folders.create(alice, "Work")

    response = alice_client.post(reverse("folder_settings"), {"name": "Work"})

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        "There is already a folder named “Work” there."
    ]


def test_system_folders_are_not_offered_for_editing(alice_client, alice):
    folders.create(alice, "Work")
    html = alice_client.get(reverse("folder_settings")).content.decode()
    admin = html[
        html.index('class="folder-admin"') : html.index(
            "</section>", html.index('class="folder-admin"')
        )
    ]
    assert "Work" in admin
    assert not any(f">{label}<" in admin for label in ("Inbox", "Trash", "Sent"))


# Per-account delivery -------------------------------------------------------------------


def test_delivery_setting_is_saved_for_an_own_account_and_folder(
    alice_client, alice, alice_account
):
    work = folders.create(alice, "Work")
    prefix = f"account-{alice_account.pk}"

    alice_client.post(
        reverse("delivery_save", args=[alice_account.pk]),
        {f"{prefix}-folder": work.pk, f"{prefix}-mark_read": "on"},
    )

    delivery = AccountDelivery.objects.get(account=alice_account)
    assert (delivery.folder, delivery.mark_read) == (work, True)


def test_delivery_refuses_someone_elses_folder_and_account(
    alice_client, alice_account, bob_account
):
    bobs = folders.create(bob_account.user, "Bob's")
    prefix = f"account-{alice_account.pk}"

    response = alice_client.post(
        reverse("delivery_save", args=[alice_account.pk]), {f"{prefix}-folder": bobs.pk}
    )
    assert response.status_code == 200 and response.context is not None
    assert not AccountDelivery.objects.exists()
    assert alice_client.post(reverse("delivery_save", args=[bob_account.pk])).status_code == 404


@pytest.mark.dovecot
def test_a_poll_delivers_into_the_chosen_folder_read(alice, dovecot, pop3_user):
    work = folders.create(alice, "Work")
    pop3_user.deliver(mf.plain("for the folder"))
    account = dovecot_account(alice, dovecot, pop3_user)
    AccountDelivery.objects.create(account=account, folder=work, mark_read=True)

    assert ingest.poll_account(account.pk).new == 1

    message = Message.objects.get(account=account)
    assert (message.folder, message.user_folder, message.seen) == (Folder.USER, work, True)


# The unified inbox ------------------------------------------------------------------


def test_inbox_shows_every_account_and_filters_by_one(alice_client, alice, alice_account):
    other = make_account(alice, email="alice@work.test")
    store(alice_account, "home mail")
    store(other, "work mail")

    everything = alice_client.get(reverse("home"))
    assert {m.subject for m in everything.context["page"].messages} == {"home mail", "work mail"}
    assert 'id="account-select"' in everything.content.decode()

    one = alice_client.get(reverse("home"), {"account": other.pk})
    assert [m.subject for m in one.context["page"].messages] == ["work mail"]
    assert one.context["list_query"] == f"account={other.pk}"


def test_account_filter_ignores_someone_elses_account(
    alice_client, alice, alice_account, bob_account
):
    make_account(alice, email="alice@work.test")
    store(alice_account, "home mail")
    store(bob_account, "bob's mail")

    response = alice_client.get(reverse("home"), {"account": bob_account.pk})

    assert [m.subject for m in response.context["page"].messages] == ["home mail"]
    assert "bob@example.test" not in response.content.decode()
