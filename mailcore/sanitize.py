"""Turn a stranger's email body into HTML that is safe to show.

No Django here: the read view wraps the result in an ``<iframe sandbox>`` with
its own strict CSP, but this module must be safe on its own (defence in depth).

HTML goes through nh3 (ammonia, a real HTML5 parser and serialiser) with
explicit allow-lists; every kept attribute then passes our ``attribute_filter``,
which decides URLs (remote images, ``cid:``, ``data:``) and re-builds inline CSS
from a small, validated set of declarations.

``<style>`` elements are dropped with their content. Sanitising a whole
stylesheet (selectors that can restyle the host, ``@import``, ``@font-face``,
remote ``url()`` in every rule) is a large attack surface for a layout
nicety; inline ``style`` attributes, which most mail templates inline anyway,
are kept after filtering.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

import nh3

__all__ = ["SanitizedHtml", "render_plain_text", "sanitize_email_html"]


@dataclass(frozen=True)
class SanitizedHtml:
    html: str  # safe HTML fragment (body content)
    remote_blocked: bool  # a remote resource (img src, background, CSS url()) was removed
    has_remote: bool  # the message references a remote resource we would show if allowed
    # The sanitized HTML sets its own text or background colours: shown on a light sheet
    # in dark mode, since recolouring it could leave dark text on a dark background.
    sets_colours: bool = False


# --- allow-lists -------------------------------------------------------------

_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
        "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span",
        "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "tt", "u", "ul", "wbr",
    }
)  # fmt: skip

# Dropped together with everything inside them: code, raw text, fallback
# markup for plugins, and foreign content (svg/math are mXSS playgrounds).
# Other unknown tags (form, button, font-face junk...) are unwrapped: their
# text survives, the tag does not.
_DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "noscript", "noembed", "noframes", "template", "svg", "math", "title", "head",
        "textarea", "select", "xmp", "plaintext",
    }
)  # fmt: skip

# No class/id: they would let a message clobber or restyle the host page.
_GENERIC_ATTRS = frozenset(
    {
        "align", "valign", "width", "height", "border", "cellpadding", "cellspacing",
        "colspan", "rowspan", "bgcolor", "color", "face", "size", "dir", "lang", "title",
        "style",
    }
)  # fmt: skip
_TAG_ATTRS = {
    "*": set(_GENERIC_ATTRS),
    "a": {"href"},
    "img": {"src", "alt"},
    # Legacy background images: URLs, so they go through the same remote checks.
    "table": {"background"},
    "tr": {"background"},
    "td": {"background", "scope"},
    "th": {"background", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"type", "value"},
}

_LINK_REL = "noopener noreferrer nofollow"
# A single attribute: ammonia adds these from a hash map, so two would come out
# in random order and break stable output. Remote <img> hints are added after.
_SET_ATTRS = {"a": {"target": "_blank"}}
_REMOTE_IMG_HINTS = ' referrerpolicy="no-referrer" loading="lazy"'
_LINK_ATTRS = f' target="_blank" rel="{_LINK_REL}"'
# These run on ammonia's serialisation, where '<', '>' and '"' inside attribute
# values are escaped: "<img" ... ">" is exactly one tag, and ' rel="..."' can
# only be an attribute, never part of a value.
_IMG_TAG_RE = re.compile(r"<img\b[^>]*>")
_A_TAG_RE = re.compile(r"<a\b[^>]*>")
_REMOTE_SRC_RE = re.compile(r' src="https?:', re.IGNORECASE)
# Ammonia's own scheme check is a second lock; the filter below is stricter.
_URL_SCHEMES = {"http", "https", "mailto", "cid", "data"}

# --- URLs ----------------------------------------------------------------------

_SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_STRIP_CHARS = "".join(chr(c) for c in range(0x21))  # C0 controls and space, as browsers do
_TAB_NL_RE = re.compile(r"[\t\n\r]")
_DATA_IMAGE_RE = re.compile(r"data:image/(?:png|gif|jpeg|jpg|webp)(?:;[^,]*)?,", re.IGNORECASE)


def _normalize_url(url: str) -> str:
    # Browsers strip leading/trailing controls and ignore tab/newline anywhere,
    # which is how "java&#x09;script:" works; see the URL the way they do.
    return _TAB_NL_RE.sub("", url.strip(_STRIP_CHARS))


def _scheme(url: str) -> str | None:
    m = _SCHEME_RE.match(url)
    return m.group(1).lower() if m else None


def _is_protocol_relative(url: str) -> bool:
    # "//host" and, thanks to browsers mapping "\" to "/", "/\host" and "\\host".
    return len(url) >= 2 and url[0] in "/\\" and url[1] in "/\\"


class _Policy:
    """Per-call decisions and findings; the nh3 callback closes over one."""

    def __init__(self, allow_remote: bool, cid_url: Callable[[str], str | None] | None) -> None:
        self.allow_remote = allow_remote
        self.cid_url = cid_url
        self.has_remote = False
        self.remote_blocked = False

    def resource(self, raw: str, *, allow_data: bool) -> str | None:
        """URL for something the browser fetches by itself (img src, backgrounds)."""
        url = _normalize_url(raw)
        scheme = _scheme(url)
        if scheme == "cid":
            return self._cid(url)
        if scheme in ("http", "https") or (scheme is None and _is_protocol_relative(url)):
            self.has_remote = True
            if not self.allow_remote:
                # Drop the URL entirely: it is usually a per-recipient tracking link.
                self.remote_blocked = True
                return None
            return "https://" + url[2:] if scheme is None else url
        if scheme == "data" and allow_data and _DATA_IMAGE_RE.match(url):
            return url
        # Relative URLs would hit our own origin; everything else is hostile or useless.
        return None

    def _cid(self, url: str) -> str | None:
        if self.cid_url is None:
            return None
        content_id = unquote(url[4:]).strip().strip("<>")
        if not content_id:
            return None
        return self.cid_url(content_id)

    def filter(self, tag: str, attr: str, value: str) -> str | None:
        # Ammonia also calls us for elements it is about to drop (<script src>,
        # <audio src>...): ignore those so they neither count as remote nor
        # reach cid_url.
        if tag not in _TAGS:
            return None
        if attr == "href":
            return _link(value)
        if attr == "src":
            return self.resource(value, allow_data=True)
        if attr == "background":
            return self.resource(value, allow_data=False)
        if attr == "style":
            return _clean_style(value, self) or None
        return value


def _link(raw: str) -> str | None:
    url = _normalize_url(raw)
    scheme = _scheme(url)
    if scheme in ("http", "https", "mailto"):
        return url
    if scheme is None and _is_protocol_relative(url):
        return "https://" + url[2:]
    return None  # javascript:, data:, relative links to our own pages, ...


# --- inline CSS ----------------------------------------------------------------

_SIDES = ("top", "right", "bottom", "left")
_CSS_PROPERTIES = frozenset(
    {
        "color", "background", "background-color", "background-image", "background-repeat",
        "background-position", "background-size",
        "font", "font-family", "font-size", "font-style", "font-variant", "font-weight",
        "font-stretch",
        "text-align", "text-decoration", "text-decoration-line", "text-decoration-color",
        "text-decoration-style", "text-indent", "text-transform", "text-shadow",
        "text-overflow",
        "line-height", "letter-spacing", "word-spacing", "white-space", "vertical-align",
        "word-break", "word-wrap", "overflow-wrap",
        "margin", "padding", "border", "border-width", "border-style", "border-color",
        "border-radius", "border-collapse", "border-spacing",
        "width", "height", "max-width", "min-width", "max-height", "min-height",
        "display", "list-style", "list-style-type", "list-style-position", "list-style-image",
        "table-layout", "direction", "float", "clear", "overflow", "overflow-x", "overflow-y",
        "caption-side", "empty-cells",
    }
    | {f"margin-{s}" for s in _SIDES}
    | {f"padding-{s}" for s in _SIDES}
    | {f"border-{s}" for s in _SIDES}
    | {f"border-{s}-{p}" for s in _SIDES for p in ("width", "style", "color")}
    | {f"border-{v}-{h}-radius" for v in ("top", "bottom") for h in ("left", "right")}
)  # fmt: skip

# Properties whose values are a small keyword set; anything else is dropped.
# display:none stays allowed: without <style> media queries, templates rely on
# it to hide preheaders and mobile-only duplicates; hiding is not an attack here.
_CSS_KEYWORDS = {
    "display": {
        "none", "block", "inline", "inline-block", "table", "inline-table", "table-row",
        "table-cell", "table-row-group", "table-header-group", "table-footer-group",
        "table-column", "table-column-group", "table-caption", "list-item", "flex",
        "inline-flex",
    },
    "overflow": {"hidden", "auto", "scroll"},
    "overflow-x": {"hidden", "auto", "scroll"},
    "overflow-y": {"hidden", "auto", "scroll"},
    "float": {"left", "right", "none"},
    "clear": {"left", "right", "both", "none"},
    "direction": {"ltr", "rtl"},
}  # fmt: skip
_CSS_FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla", "calc", "url"})
_CSS_BANNED_CHARS = frozenset("\\<>{}") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}
_CSS_BANNED_WORDS = ("expression", "javascript:", "vbscript:", "@import", "behavior", "binding")
_CSS_NAME_RE = re.compile(r"-?[a-z][a-z0-9-]*")
_CSS_STRING_RE = re.compile(r""""[^"]*"|'[^']*'""")
_CSS_FUNC_RE = re.compile(r"([A-Za-z0-9_-]*)\(")
_CSS_URL_RE = re.compile(
    r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^\s"'()]*))\s*\)""", re.IGNORECASE
)  # fmt: skip
_CSS_IMPORTANT_RE = re.compile(r"\s*!\s*important$", re.IGNORECASE)
_CSS_NEGATIVE_RE = re.compile(r"(?:^|[\s(,])-\.?\d")
_CSS_WS_RE = re.compile(r"[\t\n\r\f]")
_URL_UNSAFE_IN_CSS = frozenset("\"'() ") | _CSS_BANNED_CHARS


