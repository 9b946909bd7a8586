"""The read page and the list: "Add to contacts" beside each address, and the saved
name where the message gives none (mailbox.names, registered by contacts)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from mailbox import names
from tests.conftest import make_account

from .helpers import add_contact, add_message

pytestmark = pytest.mark.django_db


def links(html: str) -> list[str]:
    prefix = reverse("contacts:for_address") + "?"
    out = []
    for part in html.split('href="')[1:]:
        url = part.split('"', 1)[0].replace("&amp;", "&")
        if url.startswith(prefix):
            out.append(parse_qs(urlsplit(url).query)["address"][0])
    return out


def test_read_page_offers_add_to_contacts_for_sender_and_every_recipient(alice_client, alice):
    message = add_message(
        make_account(alice),
        from_name="김지현",
        from_address="kim@x.example",
        to="Alice <alice@example.test>, lee@y.example",
        cc='"Park, Minji" <park@z.example>',
    )
    html = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert links(html) == [
        "kim@x.example",
        "alice@example.test",
        "lee@y.example",
        "park@z.example",
    ]
    assert html.count("Add to contacts") == 4
    assert "Park, Minji" in html


def test_add_to_contacts_prefills_a_new_contact_or_opens_the_saved_one(alice_client, alice):
    url = reverse("contacts:for_address")
    response = alice_client.get(url, {"address": "kim@x.example", "name": "김지현"})
    form = alice_client.get(response["Location"]).content.decode()
    assert 'value="kim@x.example"' in form and 'value="김지현"' in form
    saved = add_contact(alice, "Kim", "Kim@X.example")
    response = alice_client.get(url, {"address": "kim@x.example"})
    assert response["Location"] == reverse("contacts:contact_detail", args=[saved.pk])


def test_prefill_ignores_a_header_injection_attempt(alice_client):
    html = alice_client.get(
        reverse("contacts:contact_create"),
        {"address": "kim@x.example\r\nBcc: v@y.example", "name": "A\r\nB"},
    ).content.decode()
    assert "Bcc: v@y.example" not in html


def test_saved_name_shown_where_the_message_has_none(alice_client, alice):
    account = make_account(alice)
    add_contact(alice, "김지현", "kim@x.example")
    message = add_message(account, subject="bare", from_name="", from_address="KIM@x.example")
    add_message(account, subject="named", from_name="Jihyun K", from_address="kim@x.example")
    inbox = alice_client.get(reverse("home")).content.decode()
    assert "<bdi>김지현</bdi>" in inbox
    assert "<bdi>Jihyun K</bdi>" in inbox  # the message's own name wins
    read = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "김지현" in read and "KIM@x.example" in read
    assert ">Contact<" in read


def test_saved_names_are_the_readers_own(client, alice, bob):
    add_contact(alice, "Alice's name for him", "kim@x.example")
    add_message(make_account(bob), from_name="", from_address="kim@x.example")
    client.force_login(bob)
    assert "Alice" not in client.get(reverse("home")).content.decode()


def test_list_asks_for_names_once_per_page(alice, django_assert_num_queries):
    account = make_account(alice)
    add_contact(alice, "Kim", "kim@x.example")
    rows = [add_message(account, from_name="", from_address=f"s{n}@x.example") for n in range(30)]
    with django_assert_num_queries(1):
        names.name_senders(alice, rows)
    named = [add_message(account, from_name="Named")]
    with django_assert_num_queries(0):
        names.name_senders(alice, named)


def test_an_address_saved_without_a_name_links_to_its_contact(alice_client, alice):
    add_contact(alice, "", "kim@x.example")
    message = add_message(make_account(alice), from_name="", from_address="kim@x.example")
    html = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert ">Contact<" in html and "Add to contacts" not in html.split("<dt>To")[0]
