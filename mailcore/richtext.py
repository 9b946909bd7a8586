"""Rich-text mail the user writes: the compose allow-list, and the text part derived from it.

No Django here. The browser's HTML (the editor's, a pasted Word document, a quoted
original) is never trusted: :func:`sanitize_compose_html` runs it through nh3 (ammonia)
with a small allow-list before anything is stored or sent, and :func:`html_to_text`
derives the ``text/plain`` alternative from that sanitized HTML, so both parts of a
message say the same thing.

Images are allowed only as ``cid:`` references to the message's own inline parts (or,
in a signature, a path on our own origin): the caller's ``image_src`` decides what an
``<img src>`` becomes (a ``cid:`` URL or a path it knows) and everything else
(``data:``, remote ``http(s)``, relative URLs) is dropped with the image. Colours are
the only inline CSS kept (``color``, ``background-color``, with a plain colour value).

:func:`mentions_attachment` is the forgotten-attachment check: does the text the user
wrote (not the quote under it, not the signature) speak of an attachment?
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from html.parser import HTMLParser

import nh3

__all__ = [
    "SIGNATURE_CLASS",
    "html_to_text",
    "mentions_attachment",
    "sanitize_compose_html",
    "text_to_html",
]

# --- the compose allow-list -----------------------------------------------------------

# A signature block in the editor: compose swaps its content when the user picks another.
SIGNATURE_CLASS = "signature"

_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "div", "em", "font", "h1", "h2", "h3", "hr",
        "i", "img", "li", "ol", "p", "pre", "s", "span", "strike", "strong", "sub", "sup",
        "u", "ul",
        # A quoted original keeps its tables readable (no attributes but spans).
        "table", "thead", "tbody", "tfoot", "tr", "td", "th",
    }
)  # fmt: skip
_DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "noscript", "noembed", "noframes", "template", "svg", "math", "title", "head",
        "textarea", "select", "xmp", "plaintext",
    }
)  # fmt: skip
_ATTRS = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color"},
    "span": {"style"},
    "p": {"style"},
    "div": {"style"},
    "blockquote": {"type"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_LINK_SCHEMES = ("http", "https", "mailto")
_SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_STRIP = "".join(chr(c) for c in range(0x21))
_TAB_NL_RE = re.compile(r"[\t\n\r]")
# A colour value and nothing else: #rgb/#rrggbb(aa), rgb()/rgba() of numbers, a name.
_COLOUR_RE = re.compile(
    r"#[0-9a-fA-F]{3,8}|rgba?\(\s*[\d.%]+\s*(?:,\s*[\d.%]+\s*){2,3}\)|[a-zA-Z]{3,20}"
)
_STYLE_PROPERTIES = ("color", "background-color")
_NUMBER_RE = re.compile(r"\d{1,4}")


def _url(raw: str) -> str:
    return _TAB_NL_RE.sub("", raw.strip(_STRIP))


def _scheme(url: str) -> str | None:
    m = _SCHEME_RE.match(url)
    return m.group(1).lower() if m else None


def _style(value: str) -> str | None:
    kept = []
    for declaration in value.split(";"):
        name, sep, colour = declaration.partition(":")
        name, colour = name.strip().lower(), colour.strip()
        if sep and name in _STYLE_PROPERTIES and _COLOUR_RE.fullmatch(colour):
            if colour.lower() not in ("expression", "inherit", "initial", "unset"):
                kept.append(f"{name}: {colour}")
    return "; ".join(kept) or None


def _image_url(url: str) -> bool:
    # A cid: of the message's own part, or a path on our own origin (never "//host").
    if url.lower().startswith("cid:"):
        return True
    return url.startswith("/") and not url.startswith(("//", "/\\")) and _url(url) == url


def sanitize_compose_html(html: str, image_src: Callable[[str], str | None] | None = None) -> str:
    """The compose allow-list applied to ``html`` (the editor's, or a quoted original).

    Kept: paragraphs and line breaks, bold/italic/underline/strike, lists, quotes,
    headings 1-3, links to http/https/mailto, colour (``<font color>``, ``style`` with
    only ``color``/``background-color``), simple tables, and images whose src
    ``image_src`` turns into a ``cid:`` URL or a path on our own origin (a signature's
    image, shown by our URL; ``None`` → the image is dropped). Scripts,
    ``on*`` handlers, ``javascript:`` links, remote and ``data:`` images, CSS
    expressions and every class but the signature block's are removed.
    """

    def attribute(tag: str, attr: str, value: str) -> str | None:
        if tag not in _TAGS:
            return None
        if attr == "href":
            url = _url(value)
            return url if _scheme(url) in _LINK_SCHEMES else None
        if attr == "src":
            new = image_src(_url(value)) if image_src else None
            return new if new and _image_url(new) else None
        if attr == "style":
            return _style(value)
        if attr == "color":
            return value.strip() if _COLOUR_RE.fullmatch(value.strip()) else None
        if attr == "type":
            return "cite" if value.strip().lower() == "cite" else None
        if attr in ("width", "height", "start", "colspan", "rowspan"):
            return value.strip() if _NUMBER_RE.fullmatch(value.strip()) else None
        return value

    cleaner = nh3.Cleaner(
        tags=set(_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in _ATTRS.items()},
        attribute_filter=attribute,
        allowed_classes={"div": {SIGNATURE_CLASS}},
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto", "cid"},
        url_relative="pass_through",  # the filter decides (an editor URL → cid:)
    )
    cleaned = cleaner.clean(html)
    return _EMPTY_IMG_RE.sub("", cleaned)


# An <img> whose src the filter dropped shows nothing: it goes too.
_EMPTY_IMG_RE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")


def text_to_html(text: str) -> str:
    """Plain text as HTML paragraphs (one per line, blank lines kept), escaped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(f"<p>{html_lib.escape(line)}</p>" if line else "<p><br></p>" for line in lines)


# --- the derived text part ------------------------------------------------------------

_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "ul", "ol", "li", "blockquote", "pre", "table", "tr", "hr"}
)
_SPACES_RE = re.compile(r"[ \t\r\n\f]+")


