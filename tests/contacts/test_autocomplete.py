"""Recipient autocomplete: what matches, in which order, for whom, and at what cost."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections, router
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts import suggestions
from contacts.models import (
    CollectedAddress,
    Contact,
    ContactEmail,
    ContactGroup,
    SuggestionPrefix,
    SuggestionTerm,
)
from tests.conftest import make_user
from tests.mailbox.test_korean_search import _Pinned

URL = reverse("contacts:autocomplete")


def contact(owner, name="", address="", *, korean="", latin="", more=(), groups=()):
    person = Contact.objects.create(
        owner=owner, display_name=name, korean_name=korean, latin_name=latin
    )
    if address:
        ContactEmail.objects.create(contact=person, address=address, preferred=True)
    for extra in more:
        ContactEmail.objects.create(contact=person, address=extra)
    person.groups.add(*groups)
    return person


def collect(owner, address, name="", *, times=1, days_ago=1):
    return CollectedAddress.objects.create(
        owner=owner,
        address=address,
        name=name,
        source="sent",
        times_used=times,
        last_used_at=timezone.now() - timedelta(days=days_ago) if times else None,
    )


def addresses(client, q):
    response = client.get(URL, {"q": q})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [s["address"] or s["label"] for s in response.json()]


def test_korean_name_matches_by_syllables_initials_and_given_name(alice_client, alice):
    contact(alice, "김지현", "jihyun@example.test", latin="Kim Jihyun")
    for q in ["김", "김지", "ㄱㅈ", "ㄱㅈㅎ", "지현", "ㅈㅎ", "kim", "jihyun", "Kim J"]:
        assert addresses(alice_client, q) == ["jihyun@example.test"], q
    assert addresses(alice_client, "ㄴㄷ") == []


def test_matches_every_part_of_the_address(alice_client, alice):
    collect(alice, "Minsoo.Park@Corp.Example.test")
    for q in ["minsoo", "park", "minsoo.park@", "corp.ex", "MINSOO.PARK@CORP.EXAMPLE.TEST"]:
        assert addresses(alice_client, q) == ["Minsoo.Park@Corp.Example.test"], q


def test_suggestion_json_carries_label_kind_and_what_to_insert(alice_client, alice):
    contact(alice, "Lee, Sora", "sora@example.test")
    [suggestion] = alice_client.get(URL, {"q": "sora"}).json()
    assert suggestion == {
        "label": "Lee, Sora",
        "address": "sora@example.test",
        "kind": "contact",
        "value": '"Lee, Sora" <sora@example.test>',
    }


def test_short_or_empty_queries_answer_nothing(alice_client, alice):
    collect(alice, "ab@example.test")
    for q in ["", " ", "a", "  a  "]:
        assert alice_client.get(URL, {"q": q}).json() == []
    assert addresses(alice_client, "  ab ") == ["ab@example.test"]  # trimmed


@pytest.mark.parametrize("q", ["ex", "example.test"])  # prefix rows, term range
def test_ranked_by_how_often_and_how_recently_the_user_wrote(alice_client, alice, q):
    collect(alice, "often@example.test", times=8, days_ago=30)
    collect(alice, "recent@example.test", times=1, days_ago=0)
    collect(alice, "old@example.test", times=2, days_ago=400)
    collect(alice, "once-long-ago@example.test", times=1, days_ago=90)
    collect(alice, "never@example.test", times=0)  # a trusted sender: not written to
    CollectedAddress.objects.filter(address="never@example.test").update(
        created_at=timezone.now() - timedelta(days=500)
    )
    suggestions.reindex_owner(alice)
    assert addresses(alice_client, q) == [
        "often@example.test",  # 8 times a month ago: 3 doublings ≈ 90 days of recency
        "recent@example.test",
        "once-long-ago@example.test",
        "old@example.test",
        "never@example.test",
    ]


@pytest.mark.parametrize("q", ["ex", "exam", "example"])
def test_a_saved_contact_ranks_above_an_equal_collected_address(alice_client, alice, q):
    when = timezone.now() - timedelta(days=3)
    for address in ["zed@example.test", "amy@example.test"]:
        CollectedAddress.objects.create(
            owner=alice, address=address, source="sent", times_used=2, last_used_at=when
        )
    contact(alice, "Zed", "zed@example.test")
    found = alice_client.get(URL, {"q": q}).json()
    assert [(s["kind"], s["address"]) for s in found] == [
        ("contact", "zed@example.test"),  # the collected row for zed is hidden behind it
        ("collected", "amy@example.test"),
    ]


def test_a_contacts_rank_follows_the_mail_written_to_it(alice_client, alice):
    contact(alice, "Anna", "anna@example.test")
    contact(alice, "Andy", "andy@example.test")
    assert addresses(alice_client, "an")[0] == "andy@example.test"  # newer contact
    collect(alice, "anna@example.test", times=3, days_ago=0)
    assert addresses(alice_client, "an") == ["anna@example.test", "andy@example.test"]


def test_a_group_offers_its_members(alice_client, alice):
    team = ContactGroup.objects.create(owner=alice, name="개발팀 Dev team")
    contact(alice, "김지현", "jihyun@example.test", groups=[team])
    contact(alice, "Bob", "bob@example.test", more=["bob@home.test"], groups=[team])
    contact(alice, "Nobody in it", "carol@example.test")
    [group] = alice_client.get(URL, {"q": "개발"}).json()
    assert group["kind"] == "group" and group["label"] == "개발팀 Dev team"
    assert [m["address"] for m in group["members"]] == ["bob@example.test", "jihyun@example.test"]
    assert group["value"] == "Bob <bob@example.test>, 김지현 <jihyun@example.test>"
    assert addresses(alice_client, "ㄱㅂ") == ["개발팀 Dev team"]
    assert addresses(alice_client, "dev") == ["개발팀 Dev team"]


def test_every_address_of_a_contact_is_offered_the_preferred_first(alice_client, alice):
    contact(alice, "Bob", "bob@work.test", more=["bob@home.test"])
    assert addresses(alice_client, "bob") == ["bob@work.test", "bob@home.test"]
    assert addresses(alice_client, "home") == ["bob@home.test"]


def test_another_users_data_is_never_suggested(client, alice, bob):
    contact(alice, "Secret Person", "secret@example.test")
    collect(alice, "secret-collected@example.test")
    ContactGroup.objects.create(owner=alice, name="Secret group")
    client.force_login(bob)
    assert client.get(URL, {"q": "secret"}).json() == []
    assert client.get(URL, {"q": "se"}).json() == []


def test_the_endpoint_needs_a_login(client, alice):
    collect(alice, "someone@example.test")
    response = client.get(URL, {"q": "some"})
    assert response.status_code == 302 and "/auth/login/" in response["Location"]


def test_edits_and_deletes_keep_the_index_in_step(alice_client, alice):
    person = contact(alice, "Old Name", "person@example.test")
    assert addresses(alice_client, "old") == ["person@example.test"]
    person.display_name = "New Name"
    person.save()
    assert addresses(alice_client, "old") == []
    assert addresses(alice_client, "new") == ["person@example.test"]
    email = person.emails.get()
    email.address = "renamed@example.test"
    email.save()
    assert addresses(alice_client, "person") == []
    assert addresses(alice_client, "renamed") == ["renamed@example.test"]
    person.delete()
    assert addresses(alice_client, "new") == []
    assert not SuggestionTerm.objects.filter(owner=alice).exists()
    assert not SuggestionPrefix.objects.filter(owner=alice).exists()


def test_bulk_writes_are_indexed_by_reindex_contacts_and_the_command(alice_client, alice):
    people = Contact.objects.bulk_create(
        [Contact(owner=alice, display_name=f"Bulk {i}") for i in range(3)]
    )
    ContactEmail.objects.bulk_create(
        [
            ContactEmail(contact=p, owner=alice, address=f"bulk{i}@example.test", preferred=True)
            for i, p in enumerate(people)
        ]
    )
    assert addresses(alice_client, "bulk") == []  # bulk_create sends no signals
    suggestions.reindex_contacts(alice, people)
    assert len(addresses(alice_client, "bulk")) == 3  # the prefix rows
    assert len(addresses(alice_client, "bulk 1")) == 1  # the terms
    SuggestionTerm.objects.all().delete()
    SuggestionPrefix.objects.all().delete()
    call_command("reindex_contacts", verbosity=0)
    assert len(addresses(alice_client, "bulk")) == 3
    assert len(addresses(alice_client, "bulk 1")) == 1


def _queries(client, q) -> int:
    with CaptureQueriesContext(connection) as captured:
        client.get(URL, {"q": q})
    return len(captured.captured_queries)


def _fill(owner, start, count):
    team = ContactGroup.objects.create(owner=owner, name=f"Kim team {start}")
    people = Contact.objects.bulk_create(
        [Contact(owner=owner, display_name=f"김민{i} Kim") for i in range(start, start + count)]
    )
    ContactEmail.objects.bulk_create(
        [
            ContactEmail(
                contact=p, owner=owner, address=f"kim{start + i}@example.test", preferred=True
            )
            for i, p in enumerate(people)
        ]
    )
    team.contacts.add(*people[:5])
    CollectedAddress.objects.bulk_create(
        [
            CollectedAddress(
                owner=owner,
                address=f"kimc{i}@example.test",
                address_key=f"kimc{i}@example.test",
                source="sent",
                times_used=1,
                last_used_at=timezone.now(),
            )
            for i in range(start, start + count)
        ]
    )
    suggestions.reindex_owner(owner)


def test_the_query_count_is_the_same_for_a_small_and_a_large_address_book(alice_client, alice):
    _fill(alice, 0, 20)
    small = {q: _queries(alice_client, q) for q in ["ki", "김", "ㄱㅁ"]}
    assert len(alice_client.get(URL, {"q": "ki"}).json()) == 10
    _fill(alice, 1000, 600)
    large = {q: _queries(alice_client, q) for q in ["ki", "김", "ㄱㅁ"]}
    assert large == small


def test_a_suggestion_has_one_row_per_prefix_of_up_to_four_characters(alice):
    person = contact(alice, "김지현", "kim.jihyun@example.test", latin="Kim Jihyun")
    rows = list(
        SuggestionPrefix.objects.filter(owner=alice).values_list("prefix", "email__contact")
    )
    made = [prefix for prefix, _ in rows]
    assert len(made) == len(set(made))  # kim, kim jihyun, kim.jihyun@…: one "kim" row
    assert {owner for _, owner in rows} == {person.pk}
    assert {"김", "김지", "김지현", "ㄱㅈ", "ㄱㅈㅎ", "지현"} <= set(made)
    assert {"ki", "kim", "kim ", "kim."} <= set(made)
    assert {"kimj", "jihy", "exam"} <= set(made)
    assert max(len(p) for p in made) == 4  # "kimji" and longer: the term range
    assert not {"k", "j", "ㄱ", "e"} & set(made)  # one character is no query but 김


def test_short_and_long_queries_agree(alice_client, alice):
    contact(alice, "Kim Jihyun", "jihyun@example.test", more=["kjh@home.test"])
    contact(alice, "Kim Jiwoo", "jiwoo@example.test")
    collect(alice, "kim.jinsu@example.test", "Kim Jinsu", times=5)
    collect(alice, "jiwoo@example.test", times=9)  # Jiwoo's: ranks the contact first
    assert addresses(alice_client, "kim j") == [
        "jiwoo@example.test",
        "kim.jinsu@example.test",
        "jihyun@example.test",
        "kjh@home.test",
    ]
    for q in ["ki", "kim", "kim ", "kim j"]:
        assert addresses(alice_client, q) == addresses(alice_client, "kim j"), q
    assert addresses(alice_client, "kim ji") == addresses(alice_client, "kim j")
    assert addresses(alice_client, "kim jih") == ["jihyun@example.test", "kjh@home.test"]


def test_sort_key_is_rank_first_then_tier():
    key = suggestions.sort_key
    assert key(9000.5, suggestions.Tier.COLLECTED) < key(9000.4, suggestions.Tier.PREFERRED)
    assert key(9000.5, suggestions.Tier.PREFERRED) < key(9000.5, suggestions.Tier.CONTACT)
    assert key(-10.0, suggestions.Tier.GROUP) > key(0.0, suggestions.Tier.GROUP) > 0
    assert key(-400_000.0, suggestions.Tier.COLLECTED) < 2**63
    assert key(9000.5 + 1e-6 / 86400, 3) < key(9000.5, 0)  # a microsecond apart


@pytest.fixture(params=["default", "sqlite"])
def database(request):
    """The database under test: the default one (PostgreSQL in CI) and SQLite."""
    with override_settings(DATABASE_ROUTERS=[_Pinned(request.param)]):
        yield request.param


def _plan(owner, q: str) -> str:
    query = suggestions.candidates_query(owner, q)
    if query.db != "default" or connections[query.db].vendor != "postgresql":
        return query.explain()
    return query.explain(analyze=True)


@pytest.mark.django_db(databases=["default", "sqlite"])
def test_a_keystroke_reads_an_index_in_order_not_every_match(database):
    """A short query is an equality on the prefix index read in its order, stopped by
    the LIMIT (no sort of the matches); a longer one a range of the term index. On
    PostgreSQL the planner needs statistics: a few hundred contacts, then ANALYZE."""
    owner = make_user("plans")
    _fill(owner, 0, 400)
    collect(owner, "someone@example.test", "Someone Else")
    vendor = connections[router.db_for_read(SuggestionPrefix)].vendor
    if vendor == "postgresql":
        with connections[database].cursor() as cursor:
            cursor.execute("ANALYZE contacts_suggestionprefix")
            cursor.execute("ANALYZE contacts_suggestionterm")
    for q in ["ki", "김민", "ㄱㅁ", "kim1"]:
        plan = _plan(owner, q)
        assert "suggestion_prefix_idx" in plan, plan
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
        if vendor == "postgresql":  # the scan stopped after what the LIMIT keeps
            assert re.search(rf"Index Only Scan .* rows={suggestions.PREFIX_CANDIDATES} ", plan)
        else:
            assert "COVERING INDEX suggestion_prefix_idx (owner_id=? AND prefix=?)" in plan
    plan = _plan(owner, "kim10")
    assert "suggestion_term_prefix_idx" in plan, plan
    if vendor == "sqlite":
        assert "suggestion_term_prefix_idx (owner_id=? AND term>? AND term<?)" in plan
    assert [s.address for s in suggestions.suggest(owner, "ki")][:2] == [
        "kimc399@example.test",  # collected last, the newest
        "kimc398@example.test",
    ]


def test_addresses_bulk_created_in_the_contacts_transaction_are_indexed_on_commit(
    alice, django_capture_on_commit_callbacks
):
    from contacts import editing

    with django_capture_on_commit_callbacks(execute=True):
        editing.save_contact(
            alice,
            editing.ContactData(
                display_name="한소희", emails=[editing.EmailData("sohee@example.test")]
            ),
        )
    [found] = suggestions.suggest(alice, "ㅎㅅ")
    assert (found.label, found.address) == ("한소희", "sohee@example.test")