def _split_declarations(style: str) -> list[str]:
    """Split on ';' outside quotes and parentheses (values are re-checked later)."""
    parts: list[str] = []
    start = 0
    quote = ""
    depth = 0
    for i, ch in enumerate(style):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch == ";" and depth == 0:
            parts.append(style[start:i])
            start = i + 1
    parts.append(style[start:])
    return parts


def _balanced(value: str) -> bool:
    quote = ""
    depth = 0
    for ch in value:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return not quote and depth == 0


def _clean_declaration(name: str, value: str, policy: _Policy) -> str | None:
    if name not in _CSS_PROPERTIES or not value:
        return None
    lowered = value.lower()
    if any(ch in _CSS_BANNED_CHARS for ch in value) or "/*" in value or "*/" in value:
        return None
    if any(word in lowered for word in _CSS_BANNED_WORDS):
        return None
    if not _balanced(value):
        return None
    # Without backslashes, strings are plain and can be blanked for the checks below.
    bare = _CSS_STRING_RE.sub('""', value)
    if ";" in bare:
        return None
    # Only known functions: image-set("https://...") and friends fetch bare strings.
    if any(m.group(1).lower() not in _CSS_FUNCTIONS for m in _CSS_FUNC_RE.finditer(bare)):
        return None
    keywords = _CSS_KEYWORDS.get(name)
    if keywords is not None and _CSS_IMPORTANT_RE.sub("", lowered).strip() not in keywords:
        return None
    if name.startswith("margin") and _CSS_NEGATIVE_RE.search(bare):
        return None  # negative margins are how a message overlaps what precedes it
    if "url(" in bare.lower():
        # A "url(" inside a string would be rewritten too and unbalance it.
        if any("url(" in s.lower() for s in _CSS_STRING_RE.findall(value)):
            return None
        return _rewrite_css_urls(value, policy)
    return value


