"""String comparisons as Sieve makes them with the ``i;ascii-casemap`` comparator.

ASCII letters compare case-insensitively and every other character exactly (RFC 4790):
"ALICE" is "alice", but no Unicode case folding happens, so a Sieve server and this
module agree on every string. Hangul has no case, so Korean text compares exactly.

``:matches`` globs (RFC 5228 section 2.7.1): ``*`` matches any run of characters (also
none), ``?`` exactly one character, and a backslash makes the next character literal.
"""

from __future__ import annotations

import functools
import re

__all__ = ["ascii_fold", "contains", "escape_glob", "glob_matches", "same"]

_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_fold(text: str) -> str:
    """``text`` with ASCII capitals lowered and nothing else changed."""
    return text.translate(_FOLD)


def contains(haystack: str, needle: str) -> bool:
    return ascii_fold(needle) in ascii_fold(haystack)


def same(left: str, right: str) -> bool:
    return ascii_fold(left) == ascii_fold(right)


def glob_matches(text: str, pattern: str) -> bool:
    """True if the whole of ``text`` matches the Sieve glob ``pattern``."""
    return _compiled(pattern).fullmatch(ascii_fold(text)) is not None


def escape_glob(text: str) -> str:
    """A glob matching exactly ``text``: ``*``, ``?`` and ``\\`` escaped with a backslash."""
    return re.sub(r"([*?\\])", r"\\\1", text)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(ascii_fold(pattern))
    for char in chars:
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "\\":
            out.append(re.escape(next(chars, "\\")))  # a trailing backslash is itself
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)
