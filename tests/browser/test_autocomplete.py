"""Recipient autocomplete in Chromium: type two letters, pick with the keyboard, pick a
group, send; the suggestion list is an accessible combobox (axe-clean while open)."""

import re

import pytest

from contacts.models import Contact, ContactEmail, ContactGroup
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, shot
from tests.browser.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.browser


def saved(owner, name, address, groups=()):
    person = Contact.objects.create(owner=owner, display_name=name)
    ContactEmail.objects.create(contact=person, address=address, preferred=True)
    person.groups.add(*groups)
    return person


@pytest.fixture
def alice_with_contacts(devmail):
    alice = devmail_user(devmail, "alice")
    team = ContactGroup.objects.create(owner=alice, name="디자인팀 Design")
    saved(alice, "캐럴 Carol", "carol@example.test", groups=[team])
    saved(alice, "김보라", "bora@example.test", groups=[team])
    saved(alice, "Bob Kim", "bob@example.test")  # the newest contact: first when equal
    return alice


def test_type_two_letters_pick_with_the_keyboard_pick_a_group_and_send(
    new_page, devmail, alice_with_contacts
):
    page = new_page()
    log_in(page, "alice")
    page.goto("/compose/")
    to = page.get_by_role("combobox", name="To:", exact=True)
    expect(to).to_have_attribute("aria-expanded", "false")

    to.press_sequentially("bo")
    listbox = page.get_by_role("listbox", name=re.compile("^Suggestions for To"))
    expect(listbox).to_be_visible()
    expect(to).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)  # bob@… and bora@… (김보라)
    expect(options.first).to_contain_text("Bob Kim")
    # The first is active; the arrow moves to the second and back, Enter chooses.
    expect(to).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    to.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    to.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    to.press("Enter")
    expect(to).to_have_value("Bob Kim <bob@example.test>, ")
    expect(listbox).to_be_hidden()
    expect(to).to_have_attribute("aria-expanded", "false")

    # A group, by its Korean initials, chosen with Tab: all its members go in.
    cc = page.get_by_role("combobox", name="Cc:", exact=True)
    cc.press_sequentially("ㄷㅈ")
    cc_list = page.get_by_role("listbox", name=re.compile("^Suggestions for Cc"))
    group = cc_list.get_by_role("option")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("디자인팀 Design")
    cc.press("Tab")
    expect(cc).to_have_value("김보라 <bora@example.test>, 캐럴 Carol <carol@example.test>, ")

    # Escape closes the list without changing what was typed.
    bcc = page.get_by_role("combobox", name="Bcc:", exact=True)
    bcc.press_sequentially("zz, bo")
    expect(page.get_by_role("listbox", name=re.compile("^Suggestions for Bcc"))).to_be_visible()
    bcc.press("Escape")
    expect(page.get_by_role("listbox", name=re.compile("^Suggestions for Bcc"))).to_be_hidden()
    expect(bcc).to_have_value("zz, bo")
    bcc.fill("")

    page.get_by_label("Subject").fill("Autocomplete")
    shot(page, "autocomplete-chosen", "autocomplete")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    assert devmail.message_count("bob@example.test") == 1
    assert devmail.message_count("carol@example.test") == 1
    assert devmail.message_count("bora@example.test") == 0  # not a devmail mailbox
    assert csp_violations(page) == []
    assert page.record.page_errors == []


def test_several_addresses_in_one_field_and_the_token_under_the_caret(
    new_page, devmail, alice_with_contacts
):
    page = new_page()
    log_in(page, "alice")
    page.goto("/compose/")
    to = page.get_by_role("combobox", name="To:", exact=True)
    to.press_sequentially("someone@example.test, 캐")
    to_list = page.get_by_role("listbox", name=re.compile("^Suggestions for To"))
    option = to_list.get_by_role("option")
    expect(option).to_have_count(1)
    option.click()
    expect(to).to_have_value("someone@example.test, 캐럴 Carol <carol@example.test>, ")
    expect(to).to_be_focused()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_is_clean_with_the_suggestion_list_open(new_page, alice_with_contacts, scheme):
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE}")
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(AXE))
    log_in(page, "alice")
    page.goto("/compose/")
    to = page.get_by_role("combobox", name="To:", exact=True)
    to.press_sequentially("bo")
    expect(page.get_by_role("listbox", name=re.compile("^Suggestions for To"))).to_be_visible()
    shot(page, f"autocomplete-open-{scheme}", "autocomplete")
    assert page.evaluate(RUN_AXE) == []
    assert csp_violations(page) == []
