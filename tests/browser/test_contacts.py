"""The address book in Chromium: import a .vcf through its preview, save a sender from
the read page, and axe on the contacts pages in both themes."""

import re

import pytest

from contacts.editing import ContactData, EmailData, save_contact
from contacts.models import CollectedAddress, Contact, ContactGroup
from testkit import mailfactory as mf
from tests.browser.conftest import csp_violations, expect, log_in, store
from tests.browser.test_accessibility import RUN_AXE, UNLABELLED_CONTROLS
from tests.browser.test_accessibility import axe_source as axe_source  # a fixture
from tests.conftest import make_account, make_user

pytestmark = pytest.mark.browser

VCF = """BEGIN:VCARD
VERSION:3.0
FN:김지현
N:김;지현;;;
EMAIL;TYPE=INTERNET,PREF:jihyun@example.test
ORG:ACME
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN Broken
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Dana Park
EMAIL:dana@example.test
END:VCARD
""".encode()


def test_import_a_vcf_from_the_contacts_page(new_page):
    bob = make_user("bob")
    page = new_page()
    log_in(page, "bob")
    page.goto("/contacts/")
    page.get_by_role("navigation", name="Address book").get_by_role("link", name="Import").click()
    page.get_by_label("File").set_input_files(
        {"name": "contacts.vcf", "mimeType": "text/vcard", "buffer": VCF}
    )
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_role("heading", name="What will be imported")).to_be_visible()
    expect(page.locator(".import-summary")).to_contain_text("2 new contacts")
    expect(page.get_by_role("region", name="Left out")).to_contain_text("Card 2 (line 8)")
    assert not Contact.objects.filter(owner=bob).exists()
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_role("heading", name="Contacts imported")).to_be_visible()
    page.get_by_role("link", name="Show contacts").click()
    contacts = page.get_by_role("list", name="Contacts")
    expect(contacts).to_contain_text("김지현")
    expect(contacts).to_contain_text("dana@example.test")
    assert Contact.objects.filter(owner=bob).count() == 2
    assert page.record.page_errors == []
    assert csp_violations(page) == []


def test_add_a_sender_to_contacts_from_the_read_page(new_page):
    bob = make_user("bob")
    message = store(
        make_account(bob, email="bob@example.test"),
        mf.plain(
            "Lunch?",
            "Noodles at noon?\n",
            from_="Carol Kim <carol@example.test>",
            to="bob@example.test",
        ),
    )
    page = new_page()
    log_in(page, "bob")
    page.goto(f"/mail/{message.pk}/")
    page.get_by_role("link", name="Add to contacts carol@example.test").click()

    expect(page.get_by_role("heading", name="New contact")).to_be_visible()
    expect(page.get_by_label("Display name")).to_have_value("Carol Kim")
    first = page.get_by_role("group", name="Email address 1").get_by_label("Email address")
    expect(first).to_have_value("carol@example.test")
    page.get_by_role("button", name="Save contact").click()

    expect(page.get_by_role("heading", name="Carol Kim")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Contact “Carol Kim” added.")
    contact = Contact.objects.get(owner=bob)
    assert [e.address for e in contact.emails.all()] == ["carol@example.test"]
    # Back on the message, the address now leads to the saved contact.
    page.goto(f"/mail/{message.pk}/")
    page.get_by_role("link", name="Contact carol@example.test").click()
    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))
    assert page.record.page_errors == []
    assert csp_violations(page) == []


@pytest.fixture
def address_book():
    bob = make_user("bob")
    account = make_account(bob, email="bob@example.test")
    team = ContactGroup.objects.create(owner=bob, name="팀")
    kim = save_contact(
        bob,
        ContactData(
            display_name="김지현",
            korean_name="김지현",
            latin_name="Kim Jihyun",
            organization="ACME",
            notes="점심 약속",
            emails=[EmailData("jihyun@example.test", True), EmailData("kim@home.test")],
        ),
        groups=[team],
    )
    twin = save_contact(
        bob, ContactData(display_name="Jihyun", emails=[EmailData("KIM@home.test")])
    )
    CollectedAddress.objects.create(
        owner=bob, address="lee@example.test", name="이민수", source="sent", times_used=2
    )
    store(
        account,
        mf.plain(
            "회의", "내일 회의\n", from_="김지현 <jihyun@example.test>", to="bob@example.test"
        ),
    )
    return {"kim": kim, "twin": twin, "team": team}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contacts_pages_pass_axe_in_both_themes(new_page, address_book, axe_source, scheme):
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(axe_source))
    log_in(page, "bob")
    kim, twin = address_book["kim"], address_book["twin"]
    pages = {
        "list": "/contacts/",
        "search": "/contacts/?q=ㄱㅈㅎ",
        "detail": f"/contacts/{kim.pk}/",
        "edit": f"/contacts/{kim.pk}/edit/",
        "new": "/contacts/new/",
        "delete": f"/contacts/{kim.pk}/delete/",
        "groups": "/contacts/groups/",
        "group": f"/contacts/groups/{address_book['team'].pk}/",
        "collected": "/contacts/collected/",
        "duplicates": "/contacts/duplicates/",
        "merge": f"/contacts/merge/?ids={kim.pk}&ids={twin.pk}",
        "import": "/contacts/import/",
    }
    found = {}
    for name, url in pages.items():
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        found[name] = page.evaluate(RUN_AXE) + page.evaluate(UNLABELLED_CONTROLS)
        assert csp_violations(page) == [], name
    # A form with errors, and the import preview.
    page.goto("/contacts/new/")
    page.get_by_role("group", name="Email address 1").get_by_label("Email address").fill("x y")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator(".error-summary")).to_be_visible()
    page.wait_for_load_state()  # the posted page's stylesheet applied (axe reads colours)
    found["errors"] = page.evaluate(RUN_AXE) + page.evaluate(UNLABELLED_CONTROLS)
    page.goto("/contacts/import/")
    page.get_by_label("File").set_input_files(
        {"name": "contacts.vcf", "mimeType": "text/vcard", "buffer": VCF}
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="What will be imported")).to_be_visible()
    page.wait_for_load_state()
    found["preview"] = page.evaluate(RUN_AXE) + page.evaluate(UNLABELLED_CONTROLS)
    assert {name: v for name, v in found.items() if v} == {}
    assert csp_violations(page) == []
    assert page.record.foreign == []
