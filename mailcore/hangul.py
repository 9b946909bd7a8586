"""Hangul: the initial consonants (초성) of text, for initial-consonant search.

Korean users find 김지현 by typing ``ㄱㅈㅎ``: each precomposed syllable is reduced to
its initial consonant, written as the compatibility jamo a keyboard types on its own
(U+3131..U+314E). Pure functions over ``str``: the message search and the contacts
autocomplete use them alike.
"""

from __future__ import annotations

import unicodedata

__all__ = ["CONSONANTS", "INITIALS", "initials", "is_initials"]

_FIRST_SYLLABLE = 0xAC00  # 가
_SYLLABLES = 11_172  # 가..힣: 19 initials x 21 vowels x 28 finals
_PER_INITIAL = 21 * 28
# The 19 initial consonants in Unicode's order, as compatibility jamo.
INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
# Every compatibility consonant, clusters such as ㄳ included: what a term of
# initials may be made of.
CONSONANTS = frozenset(map(chr, range(0x3131, 0x314F)))
_TO_INITIAL = {
    _FIRST_SYLLABLE + index: INITIALS[index // _PER_INITIAL] for index in range(_SYLLABLES)
}


def initials(text: str) -> str:
    """``text`` with every Hangul syllable replaced by its initial consonant.

    Everything else (Latin letters, digits, spaces, jamo typed alone) is left as it
    is: ``initials("김지현") == "ㄱㅈㅎ"``, ``initials("까치 Kim") == "ㄲㅊ Kim"``.
    Decomposed syllables (conjoining jamo, as some systems write names) are composed
    first.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.translate(_TO_INITIAL)


def is_initials(term: str) -> bool:
    """Whether ``term`` is made only of consonants typed alone (``ㄱㅈㅎ``), so that
    it is meant as initials."""
    return bool(term) and all(char in CONSONANTS for char in term)
