"""Plain text from HTML (for snippets, search and replies) and whitespace collapsing."""

from __future__ import annotations

import html
import re

_TAG_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9:-]*)")
_RAW_TEXT_END = {
    tag: re.compile(rf"</{tag}\b", re.I) for tag in ("script", "style", "title", "template")
}
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody tfoot thead tr ul".split()
)
_NON_SPACE = re.compile(r"\S+")


def html_to_text(markup: str, max_chars: int | None = None) -> str:
    """Visible text of an HTML document, entities unescaped; script/style/title dropped.

    A single linear scan (str.find only moves forward), so hostile markup cannot make it
    quadratic. With ``max_chars`` it stops reading early and returns at most that much.
    """
    out: list[str] = []
    budget = None if max_chars is None else max_chars * 10 + 64  # entities shrink text
    collected = 0
    find = markup.find
    pos, end = 0, len(markup)
    while pos < end:
        lt = find("<", pos)
        if lt < 0:
            lt = end
        if lt > pos:
            chunk = markup[pos:lt]
            out.append(chunk)
            if budget is not None:
                collected += len(chunk.strip())
                if collected >= budget:
                    break
        if lt >= end:
            break
        if markup.startswith("<!--", lt):
            close = find("-->", lt + 4)
            pos = end if close < 0 else close + 3
            continue
        if markup.startswith(("<!", "<?"), lt):
            close = find(">", lt)
            pos = end if close < 0 else close + 1
            continue
        match = _TAG_NAME.match(markup, lt + 1)
        if not match:
            out.append("<")  # a literal "<", as in "a < b"
            pos = lt + 1
            continue
        close = find(">", match.end())
        if close < 0:
            break
        pos = close + 1
        tag = match.group(1).lower()
        if tag in _BLOCK_TAGS:
            if out and out[-1] != "\n":
                out.append("\n")  # "</div><div>" is one line break, not two
        elif tag in ("td", "th"):
            out.append(" ")
        closing = markup[lt + 1] == "/"
        if not closing and tag in _RAW_TEXT_END and markup[close - 1] != "/":
            found = _RAW_TEXT_END[tag].search(markup, pos)
            if found is None:
                break
            close = find(">", found.end())
            pos = end if close < 0 else close + 1
    lines: list[str] = []
    for line in html.unescape("".join(out)).split("\n"):
        line = " ".join(line.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    text = "\n".join(lines).strip()
    return text if max_chars is None else text[:max_chars]


def collapse_whitespace(text: str, length: int) -> str:
    words: list[str] = []
    total = 0
    for match in _NON_SPACE.finditer(text):
        words.append(match.group())
        total += len(words[-1]) + 1
        if total > length:
            break
    return " ".join(words)[:length].rstrip()
