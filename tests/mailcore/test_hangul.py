"""Initial consonants (초성) of Hangul text, for initial-consonant search."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailcore.hangul import INITIALS, initials, is_initials


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("김지현", "ㄱㅈㅎ"),
        ("까치", "ㄲㅊ"),  # double consonants are initials of their own
        ("똠방각하", "ㄸㅂㄱㅎ"),
        ("빨강 쌍둥이 짝꿍", "ㅃㄱ ㅆㄷㅇ ㅉㄲ"),
        ("가힣", "ㄱㅎ"),  # the first and last syllables
        ("Kim 지현 (영업팀) 2", "Kim ㅈㅎ (ㅇㅇㅌ) 2"),  # everything else stays
        ("ㄱㅈㅎ", "ㄱㅈㅎ"),  # consonants typed alone are already initials
        ("", ""),
    ],
)
def test_initials(text, expected):
    assert initials(text) == expected


def test_initials_of_a_decomposed_name():
    assert initials(unicodedata.normalize("NFD", "김지현")) == "ㄱㅈㅎ"


@pytest.mark.parametrize(
    ("term", "expected"),
    [("ㄱㅈㅎ", True), ("ㄲ", True), ("ㄳ", True), ("김ㅈㅎ", False), ("ㄱa", False), ("", False)],
)
def test_is_initials(term, expected):
    assert is_initials(term) is expected


syllables = st.text(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1)


@given(syllables)
def test_every_syllable_becomes_one_of_the_nineteen_initials(text):
    result = initials(text)
    assert len(result) == len(text)
    assert set(result) <= set(INITIALS)
    assert is_initials(result)


@given(st.integers(0, 18), st.integers(0, 20), st.integers(0, 27))
def test_a_syllable_keeps_the_initial_it_was_composed_from(initial, vowel, final):
    syllable = chr(0xAC00 + (initial * 21 + vowel) * 28 + final)
    assert initials(syllable) == INITIALS[initial]
    # The same consonant as Unicode's own name of the syllable's leading jamo.
    leading = unicodedata.normalize("NFD", syllable)[0]
    assert unicodedata.name(leading).split()[-1] == unicodedata.name(INITIALS[initial]).split()[-1]


no_hangul = st.text(
    st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters=[chr(c) for c in range(0x1100, 0x1200)],
    ).filter(lambda c: not 0xAC00 <= ord(c) <= 0xD7A3 and not 0xA960 <= ord(c) <= 0xD7FF)
)


@given(no_hangul)
def test_text_without_hangul_is_left_alone(text):
    text = unicodedata.normalize("NFC", text)
    assert initials(text) == text
