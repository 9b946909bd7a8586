"""The address book's pages: create, edit, delete, search, groups, merge, collected
addresses, the contact page's messages, and that nobody reaches another user's rows."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import editing, finding
from contacts.models import CollectedAddress, Contact, ContactEmail, ContactGroup
from mailbox.models import Folder
from tests.conftest import make_account

from .helpers import add_contact, add_message

pytestmark = pytest.mark.django_db


def contact_post(**fields):
    data = {
        "display_name": "",
        "korean_name": "",
        "latin_name": "",
        "organization": "",
        "phone": "",
        "notes": "",
        "emails-TOTAL_FORMS": "0",
        "emails-INITIAL_FORMS": "0",
        "emails-MIN_NUM_FORMS": "0",
        "emails-MAX_NUM_FORMS": "20",
    }
    addresses = fields.pop("addresses", [])
    for index, (address, preferred) in enumerate(addresses):
        data[f"emails-{index}-address"] = address
        if preferred:
            data[f"emails-{index}-preferred"] = "on"
    data["emails-TOTAL_FORMS"] = str(len(addresses))
    data.update(fields)
    return data


# --------------------------------------------------------------------------- CRUD


def test_create_contact_with_several_addresses_one_preferred(alice_client, alice):
    response = alice_client.post(
        reverse("contacts:contact_create"),
        contact_post(
            display_name="김지현",
            korean_name="김지현",
            latin_name="Kim Jihyun",
            addresses=[("jihyun@work.example", False), ("Jihyun@Home.example", True)],
        ),
    )
    contact = Contact.objects.get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:contact_detail", args=[contact.pk])
    emails = {e.address: e.preferred for e in contact.emails.all()}
    assert emails == {"jihyun@work.example": False, "Jihyun@Home.example": True}
    assert set(contact.emails.values_list("address_key", flat=True)) == {
        "jihyun@work.example",
        "jihyun@home.example",
    }


def test_first_address_is_preferred_when_none_is_marked(alice_client, alice):
    alice_client.post(
        reverse("contacts:contact_create"),
        contact_post(
            display_name="Bob", addresses=[("a@x.example", False), ("b@x.example", False)]
        ),
    )
    assert ContactEmail.objects.get(owner=alice, preferred=True).address == "a@x.example"


@pytest.mark.parametrize(
    "address, error",
    [("bob@x.example\r\nBcc: victim@y.example", "line breaks"), ("not an address", "not a valid")],
)
def test_bad_address_is_a_form_error_naming_the_field(alice_client, alice, address, error):
    response = alice_client.post(
        reverse("contacts:contact_create"),
        contact_post(display_name="Bob", addresses=[("ok@x.example", True), (address, False)]),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Email address 2" in html
    assert error in html
    assert not Contact.objects.filter(owner=alice).exists()


def test_line_break_in_a_name_is_a_form_error(alice_client, alice):
    response = alice_client.post(
        reverse("contacts:contact_create"),
        contact_post(display_name="Bob\r\nBcc: x@y.example", addresses=[("b@x.example", True)]),
    )
    assert response.status_code == 400
    assert "Display name" in response.content.decode()
    assert not Contact.objects.filter(owner=alice).exists()


def test_add_another_address_row_without_javascript(alice_client, alice):
    response = alice_client.post(
        reverse("contacts:contact_create"),
        contact_post(display_name="Bob", addresses=[("b@x.example", True)], add_address="1"),
    )
    assert response.status_code == 200
    assert 'name="emails-1-address"' in response.content.decode()
    assert not Contact.objects.filter(owner=alice).exists()


def test_edit_replaces_addresses_and_groups(alice_client, alice):
    contact = add_contact(alice, "Bob", "old@x.example")
    friends = ContactGroup.objects.create(owner=alice, name="Friends")
    response = alice_client.post(
        reverse("contacts:contact_edit", args=[contact.pk]),
        contact_post(
            display_name="Bob B.",
            organization="ACME",
            addresses=[("old@x.example", False), ("new@x.example", True)],
            groups=[str(friends.pk)],
            **{"emails-0-DELETE": "on"},
        ),
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.display_name == "Bob B."
    assert [(e.address, e.preferred) for e in contact.emails.all()] == [("new@x.example", True)]
    assert list(contact.groups.all()) == [friends]


def test_delete_asks_then_deletes(alice_client, alice):
    contact = add_contact(alice, "Bob", "b@x.example")
    url = reverse("contacts:contact_delete", args=[contact.pk])
    page = alice_client.get(url)
    assert page.status_code == 200
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert alice_client.post(url).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not ContactEmail.objects.filter(owner=alice).exists()


def test_contact_pages_need_login(client):
    response = client.get(reverse("contacts:contact_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_pages_render_in_korean(alice_client, alice):
    contact = add_contact(alice, "김지현", "kim@x.example")
    alice_client.cookies["django_language"] = "ko"
    for name, args in [
        ("contacts:contact_list", []),
        ("contacts:contact_detail", [contact.pk]),
        ("contacts:contact_create", []),
        ("contacts:group_list", []),
        ("contacts:collected_list", []),
        ("contacts:import", []),
    ]:
        html = alice_client.get(reverse(name, args=args), HTTP_ACCEPT_LANGUAGE="ko").content
        assert "주소록".encode() in html or "연락처".encode() in html, name


# --------------------------------------------------------------------------- isolation


def test_every_contact_url_is_404_for_another_user(client, alice, bob):
    contact = add_contact(alice, "Alice's friend", "friend@x.example")
    group = ContactGroup.objects.create(owner=alice, name="Alice's group")
    collected = CollectedAddress.objects.create(
        owner=alice, address="seen@x.example", source=CollectedAddress.Source.SENT
    )
    client.force_login(bob)
    for name, pk in [
        ("contacts:contact_detail", contact.pk),
        ("contacts:contact_edit", contact.pk),
        ("contacts:contact_delete", contact.pk),
        ("contacts:group_edit", group.pk),
        ("contacts:group_delete", group.pk),
        ("contacts:collected_edit", collected.pk),
    ]:
        url = reverse(name, args=[pk])
        assert client.get(url).status_code == 404, name
        assert client.post(url, {"name": "x"}).status_code == 404, name
    for name in ("contacts:collected_delete", "contacts:collected_promote"):
        assert client.post(reverse(name, args=[collected.pk])).status_code == 404, name
    assert client.get(reverse("contacts:contact_list"), {"group": group.pk}).status_code == 404
    assert Contact.objects.filter(pk=contact.pk, display_name="Alice's friend").exists()
    assert ContactGroup.objects.filter(pk=group.pk, name="Alice's group").exists()
    assert CollectedAddress.objects.filter(pk=collected.pk).exists()


def test_lists_show_only_own_rows(client, alice, bob):
    add_contact(alice, "Alice's friend", "friend@x.example")
    CollectedAddress.objects.create(owner=alice, address="seen@x.example", source="sent")
    ContactGroup.objects.create(owner=alice, name="Alice's group")
    client.force_login(bob)
    for name in ("contacts:contact_list", "contacts:collected_list", "contacts:group_list"):
        html = client.get(reverse(name)).content.decode()
        assert "friend@x.example" not in html and "seen@x.example" not in html
        assert "Alice&#x27;s group" not in html


def test_selection_and_merge_ignore_other_users_contacts(client, alice, bob):
    theirs = add_contact(alice, "Theirs", "t@x.example")
    mine = add_contact(bob, "Mine", "m@x.example")
    group = ContactGroup.objects.create(owner=bob, name="Mine")
    client.force_login(bob)
    client.post(
        reverse("contacts:contact_selection"),
        {"ids": [theirs.pk, mine.pk], "action": "add_to_group", "group": group.pk},
    )
    assert not theirs.groups.exists()
    response = client.post(
        reverse("contacts:contact_merge"), {"ids": [theirs.pk, mine.pk], "keep": mine.pk}
    )
    assert response.status_code == 400
    assert Contact.objects.filter(pk=theirs.pk).exists()


def test_export_holds_only_own_contacts(client, alice, bob):
    add_contact(alice, "Alice's friend", "friend@x.example")
    add_contact(bob, "Bob's friend", "bf@x.example")
    client.force_login(bob)
    body = b"".join(client.get(reverse("contacts:export")).streaming_content).decode()
    assert "bf@x.example" in body
    assert "friend@x.example" not in body


def test_address_page_finds_only_own_contact(client, alice, bob):
    add_contact(alice, "Friend", "friend@x.example")
    client.force_login(bob)
    response = client.get(reverse("contacts:for_address"), {"address": "friend@x.example"})
    assert response["Location"].startswith(reverse("contacts:contact_create"))


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize(
    "query", ["ㄱㅈㅎ", "김지", "jihyun", "Kim Ji", "acme", "work.example", "JIHYUN@WORK"]
)
def test_search_finds_by_every_name_form_address_organization_and_initials(alice, query):
    kim = add_contact(
        alice,
        "김지현",
        "jihyun@work.example",
        korean_name="김지현",
        latin_name="Kim Jihyun",
        organization="ACME Korea",
    )
    add_contact(alice, "이민수", "minsoo@other.example", korean_name="이민수")
    assert list(finding.search_contacts(alice, query)) == [kim]


def test_initials_search_allows_spaces_and_rejects_other_names(alice):
    kim = add_contact(alice, "김 지현", "a@x.example")
    add_contact(alice, "김지수", "b@x.example")
    assert list(finding.search_contacts(alice, "ㄱㅈㅎ")) == [kim]


def test_search_page_filters_by_group_and_paginates(alice_client, alice):
    group = ContactGroup.objects.create(owner=alice, name="Team")
    for n in range(60):
        contact = add_contact(alice, f"Person {n:02}", f"p{n}@x.example")
        if n % 2:
            group.contacts.add(contact)
    first = alice_client.get(reverse("contacts:contact_list")).content.decode()
    assert "Person 00" in first and "Person 55" not in first
    second = alice_client.get(reverse("contacts:contact_list"), {"page": 2}).content.decode()
    assert "Person 55" in second
    grouped = alice_client.get(reverse("contacts:contact_list"), {"group": group.pk}).content
    assert b"Person 01" in grouped and b"Person 00" not in grouped
    searched = alice_client.get(reverse("contacts:contact_list"), {"q": "p7@"}).content
    assert b"Person 07" in searched and b"Person 08" not in searched


# --------------------------------------------------------------------------- groups


def test_group_create_rename_delete_keeps_contacts(alice_client, alice):
    alice_client.post(reverse("contacts:group_list"), {"name": "친구"})
    group = ContactGroup.objects.get(owner=alice)
    assert group.name == "친구"
    duplicate = alice_client.post(reverse("contacts:group_list"), {"name": "친구"})
    assert duplicate.status_code == 400
    contact = add_contact(alice, "Bob", "b@x.example")
    alice_client.post(
        reverse("contacts:contact_selection"),
        {"ids": [contact.pk], "action": "add_to_group", "group": group.pk},
    )
    assert list(contact.groups.all()) == [group]
    alice_client.post(reverse("contacts:group_edit", args=[group.pk]), {"name": "Friends"})
    group.refresh_from_db()
    assert group.name == "Friends"
    alice_client.post(reverse("contacts:group_delete", args=[group.pk]))
    assert not ContactGroup.objects.filter(owner=alice).exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


# --------------------------------------------------------------------------- merge


def test_merge_unites_addresses_groups_and_details(alice_client, alice):
    team = ContactGroup.objects.create(owner=alice, name="Team")
    family = ContactGroup.objects.create(owner=alice, name="Family")
    a = add_contact(alice, "Kim", "kim@work.example", notes="met at work")
    b = add_contact(
        alice,
        "김지현",
        "kim@home.example",
        "KIM@work.example",
        korean_name="김지현",
        phone="010-1234",
        notes="sister's friend",
    )
    a.groups.add(team)
    b.groups.add(family)
    page = alice_client.get(reverse("contacts:contact_merge"), {"ids": [a.pk, b.pk]})
    assert page.status_code == 200
    response = alice_client.post(
        reverse("contacts:contact_merge"), {"ids": [a.pk, b.pk], "keep": a.pk}
    )
    assert response.status_code == 302
    assert list(Contact.objects.filter(owner=alice)) == [a]
    a.refresh_from_db()
    assert a.display_name == "Kim"
    assert a.korean_name == "김지현" and a.phone == "010-1234"
    assert "met at work" in a.notes and "sister's friend" in a.notes
    assert sorted(e.address_key for e in a.emails.all()) == [
        "kim@home.example",
        "kim@work.example",
    ]
    assert a.emails.filter(preferred=True).count() == 1
    assert set(a.groups.all()) == {team, family}


def test_possible_duplicates_share_an_address_or_a_name(alice_client, alice):
    a = add_contact(alice, "Kim", "kim@x.example")
    b = add_contact(alice, "Jihyun", "KIM@x.example")
    c = add_contact(alice, "Lee", "lee@x.example")
    d = add_contact(alice, "lee", "other@x.example")
    add_contact(alice, "Park", "park@x.example")
    assert editing.possible_duplicates(alice) == [[a, b], [c, d]]
    html = alice_client.get(reverse("contacts:duplicates")).content.decode()
    assert f"ids={a.pk}&amp;ids={b.pk}" in html


# --------------------------------------------------------------------------- collected


def test_promote_collected_creates_contact_and_keeps_the_row(alice_client, alice):
    row = CollectedAddress.objects.create(
        owner=alice, address="Lee@X.example", name="이민수", source="sent", times_used=3
    )
    response = alice_client.post(
        reverse("contacts:collected_promote", args=[row.pk]), {"keep_collected": "on"}
    )
    contact = Contact.objects.get(owner=alice)
    assert response["Location"] == reverse("contacts:contact_detail", args=[contact.pk])
    assert contact.display_name == "이민수"
    assert [(e.address, e.preferred) for e in contact.emails.all()] == [("Lee@X.example", True)]
    assert CollectedAddress.objects.filter(pk=row.pk).exists()
    # Promoting again finds the contact instead of making a second one.
    alice_client.post(reverse("contacts:collected_promote", args=[row.pk]))
    assert Contact.objects.filter(owner=alice).count() == 1


def test_promote_can_remove_the_collected_row(alice_client, alice):
    row = CollectedAddress.objects.create(owner=alice, address="x@y.example", source="sent")
    alice_client.post(reverse("contacts:collected_promote", args=[row.pk]), {})
    assert Contact.objects.filter(owner=alice).count() == 1
    assert not CollectedAddress.objects.filter(pk=row.pk).exists()


def test_collected_name_edit_rejects_line_breaks_and_delete_removes(alice_client, alice):
    row = CollectedAddress.objects.create(owner=alice, address="x@y.example", source="sent")
    url = reverse("contacts:collected_edit", args=[row.pk])
    assert alice_client.post(url, {"name": "X\r\nBcc: z@z.example"}).status_code == 400
    alice_client.post(url, {"name": "엑스"})
    row.refresh_from_db()
    assert row.name == "엑스"
    html = alice_client.get(reverse("contacts:collected_list")).content.decode()
    assert "엑스" in html
    alice_client.post(reverse("contacts:collected_delete", args=[row.pk]))
    assert not CollectedAddress.objects.filter(pk=row.pk).exists()


# --------------------------------------------------------------------------- messages


def test_contact_page_lists_messages_exchanged_both_ways(alice_client, alice):
    account = make_account(alice)
    other = make_account(alice, email="second@example.test")
    contact = add_contact(alice, "Kim", "kim@x.example", "kim@home.example")
    now = timezone.now()
    add_message(account, subject="from kim", from_address="KIM@x.example", date=now)
    add_message(
        other,
        subject="to kim",
        folder=Folder.SENT,
        from_address="alice@example.test",
        to="Kim <kim@home.example>, Lee <lee@x.example>",
        date=now - dt.timedelta(hours=1),
    )
    add_message(account, subject="cc kim", cc="kim@x.example", date=now - dt.timedelta(hours=2))
    add_message(account, subject="look-alike", to="jkim@x.example")
    add_message(account, subject="binned", from_address="kim@x.example", folder=Folder.TRASH)
    html = alice_client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert html.index("from kim") < html.index("to kim") < html.index("cc kim")
    assert "look-alike" not in html
    assert "binned" not in html


def test_contact_page_never_lists_another_users_messages(client, alice, bob):
    add_message(make_account(alice), subject="alice's mail", from_address="kim@x.example")
    contact = add_contact(bob, "Kim", "kim@x.example")
    client.force_login(bob)
    html = client.get(reverse("contacts:contact_detail", args=[contact.pk])).content.decode()
    assert "alice&#x27;s mail" not in html and "alice's mail" not in html


def test_recent_messages_query_count_does_not_grow_with_mail(alice, django_assert_num_queries):
    account = make_account(alice)
    contact = add_contact(alice, "Kim", "kim@x.example")
    for n in range(30):
        add_message(account, subject=f"m{n}", from_address="kim@x.example" if n % 3 else "z@z.z")
    contact = Contact.objects.prefetch_related("emails").get(pk=contact.pk)
    with django_assert_num_queries(1):
        found = finding.recent_messages(alice, contact, limit=5)
    assert len(found) == 5