def _rewrite_css_urls(value: str, policy: _Policy) -> str | None:
    hostile = False

    def replace(m: re.Match[str]) -> str:
        nonlocal hostile
        raw = next(g for g in m.groups() if g is not None)
        url = _normalize_url(raw)
        scheme = _scheme(url)
        if scheme not in ("http", "https", "cid") and not _is_protocol_relative(url):
            hostile = True  # javascript:, data:, relative...: drop the whole declaration
            return ""
        new = policy.resource(url, allow_data=False)
        if new is None or any(ch in _URL_UNSAFE_IN_CSS for ch in new):
            return "none"  # blocked image: keep the rest, e.g. the background colour
        return f'url("{new}")'

    rewritten = _CSS_URL_RE.sub(replace, value)
    # Every url( must have been a well-formed one we rewrote.
    if hostile or value.lower().count("url(") != len(_CSS_URL_RE.findall(value)):
        return None
    return rewritten if _balanced(rewritten) else None


def _clean_style(style: str, policy: _Policy) -> str:
    kept: list[str] = []
    for decl in _split_declarations(_CSS_WS_RE.sub(" ", style)):
        name, sep, value = decl.partition(":")
        name = name.strip().lower()
        if not sep or not _CSS_NAME_RE.fullmatch(name):
            continue
        cleaned = _clean_declaration(name, value.strip(), policy)
        if cleaned:
            kept.append(f"{name}: {cleaned}")
    return "; ".join(kept)


# --- HTML ------------------------------------------------------------------------


def sanitize_email_html(
    html: str,
    *,
    allow_remote: bool = False,
    cid_url: Callable[[str], str | None] | None = None,
) -> SanitizedHtml:
    """Sanitise an HTML body for display.

    ``has_remote`` counts only what we would show with ``allow_remote`` (img src,
    background attributes, inline CSS url()); references inside dropped
    elements (``<style>``, ``<link>``...) are never shown, so they do not count.
    A ``cid:`` URL is rewritten through ``cid_url`` (unknown → removed); the
    returned URL is trusted as ours and not re-checked.
    """
    policy = _Policy(allow_remote, cid_url)
    cleaner = nh3.Cleaner(
        tags=set(_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in _TAG_ATTRS.items()},
        attribute_filter=policy.filter,
        strip_comments=True,  # also drops <!--[if mso]> conditional blocks
        link_rel=_LINK_REL,
        set_tag_attribute_values={tag: dict(v) for tag, v in _SET_ATTRS.items()},
        url_schemes=set(_URL_SCHEMES),
        url_relative="pass_through",  # the filter decides, and counts protocol-relative as remote
    )
    cleaned = cleaner.clean(html)
    cleaned = _A_TAG_RE.sub(_order_link_attrs, cleaned)
    if policy.has_remote and allow_remote:
        cleaned = _IMG_TAG_RE.sub(_add_remote_img_hints, cleaned)
    return SanitizedHtml(
        html=cleaned,
        remote_blocked=policy.remote_blocked,
        has_remote=policy.has_remote,
        sets_colours=_sets_colours(cleaned),
    )


