"""Import (vCard 3.0 and 4.0, Gmail/Outlook/Naver CSV in UTF-8 and CP949) with its
preview, and export → import round trips."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts import exporting, importing
from contacts.models import Contact, ContactGroup

from .helpers import add_contact

pytestmark = pytest.mark.django_db

VCARD3 = """BEGIN:VCARD
VERSION:3.0
FN:김지현
N:김;지현;;;
EMAIL;TYPE=INTERNET:jihyun@work.example
EMAIL;TYPE=INTERNET,PREF:jihyun@home.example
ORG:ACME
TEL;TYPE=CELL:010-1234-5678
CATEGORIES:친구,Work
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Broken Card
EMAIL;TYPE=INTERNET broken.example
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Bob Smith
N:Smith;Bob;;;
EMAIL:bob@x.example
END:VCARD
"""

VCARD4 = """BEGIN:VCARD
VERSION:4.0
FN:이민수
N:이;민수;;;
EMAIL;TYPE=work:minsoo@work.example
EMAIL;PREF=1:minsoo@home.example
TEL;VALUE=uri;TYPE=cell:tel:+82-10-9999-0000
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Bad Address
EMAIL:not-an-address
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Carol
EMAIL:carol@x.example
NOTE:line one\\nline two
END:VCARD
"""


def entries(raw: bytes):
    return importing.read_file(raw).entries


def test_vcard3_with_a_malformed_card_in_the_middle(alice):
    parsed = entries(VCARD3.encode())
    assert [e.position for e in parsed] == [1, 2, 3]
    assert parsed[1].data is None and parsed[1].line == 11 and parsed[1].problem
    summary = importing.apply(alice, parsed)
    assert (summary.created, summary.merged) == (2, 0)
    assert [(e.position, e.line) for e in summary.skipped] == [(2, 11)]
    kim = Contact.objects.get(owner=alice, display_name="김지현")
    assert kim.korean_name == "김지현" and kim.organization == "ACME"
    assert kim.phone == "010-1234-5678"
    assert kim.emails.get(preferred=True).address == "jihyun@home.example"
    assert sorted(g.name for g in kim.groups.all()) == ["Work", "친구"]
    bob = Contact.objects.get(owner=alice, display_name="Bob Smith")
    assert bob.latin_name == "Bob Smith"
    assert not Contact.objects.filter(display_name="Broken Card").exists()


def test_vcard4_prefers_pref_1_and_skips_a_card_with_a_bad_address_whole(alice):
    summary = importing.apply(alice, entries(VCARD4.encode()))
    assert summary.created == 2
    assert [e.position for e in summary.skipped] == [2]
    assert "not-an-address" in summary.skipped[0].problem
    lee = Contact.objects.get(owner=alice, korean_name="이민수")
    assert lee.emails.get(preferred=True).address == "minsoo@home.example"
    assert lee.phone == "+82-10-9999-0000"
    assert Contact.objects.get(owner=alice, display_name="Carol").notes == "line one\nline two"
    assert not Contact.objects.filter(display_name="Bad Address").exists()


def test_a_card_without_end_is_reported_and_the_rest_imported(alice):
    raw = VCARD4.split("BEGIN:VCARD\nVERSION:4.0\nFN:Carol")[0] + "BEGIN:VCARD\nFN:Cut"
    summary = importing.apply(alice, entries(raw.encode()))
    assert summary.created == 1
    assert [e.position for e in summary.skipped] == [2, 3]


def test_duplicates_merge_by_address_into_existing_contacts_and_within_the_file(alice):
    existing = add_contact(alice, "Jihyun", "JIHYUN@work.example", notes="old note")
    raw = (
        VCARD3 + "BEGIN:VCARD\nVERSION:3.0\nFN:Bobby\nEMAIL:Bob@X.example\nORG:Bob Inc\nEND:VCARD\n"
    )
    plan = importing.plan(alice, entries(raw.encode()))
    assert [i.action for i in plan.items] == ["merge", "skip", "new", "merge"]
    assert plan.items[0].into == "Jihyun" and plan.items[3].into == "Bob Smith"
    summary = importing.apply(alice, entries(raw.encode()))
    assert (summary.created, summary.merged) == (1, 2)
    existing.refresh_from_db()
    assert existing.display_name == "Jihyun"  # nothing overwritten
    assert existing.korean_name == "김지현" and existing.organization == "ACME"
    assert sorted(e.address_key for e in existing.emails.all()) == [
        "jihyun@home.example",
        "jihyun@work.example",
    ]
    assert existing.emails.filter(preferred=True).count() == 1
    bob = Contact.objects.get(owner=alice, display_name="Bob Smith")
    assert bob.organization == "Bob Inc"
    assert bob.emails.count() == 1
    # The same file again adds nothing new.
    again = importing.apply(alice, entries(raw.encode()))
    assert again.created == 0
    assert Contact.objects.filter(owner=alice).count() == 2


GMAIL_CSV = (
    "First Name,Middle Name,Last Name,Phonetic First Name,Nickname,File As,"
    "E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,"
    "Phone 1 - Label,Phone 1 - Value,Organization Name,Notes,Labels\n"
    "지현,,김,,,,* Home,jihyun@home.example,Work,jihyun@work.example,Mobile,010-1,ACME,,"
    "* myContacts ::: 친구\n"
    "Bad,,Row,,,,,not an address,,,,,,,\n"
    "Bob,,Smith,,,,,bob@x.example ::: bob2@x.example,,,,,,hi,* myContacts\n"
)
OUTLOOK_CSV = (
    "First Name,Middle Name,Last Name,Title,Suffix,Nickname,E-mail Address,"
    "E-mail 2 Address,E-mail 3 Address,Mobile Phone,Company,Notes,Categories\n"
    "Jihyun,,Kim,,,,jihyun@home.example,,,010-1,ACME,,Friends;Work\n"
    'Bad,,"Row\r\nBcc: x@y",,,,bad@x.example,,,,,,\n'
    "Bob,,Smith,,,,bob@x.example,,,,,,\n"
)
OUTLOOK_KO_CSV = (
    "이름,성,전자 메일 주소,휴대폰,회사,메모,범주\n"
    "지현,김,jihyun@home.example,010-1,에이씨미,,친구\n"
)
NAVER_CSV = (
    "이름,닉네임,이메일,휴대폰,회사,메모,그룹\n김지현,,jihyun@home.example,010-1,에이씨미,,친구\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_gmail_csv_in_every_encoding(alice, encoding):
    summary = importing.apply(alice, entries(GMAIL_CSV.encode(encoding)))
    assert (summary.created, [e.position for e in summary.skipped]) == (2, [2])
    assert summary.skipped[0].line == 3
    kim = Contact.objects.get(owner=alice, korean_name="김지현")
    assert kim.display_name == "김지현" and kim.organization == "ACME" and kim.phone == "010-1"
    assert kim.emails.get(preferred=True).address == "jihyun@home.example"
    assert [g.name for g in kim.groups.all()] == ["친구"]
    bob = Contact.objects.get(owner=alice, latin_name="Bob Smith")
    assert sorted(e.address for e in bob.emails.all()) == ["bob2@x.example", "bob@x.example"]
    assert not bob.groups.exists()


@pytest.mark.parametrize("encoding", ["utf-8", "cp949"])
def test_outlook_csv_and_a_row_with_a_line_break_in_a_name(alice, encoding):
    summary = importing.apply(alice, entries(OUTLOOK_CSV.encode(encoding)))
    assert summary.created == 2
    assert [e.position for e in summary.skipped] == [2]
    kim = Contact.objects.get(owner=alice, latin_name="Jihyun Kim")
    assert sorted(g.name for g in kim.groups.all()) == ["Friends", "Work"]


@pytest.mark.parametrize("text", [OUTLOOK_KO_CSV, NAVER_CSV])
def test_korean_headers_of_outlook_and_naver_in_cp949(alice, text):
    summary = importing.apply(alice, entries(text.encode("cp949")))
    assert summary.created == 1
    kim = Contact.objects.get(owner=alice)
    assert kim.korean_name == "김지현" and kim.display_name == "김지현"
    assert kim.organization == "에이씨미"
    assert kim.emails.get().address == "jihyun@home.example"
    assert [g.name for g in kim.groups.all()] == ["친구"]


def test_a_file_that_is_neither_is_refused_whole(alice):
    with pytest.raises(importing.Unreadable):
        importing.read_file(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(importing.Unreadable):
        importing.read_file(b"colour,size\nred,3\n")


def test_a_failing_card_rolls_back_alone(alice, monkeypatch):
    """Each card all or nothing: a database error in one leaves no trace of it."""
    from contacts import importing as module

    real = module.absorb

    def failing(contact, data, **kwargs):
        real(contact, data, **kwargs)
        if data.display_name == "Bobby":
            from django.db import DatabaseError

            raise DatabaseError("boom")

    monkeypatch.setattr(module, "absorb", failing)
    add_contact(alice, "Bob", "bob@x.example")
    raw = (
        VCARD3
        + "BEGIN:VCARD\nVERSION:3.0\nFN:Bobby\n"
        + "EMAIL:bob@x.example\nEMAIL:bobby@x.example\nEND:VCARD\n"
    )
    summary = importing.apply(alice, entries(raw.encode()))
    assert [e.position for e in summary.skipped] == [2, 4]
    bob = Contact.objects.get(owner=alice, display_name="Bob")
    assert sorted(e.address for e in bob.emails.all()) == ["bob@x.example"]


# --------------------------------------------------------------------------- export


def test_export_import_round_trip_gives_the_same_contacts(alice, bob):
    friends = ContactGroup.objects.create(owner=alice, name="친구")
    kim = add_contact(
        alice,
        "김지현",
        "jihyun@work.example",
        "jihyun@home.example",
        korean_name="김지현",
        latin_name="Kim Jihyun",
        organization="ACME; Korea",
        phone="010-1",
        notes="a\nb, c; d",
    )
    kim.groups.add(friends)
    add_contact(alice, "Bob", "bob@x.example")
    add_contact(alice, "", "", latin_name="No Mail Person")

    def snapshot(owner):
        return sorted(
            (
                c.display_name,
                c.korean_name,
                c.latin_name,
                c.organization,
                c.phone,
                c.notes,
                tuple((e.address, e.preferred) for e in c.emails.order_by("address")),
                tuple(sorted(g.name for g in c.groups.all())),
            )
            for c in Contact.objects.filter(owner=owner)
        )

    raw = b"".join(exporting.vcard_chunks(exporting.export_contacts(alice)))
    assert "김지현".encode() in raw  # UTF-8, not quoted-printable or escaped
    assert raw.count(b"VERSION:3.0") == 3
    summary = importing.apply(bob, entries(raw))
    assert (summary.created, summary.skipped) == (3, [])
    assert snapshot(bob) == snapshot(alice)


def test_export_a_group_as_vcf(alice_client, alice):
    team = ContactGroup.objects.create(owner=alice, name="Team")
    add_contact(alice, "In team", "in@x.example").groups.add(team)
    add_contact(alice, "Outside", "out@x.example")
    response = alice_client.get(reverse("contacts:export"), {"group": team.pk})
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert "in@x.example" in body and "out@x.example" not in body


# --------------------------------------------------------------------------- pages


def upload(client, name, raw):
    return client.post(reverse("contacts:import"), {"file": SimpleUploadedFile(name, raw)})


def test_preview_then_confirm_imports_what_was_shown(alice_client, alice):
    preview = upload(alice_client, "contacts.vcf", VCARD3.encode())
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "2 new contacts" in html and "1 skipped" in html
    assert "Card 2 (line 11)" in html
    assert not Contact.objects.filter(owner=alice).exists()
    token = preview.context["token"]
    done = alice_client.post(reverse("contacts:import_confirm"), {"token": token})
    assert done.status_code == 200
    assert Contact.objects.filter(owner=alice).count() == 2
    assert "Card 2 (line 11)" in done.content.decode()
    # The staged file is gone: confirming twice imports nothing twice.
    again = alice_client.post(reverse("contacts:import_confirm"), {"token": token})
    assert again.status_code == 302
    assert Contact.objects.filter(owner=alice).count() == 2


def test_another_session_cannot_confirm_the_upload(alice_client, client, alice, bob):
    token = upload(alice_client, "contacts.vcf", VCARD3.encode()).context["token"]
    client.force_login(bob)
    response = client.post(reverse("contacts:import_confirm"), {"token": token})
    assert response.status_code == 302
    assert not Contact.objects.exists()


def test_cancel_discards_the_upload(alice_client, alice):
    token = upload(alice_client, "contacts.vcf", VCARD3.encode()).context["token"]
    alice_client.post(reverse("contacts:import_cancel"))
    alice_client.post(reverse("contacts:import_confirm"), {"token": token})
    assert not Contact.objects.exists()


def test_upload_over_the_limit_is_refused(alice_client, settings, monkeypatch):
    from contacts import forms

    monkeypatch.setattr(forms, "MAX_IMPORT_BYTES", 100)
    response = upload(alice_client, "big.vcf", VCARD3.encode())
    assert response.status_code == 400
    assert "larger than" in response.content.decode()


def test_unreadable_file_is_a_form_error(alice_client):
    response = upload(alice_client, "x.csv", b"colour,size\nred,3\n")
    assert response.status_code == 400
    assert "neither a vCard file" in response.content.decode()
