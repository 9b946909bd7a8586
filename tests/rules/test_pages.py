"""Settings › Rules: the list, the editor, ordering, on/off, delete, a rule from a message,
running a rule on existing mail, owner and outsider."""

import pytest
from django.urls import reverse

from mailbox import ingest
from mailbox.models import Folder, Message, Outgoing, UserFolder
from mailcore.rules import Action, Condition
from mailcore.rules import Rule as RuleData
from rules.models import Rule
from tests.rules.helpers import add_rule, wire

pytestmark = pytest.mark.django_db


def editor_post(name="Invoices", conditions=(), actions=(), **extra):
    """The editor's POST data: conditions (field, op, value[, header]), actions (kind[, arg])."""
    data = {
        "name": name,
        "match": extra.pop("match", "all"),
        "enabled": "on",
        "conditions-TOTAL_FORMS": str(len(conditions)),
        "conditions-INITIAL_FORMS": "0",
        "actions-TOTAL_FORMS": str(len(actions)),
        "actions-INITIAL_FORMS": "0",
    }
    for i, (field, op, value, *header) in enumerate(conditions):
        data.update(
            {
                f"conditions-{i}-field": field,
                f"conditions-{i}-op": op,
                f"conditions-{i}-value": value,
                f"conditions-{i}-header_name": header[0] if header else "",
            }
        )
    for i, (kind, *argument) in enumerate(actions):
        data.update(
            {f"actions-{i}-kind": kind, f"actions-{i}-argument": argument[0] if argument else ""}
        )
    data.update(extra)
    return data


def test_a_new_rule_is_saved_at_the_end_of_the_list(alice_client, alice):
    add_rule(alice, "first", [], [("flag",)])
    response = alice_client.post(
        reverse("rule_create"),
        editor_post(
            conditions=[("from", "contains", "billing@"), ("size", "over", "2M")],
            actions=[("move", "Money/Invoices"), ("mark_read",)],
            match="any",
            stop="on",
        ),
    )
    assert response.status_code == 302
    rule = Rule.objects.get(owner=alice, name="Invoices")
    assert rule.position == 1
    assert rule.data == RuleData(
        name="Invoices",
        conditions=[
            Condition("from", "contains", "billing@"),
            Condition("size", "over", "2097152"),
        ],
        actions=[Action("move", "Money/Invoices"), Action("mark_read")],
        match="any",
        stop=True,
    )
    page = alice_client.get(reverse("rule_list")).content.decode()
    assert "Invoices" in page
    assert "From contains “billing@” or Size is larger than “2M”" in page
    assert "mark as read, move to “Money/Invoices”, stop processing more rules" in page