def _sets_colours(cleaned: str) -> bool:
    """A colour in what survived sanitizing: bgcolor/color attributes, CSS colour properties."""
    return any(_SETS_COLOURS_RE.search(tag.group(0)) for tag in _START_TAG_RE.finditer(cleaned))


_START_TAG_RE = re.compile(r"<[a-zA-Z][^>]*>")
_SETS_COLOURS_RE = re.compile(
    r"""\b(?:bgcolor|color)\s*=|(?:^|[\s;"'])(?:color|background(?:-color|-image)?)\s*:""",
    re.IGNORECASE,
)


def _order_link_attrs(m: re.Match[str]) -> str:
    # When the filter drops href, ammonia swap-removes it and target/rel come out
    # reversed; a second pass would reorder them. Pin the order for stable output.
    tag = m.group(0)
    if _LINK_ATTRS in tag:
        return tag
    bare = tag.replace(' target="_blank"', "").replace(f' rel="{_LINK_REL}"', "")
    return bare[:-1] + _LINK_ATTRS + ">"


def _add_remote_img_hints(m: re.Match[str]) -> str:
    tag = m.group(0)
    if not _REMOTE_SRC_RE.search(tag):
        return tag
    return tag[:-1] + _REMOTE_IMG_HINTS + ">"


# --- plain text ------------------------------------------------------------------

# Linear: a fixed prefix, then one greedy character class; no nested quantifiers.
_URL_IN_TEXT_RE = re.compile(r"(?<![\w@.\-])(?:https?://|mailto:|www\.)[^\s<>\"]+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?'*_)]}"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _trim_url(url: str) -> str:
    # Sentence punctuation after a URL is not part of it; a closing bracket is,
    # if the URL opened one (Wikipedia-style links). Counts are kept, not
    # recomputed, so "http://x)))))..." stays linear.
    counts = {ch: url.count(ch) for ch in "()[]{}"}
    end = len(url)
    while end and url[end - 1] in _TRAILING_PUNCT:
        last = url[end - 1]
        opener = _PAIRS.get(last)
        if opener and counts[opener] >= counts[last]:
            break
        if opener:
            counts[last] -= 1
        end -= 1
    return url[:end]


def _linkify_line(line: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _URL_IN_TEXT_RE.finditer(line):
        url = _trim_url(m.group(0))
        lower = url.lower()
        prefix_len = 4 if lower.startswith("www.") else lower.index(":") + 1
        if lower.startswith(("http", "www.")) and lower[prefix_len:].startswith("//"):
            prefix_len += 2
        if len(url) <= prefix_len:
            continue  # a bare "http://" or "mailto:" is not a link
        href = "http://" + url if lower.startswith("www.") else url
        out.append(html_lib.escape(line[pos : m.start()]))
        out.append(
            f'<a href="{html_lib.escape(href)}" target="_blank" rel="{_LINK_REL}">'
            f"{html_lib.escape(url)}</a>"
        )
        pos = m.start() + len(url)
    out.append(html_lib.escape(line[pos:]))
    return "".join(out)


def render_plain_text(text: str) -> str:
    """Plain-text body → safe HTML for a ``white-space: pre-wrap`` container.

    Runs of lines starting with '>' become one foldable
    ``<details class="quoted"><summary>Quoted text</summary><blockquote class="quoted">``
    block; nesting stays flat and the '>' markers are kept so levels remain readable.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").split("\n")
    segments: list[str] = []
    run: list[str] = []
    run_quoted = False

    def flush() -> None:
        if not run:
            return
        body = "\n".join(_linkify_line(line) for line in run)
        if run_quoted:
            body = (
                '<details class="quoted"><summary>Quoted text</summary>'
                f'<blockquote class="quoted">{body}</blockquote></details>'
            )
        segments.append(body)
        run.clear()

    for line in lines:
        quoted = line.startswith(">")
        if run and quoted != run_quoted:
            flush()
        run_quoted = quoted
        run.append(line)
    flush()
    # Blocks break lines by themselves, so segments are joined without "\n".
    return "".join(segments)