class _TextWriter(HTMLParser):
    """Walks sanitized HTML and writes the text a plain-text reader expects."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.quote = 0
        self.lists: list[list[int | None]] = []  # [counter or None for bullets]
        self.links: list[str | None] = []
        self.link_text: list[int] = []
        self.pre = 0
        self.heading = ""
        self.prefix_pending = ""

    # lines ------------------------------------------------------------------------
    def _prefix(self) -> str:
        return "> " * self.quote

    def _flush(self, force: bool = False) -> None:
        text = "".join(self.line)
        self.line = []
        if not self.pre:
            text = text.strip(" ")
        if text or force:
            line = (self._prefix() + self.prefix_pending + text).rstrip(" ")
            if text == "--":  # the signature delimiter keeps its space
                line += " "
            self.lines.append(line)
            self.prefix_pending = ""

    def _blank(self) -> None:
        self._flush()
        if self.lines and self.lines[-1].endswith("-- "):
            return  # the signature follows its delimiter line directly
        if self.lines and self.lines[-1].strip("> ") != "":
            self.lines.append(self._prefix().rstrip())

    def _write(self, text: str) -> None:
        if not self.pre:
            text = _SPACES_RE.sub(" ", text)
            if not self.line and not self.prefix_pending:
                text = text.lstrip(" ")
            elif self.line and self.line[-1].endswith(" "):
                text = text.lstrip(" ")
            # Editors keep typed spaces as no-break spaces; a text reader wants spaces.
            text = text.replace("\xa0", " ")
        self.line.append(text)

    # parser callbacks -------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "br":
            self._flush(force=True)
        elif tag in ("p", "div", "table", "tr", "pre", "h1", "h2", "h3"):
            if tag in ("p", "h1", "h2", "h3", "pre") and self.lines and not self.lists:
                self._blank()
            else:
                self._flush()
            if tag == "pre":
                self.pre += 1
            if tag in ("h1", "h2", "h3"):
                self.heading = tag
        elif tag == "blockquote":
            self._blank()
            self.quote += 1
        elif tag in ("ul", "ol"):
            if self.lists:
                self._flush()
            else:
                self._blank()
            start = values.get("start")
            counter = int(start) - 1 if start and start.isdigit() else 0
            self.lists.append([counter if tag == "ol" else None])
        elif tag == "li":
            self._flush()
            indent = "  " * max(len(self.lists) - 1, 0)
            current = self.lists[-1] if self.lists else [None]
            if current[0] is None:
                self.prefix_pending = indent + "- "
            else:
                current[0] += 1
                self.prefix_pending = f"{indent}{current[0]}. "
        elif tag == "hr":
            self._flush()
            self.lines.append(self._prefix() + "-" * 20)
        elif tag == "a":
            self.links.append(values.get("href"))
            self.link_text.append(len("".join(self.line)))
        elif tag == "img":
            alt = (values.get("alt") or "").strip()
            if alt:
                joined = "".join(self.line)
                self._write(f" [{alt}]" if joined and not joined.endswith(" ") else f"[{alt}]")
        elif tag in ("td", "th") and self.line:
            self._write(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "div", "li", "tr", "table"):
            self._flush()
        elif tag in ("h1", "h2", "h3"):
            text = "".join(self.line).strip()
            self.line = [text.upper() if tag == "h1" and text.isascii() else text]
            self._flush()
            if text:  # an underline keeps a heading a heading in plain text
                self.lines.append(self._prefix() + ("=" if tag == "h1" else "-") * _width(text))
            self.heading = ""
            self._blank()
        elif tag == "pre":
            self._flush()
            self.pre = max(self.pre - 1, 0)
        elif tag == "blockquote":
            self._flush()
            while self.lines and self.lines[-1] == self._prefix().rstrip():
                self.lines.pop()
            self.quote = max(self.quote - 1, 0)
            self._blank()
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._blank()
        elif tag == "a" and self.links:
            href = self.links.pop()
            start = self.link_text.pop()
            text = "".join(self.line)[start:].strip()
            if href:
                target = href[7:] if href.lower().startswith("mailto:") else href
                if text != target and text != href:
                    self._write(f" [{target}]" if text else target)

    def handle_data(self, data: str) -> None:
        self._write(data)

    def result(self) -> str:
        self._flush()
        while self.lines and not self.lines[-1].strip("> "):
            self.lines.pop()
        while self.lines and not self.lines[0].strip("> "):
            self.lines.pop(0)
        out: list[str] = []
        for line in self.lines:  # at most one blank line in a row
            if out and not line.strip("> ") and not out[-1].strip("> "):
                continue
            out.append(line)
        return "\n".join(out) + "\n" if out else ""


def _width(text: str) -> int:
    # Hangul and other wide characters take two columns in a monospace reader.
    return sum(2 if ord(ch) >= 0x1100 else 1 for ch in text)


def html_to_text(html: str) -> str:
    """The text/plain alternative of sanitized compose HTML.

    Paragraphs and line breaks become lines, links ``text [url]`` (the address alone
    when it is the text), bulleted items ``- ``, numbered ``1. ``, quotes ``> `` on each
    line, headings their text underlined; images their alt text.
    """
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.result()


# --- forgotten attachments ------------------------------------------------------------

_ATTACH_WORDS_RE = re.compile(r"\battach(?:ed|ment|ments|ing|es)?\b|첨부|붙임", re.IGNORECASE)
# Where what the user wrote ends: a reply's quote, an inline forward, the signature.
_FORWARD_RE = re.compile(r"^-{5,} .+ -{5,}$")


def mentions_attachment(text: str, wrote_line: str = "") -> bool:
    """Whether the user's own text speaks of an attachment (attached, attachment, attach,
    첨부, 첨부파일, 붙임): quoted lines (``>``), the signature (after ``-- ``), an inline
    forward's block, and the reply's attribution line (``wrote_line``, when given, a
    regular expression) are left out."""
    own: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if line == "-- " or _FORWARD_RE.match(line.strip()):
            break
        if line.startswith(">"):
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if following.startswith(">") and line.rstrip().endswith(":"):
            continue  # "On …, … wrote:" above a quote
        if wrote_line and re.fullmatch(wrote_line, line.strip()):
            continue
        own.append(line)
    return bool(_ATTACH_WORDS_RE.search("\n".join(own)))
