"""Tests of mailcore.addresses: the address lists users type, and how addresses print."""

from __future__ import annotations

import pytest

from mailcore.addresses import Address, AddressError, parse_address_list


def test_parse_address_list_mixed_forms_and_korean():
    text = 'Alice <a@x.test>, b@y.test, "Kim, Minsu" <m@z.kr>, 김민수 <k@z.kr>'
    assert parse_address_list(text) == [
        Address("Alice", "a@x.test"),
        Address("", "b@y.test"),
        Address("Kim, Minsu", "m@z.kr"),
        Address("김민수", "k@z.kr"),
    ]


@pytest.mark.parametrize("text", ["", "   ", " , ,; "])
def test_parse_address_list_empty(text):
    assert parse_address_list(text) == []


def test_parse_address_list_semicolons_trailing_separator_and_comment():
    assert parse_address_list("a@x.test; b@y.test (Bob, B.),") == [
        Address("", "a@x.test"),
        Address("Bob, B.", "b@y.test"),
    ]


def test_parse_address_list_quoted_local_part_and_escaped_name():
    assert parse_address_list('"Kim \\"K\\"" <"john doe"@x.test>') == [
        Address('Kim "K"', '"john doe"@x.test')
    ]


def test_parse_address_list_encodes_international_domain_and_lowercases_it():
    assert parse_address_list("User@한국.KR") == [Address("", "User@xn--3e0b707e.kr")]


def test_parse_address_list_decodes_a_pasted_encoded_word_name():
    assert parse_address_list("=?UTF-8?B?6rmA66+87IiY?= <k@z.kr>") == [Address("김민수", "k@z.kr")]


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("a@x.test, nobody", "nobody"),
        ("a@x.test, bob@", "bob@"),
        ("a@x.test, @x.test", "@x.test"),
        ("Alice <a@x.test", "Alice <a@x.test"),
        ("a@x.test>", "a@x.test>"),
        ("Alice <a@x.test> <b@y.test>", "Alice <a@x.test> <b@y.test>"),
        ('"Kim, Minsu <m@z.kr>, b@y.test', '"Kim, Minsu <m@z.kr>, b@y.test'),
        ("ok@x.test, a b@x.test", "a b@x.test"),
        ("Alice a@x.test", "Alice a@x.test"),
        ("a@x", "a@x"),
        ("a@-x.test", "a@-x.test"),
        ("a@x..test", "a@x..test"),
        ("a@x_y.test", "a@x_y.test"),
        ("a@192.0.2.1", "a@192.0.2.1"),
        ("a@[192.0.2.1]", "a@[192.0.2.1]"),
        ("a..b@x.test", "a..b@x.test"),
        (".a@x.test", ".a@x.test"),
        ("김@x.test", "김@x.test"),
        ("Alice <>", "Alice <>"),
        ("a@x.test junk <b@y.test>", "a@x.test junk <b@y.test>"),
        ("a@x.test (unclosed", "a@x.test (unclosed"),
        ("x" * 65 + "@x.test", "x" * 65 + "@x.test"),
    ],
)
def test_parse_address_list_names_the_bad_item(text, item):
    with pytest.raises(AddressError) as caught:
        parse_address_list(text)
    assert caught.value.item == item
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "text",
    ["a@x.test\r\nBcc: evil@x.test", "a@x.test,\nb@y.test", "Ali\rce <a@x.test>", "a@x.test\n"],
)
def test_parse_address_list_refuses_line_breaks_anywhere(text):
    with pytest.raises(AddressError) as caught:
        parse_address_list(text)
    assert "\n" not in caught.value.item and "\r" not in caught.value.item


def test_address_error_names_the_first_bad_item():
    with pytest.raises(AddressError) as caught:
        parse_address_list("good@x.test, first-bad, second bad@x.test")
    assert caught.value.item == "first-bad"


@pytest.mark.parametrize(
    ("address", "text"),
    [
        (Address("", "a@x.test"), "a@x.test"),
        (Address("Alice Example", "a@x.test"), "Alice Example <a@x.test>"),
        (Address("김민수", "k@z.kr"), "김민수 <k@z.kr>"),
        (Address("Kim, Minsu", "m@z.kr"), '"Kim, Minsu" <m@z.kr>'),
        (Address("J. Smith", "j@x.test"), '"J. Smith" <j@x.test>'),
        (Address('Say "hi" \\o/', "s@x.test"), '"Say \\"hi\\" \\\\o/" <s@x.test>'),
        (Address("a@b.test", "c@d.test"), '"a@b.test" <c@d.test>'),
    ],
)
def test_address_str_quotes_only_when_needed_and_parses_back(address, text):
    assert str(address) == text
    assert parse_address_list(str(address)) == [address]