def test_add_condition_without_javascript_shows_one_more_row(alice_client):
    data = editor_post(conditions=[("subject", "contains", "hi")], actions=[("flag",)])
    data["add"] = "conditions"
    response = alice_client.post(reverse("rule_create"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="conditions-1-value"' in page
    assert 'value="hi"' in page
    assert not Rule.objects.exists()


@pytest.mark.parametrize(
    ("conditions", "actions", "message"),
    [
        (
            [("from", "contains", "x")],
            [("forward", "not an address")],
            "Action 1, Folder or address",
        ),
        ([("size", "over", "big")], [("flag",)], "Condition 1, Value: Enter a size in bytes"),
        ([("header", "is", "x", "Bad:Name")], [("flag",)], "Condition 1, Header name"),
        ([("from", "over", "x")], [("flag",)], "Condition 1, Test: Choose one"),
        ([], [("move", "A"), ("trash",)], "A rule can move a message to one folder only."),
        ([], [("move", "A/B/C/D")], "Folders nest at most 3 levels deep."),
    ],
)
def test_errors_name_the_field(alice_client, conditions, actions, message):
    response = alice_client.post(reverse("rule_create"), editor_post("x", conditions, actions))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Rule.objects.exists()


def test_errors_are_in_korean_for_a_korean_user(alice_client, alice):
    alice.language = "ko"
    alice.save()
    response = alice_client.post(
        reverse("rule_create"), editor_post("x", [("size", "over", "big")], [("flag",)])
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "조건 1" in page
    assert "Enter a size" not in page


def test_edit_changes_the_rule_in_place(alice_client, alice):
    rule = add_rule(alice, "old", [("subject", "contains", "a")], [("flag",)])
    page = alice_client.get(reverse("rule_edit", args=[rule.pk])).content.decode()
    assert 'value="old"' in page and 'value="a"' in page
    response = alice_client.post(
        reverse("rule_edit", args=[rule.pk]),
        editor_post("new", [("subject", "contains", "b")], [("mark_read",)]),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.data.conditions[0].value, rule.data.actions) == (
        "new",
        "b",
        (Action("mark_read"),),
    )


def test_move_up_down_toggle_and_delete(alice_client, alice):
    a = add_rule(alice, "a", [], [("flag",)])
    b = add_rule(alice, "b", [], [("flag",)])
    c = add_rule(alice, "c", [], [("flag",)])

    alice_client.post(reverse("rule_move", args=[c.pk]), {"direction": "up"})
    assert list(Rule.objects.values_list("name", flat=True)) == ["a", "c", "b"]
    alice_client.post(reverse("rule_move", args=[a.pk]), {"direction": "down"})
    assert list(Rule.objects.values_list("name", flat=True)) == ["c", "a", "b"]

    alice_client.post(reverse("rule_toggle", args=[b.pk]))
    b.refresh_from_db()
    assert (b.enabled, b.data.enabled) == (False, False)

    assert alice_client.get(reverse("rule_delete", args=[a.pk])).status_code == 200
    alice_client.post(reverse("rule_delete", args=[a.pk]))
    assert list(Rule.objects.values_list("name", "position")) == [("c", 0), ("b", 1)]


def test_an_outsider_gets_404_for_every_rule_page(client, alice, bob):
    rule = add_rule(alice, "private", [], [("flag",)])
    client.force_login(bob)
    for name in ("rule_edit", "rule_delete", "rule_run"):
        assert client.get(reverse(name, args=[rule.pk])).status_code == 404
    for name in ("rule_edit", "rule_toggle", "rule_move", "rule_delete", "rule_run"):
        assert client.post(reverse(name, args=[rule.pk]), {"direction": "up"}).status_code == 404
    rule.refresh_from_db()
    assert (rule.name, rule.enabled) == ("private", True)
    assert "private" not in client.get(reverse("rule_list")).content.decode()
    assert "private" not in client.get(reverse("rule_export")).content.decode()


def test_a_rule_from_a_message_is_prefilled_with_its_sender(alice_client, alice, alice_account):
    message = ingest.store_message(alice_account, wire("Hi", sender="Kim <kim@example.kr>"), "u1")
    page = alice_client.get(reverse("rule_create") + f"?message={message.pk}").content.decode()
    assert 'value="kim@example.kr"' in page
    assert 'value="Kim"' in page


def test_a_rule_from_a_list_message_is_prefilled_with_the_list(alice_client, alice_account):
    raw = wire("Digest", headers=[("List-Id", "Python users <python-list.python.org>")])
    message = ingest.store_message(alice_account, raw, "u1")
    page = alice_client.get(reverse("rule_create") + f"?message={message.pk}").content.decode()
    assert 'value="python-list.python.org"' in page
    assert 'value="List-Id"' in page


def test_a_rule_from_someone_elses_message_is_404(client, bob, alice_account):
    message = ingest.store_message(alice_account, wire("Hi"), "u1")
    client.force_login(bob)
    assert client.get(reverse("rule_create") + f"?message={message.pk}").status_code == 404


def test_the_read_page_offers_to_create_a_rule(alice_client, alice_account):
    message = ingest.store_message(alice_account, wire("Hi"), "u1")
    page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert f'href="/settings/rules/new/?message={message.pk}"' in page


def test_run_on_existing_mail_counts_first_then_applies(alice_client, alice, alice_account):
    for i in range(3):
        ingest.store_message(alice_account, wire(f"Invoice {i}"), f"i{i}")
    ingest.store_message(alice_account, wire("Lunch"), "l")
    rule = add_rule(
        alice,
        "Invoices",
        [("subject", "contains", "invoice")],
        [("move", "Invoices"), ("flag",), ("forward", "books@example.test")],
    )

    page = alice_client.get(reverse("rule_run", args=[rule.pk])).content.decode()
    assert "3 messages in Inbox match this rule." in page
    assert "existing messages are not forwarded" in page
    assert Message.objects.filter(folder=Folder.INBOX).count() == 4  # counting changed nothing

    response = alice_client.post(
        reverse("rule_run", args=[rule.pk]), {"folder": "inbox", "confirm": "1"}
    )
    assert response.status_code == 302
    folder = UserFolder.objects.get(owner=alice, name="Invoices")
    moved = Message.objects.filter(user_folder=folder, folder=Folder.USER, flagged=True)
    assert sorted(moved.values_list("subject", flat=True)) == [f"Invoice {i}" for i in range(3)]
    assert Message.objects.get(subject="Lunch").folder == Folder.INBOX
    assert not Outgoing.objects.exists()


def test_run_in_another_users_folder_is_404(alice_client, alice, bob):
    rule = add_rule(alice, "r", [], [("flag",)])
    bobs = UserFolder.objects.create(owner=bob, name="Bob's")
    url = reverse("rule_run", args=[rule.pk]) + f"?folder=f{bobs.pk}"
    assert alice_client.get(url).status_code == 404


def test_run_looks_at_the_newest_messages_only_and_says_so(
    alice_client, alice, alice_account, monkeypatch
):
    from rules import existing

    monkeypatch.setattr(existing, "MAX_MESSAGES", 2)
    for i in range(3):
        ingest.store_message(alice_account, wire(f"Note {i}"), f"n{i}")
    rule = add_rule(alice, "Notes", [("subject", "contains", "note")], [("flag",)])
    page = alice_client.get(reverse("rule_run", args=[rule.pk])).content.decode()
    assert "2 messages in Inbox match this rule." in page
    assert "Only the newest 2 messages of this folder were looked at." in page
