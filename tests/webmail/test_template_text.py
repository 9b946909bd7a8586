"""Every word a template shows goes through a translation tag.

The scanner splits each template with Django's own lexer, drops what is translated
({% translate %}, the body of {% blocktranslate %}), template comments and tags, and reads
what is left as HTML: the text between tags and the attributes people see or hear (title,
aria-label, placeholder, alt, the tooltips and confirmations our scripts show, the value
of a submit input) must hold no word outside a translation tag. A variable's visible
literal (`|default:"none"`, `|yesno:"yes,no"`) counts as text too, unless it is `_()`.

Not text: <script> and <style>, whitespace, punctuation, symbols and digits, single
Latin letters (shortcut keys such as "(e)" and "j / k"), and the allow-list below.
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates"] + sorted(
    path
    for path in ROOT.glob("*/templates")
    if path.is_dir() and path.parent.name not in {".venv", "tests", "testkit", "bench"}
)

# Names that stay as they are in every language: protocols, and the keys as printed on
# the keyboard.
ALLOWED = re.compile(
    r"(?<![\w/])(?:POP3|SMTP|STARTTLS|SSL/TLS|SSL|TLS|APOP|UIDL|Esc|Enter|Shift)(?![\w/])"
)
# A word: two or more letters of any script, or one letter outside ASCII (Korean 및).
WORD = re.compile(r"[^\W\d_]{2,}|[^\W\d_a-zA-Z]")
VISIBLE_ATTRIBUTES = {
    "title",
    "alt",
    "placeholder",
    "label",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-placeholder",
    "aria-valuetext",
    "data-tooltip",  # shown by app.css (content: attr(data-tooltip))
    "data-confirm",  # shown by app.js in window.confirm()
}
SUBMIT_INPUTS = {"submit", "button", "reset"}  # their value is the button's label
TRANSLATED_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
SKIPPED_BLOCKS = {"comment": "endcomment", **TRANSLATED_BLOCKS}
# A variable's literal that ends up on the page: |default:"…", |yesno:"…", unless _("…").
VISIBLE_LITERAL = re.compile(r"""\|(?:default|default_if_none|yesno):(?P<q>["'])(?P<s>.*?)(?P=q)""")
# Each variable becomes one private-use character, so the HTML parser keeps it in place.
VARIABLE_BASE = 0xF0000


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    where: str
    text: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.where}: {self.text!r}"


def untranslated_words(text: str) -> bool:
    return bool(WORD.search(ALLOWED.sub(" ", text)))


def html_of(source: str) -> tuple[str, list[str]]:
    """The template as HTML: tags and translated text blanked, variables as placeholders.

    Lines are kept, so the parser's positions are the template's.
    """
    html, variables, closing = [], [], None
    for token in Lexer(source).tokenize():
        if closing:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            html.append(" " + "\n" * token.contents.count("\n"))
        elif token.token_type == TokenType.TEXT:
            html.append(token.contents)
        elif token.token_type == TokenType.VAR:
            html.append(chr(VARIABLE_BASE + len(variables)))
            variables.append(token.contents)
        else:
            if token.token_type == TokenType.BLOCK:
                closing = SKIPPED_BLOCKS.get(token.contents.split()[0])
            html.append(" ")
    return "".join(html), variables


class TextFinder(HTMLParser):
    def __init__(self, path: str, variables: list[str]):
        super().__init__(convert_charrefs=True)
        self.path, self.variables = path, variables
        self.findings: list[Finding] = []
        self.raw = 0  # inside <script> or <style>

    def report(self, line: int, where: str, text: str):
        for mark in re.findall(r"[\U000f0000-\U000fffff]", text):
            for literal in VISIBLE_LITERAL.finditer(self.variables[ord(mark) - VARIABLE_BASE]):
                if untranslated_words(literal["s"]):
                    self.findings.append(Finding(self.path, line, where, literal["s"]))
        text = re.sub(r"[\U000f0000-\U000fffff]", " ", text)
        if untranslated_words(text):
            self.findings.append(Finding(self.path, line, where, " ".join(text.split())))

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self.raw += 1
        line, _ = self.getpos()
        source = self.get_starttag_text() or ""
        attributes = dict(attrs)
        for name, value in attrs:
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value"
                and tag == "input"
                and (attributes.get("type") or "").lower() in SUBMIT_INPUTS
            )
            if visible and value:
                offset = source.find(name + "=")
                self.report(line + source[: max(offset, 0)].count("\n"), f"<{tag} {name}>", value)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in {"script", "style"}:
            self.raw -= 1

    def handle_endtag(self, tag):
        if tag in {"script", "style"} and self.raw:
            self.raw -= 1

    def handle_data(self, data):
        if self.raw:
            return
        line, _ = self.getpos()
        stripped = data.lstrip()
        self.report(line + data[: len(data) - len(stripped)].count("\n"), "text", stripped)


def scan(source: str, path: str = "<template>") -> list[Finding]:
    html, variables = html_of(source)
    finder = TextFinder(path, variables)
    finder.feed(html)
    finder.close()
    return finder.findings


def templates() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def test_no_template_shows_text_outside_a_translation_tag():
    findings = [
        finding
        for path in templates()
        for finding in scan(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not findings, "untranslated text in templates:\n" + "\n".join(map(str, findings))


def test_the_scanner_reads_every_template():
    names = {str(path.relative_to(ROOT / "templates")) for path in templates()}
    assert {"base.html", "registration/login.html", "mailbox/_message.html"} <= names


@pytest.mark.parametrize(
    ("snippet", "found"),
    [
        ("<p>\n  Hello there</p>", ("text", "Hello there", 2)),
        ("{% load i18n %}<h1>{% translate 'Inbox' %} · Webmail</h1>", ("text", "· Webmail", 1)),
        ('<button aria-label="Close">x</button>', ("<button aria-label>", "Close", 1)),
        ('<a title="Open it" href="/">→</a>', ("<a title>", "Open it", 1)),
        ('<input\n  placeholder="Search mail">', ("<input placeholder>", "Search mail", 2)),
        ('<img alt="Logo" src="x.svg">', ("<img alt>", "Logo", 1)),
        ('<input type="submit" value="Send">', ("<input value>", "Send", 1)),
        ('<span data-tooltip="Remove">×</span>', ("<span data-tooltip>", "Remove", 1)),
        ('<button data-confirm="Empty it?">', ("<button data-confirm>", "Empty it?", 1)),
        ("<p>{{ subject|default:'(no subject)' }}</p>", ("text", "(no subject)", 1)),
        ("<p>받은편지함</p>", ("text", "받은편지함", 1)),
        ("<p>{% if a %}POP3 mailbox{% endif %}</p>", ("text", "POP3 mailbox", 1)),
    ],
)
def test_the_scanner_finds_untranslated_text(snippet, found):
    where, text, line = found
    assert [(f.where, f.text, f.line) for f in scan(snippet)] == [(where, text, line)]


@pytest.mark.parametrize(
    "snippet",
    [
        "{% load i18n %}<h1>{% translate 'Inbox' %}</h1>",
        "{% load i18n %}<p>{% blocktranslate count counter=n %}{{ counter }} new message"
        "{% plural %}{{ counter }} new <b>messages</b>{% endblocktranslate %}</p>",
        '{% load i18n %}<button aria-label="{% translate "Close" %}" data-tooltip='
        '"{% translate "Close" %} (Esc)">×</button>',
        "{# A comment for developers #}<p>{% comment %}Not shown{% endcomment %}</p>",
        "<!-- An HTML comment --><script>const words = 'in a script';</script>",
        "<style>body { font-family: system-ui, sans-serif; }</style>",
        "<dd>POP3 {{ host }}:{{ port }} (STARTTLS) · SMTP, SSL/TLS, APOP</dd>",
        "<dt><kbd>Shift</kbd>+<kbd>i</kbd>, <kbd>g</kbd> <kbd>t</kbd></dt><dd>(e) 1, 2 → #</dd>",
        '<input type="hidden" name="action" value="archive"><button value="trash">🗑</button>',
        '<html data-theme="{{ user.theme|default:\'system\' }}" lang="{{ code }}">',
        "<p>{{ subject|default:_('(no subject)') }}</p>",
    ],
)
def test_the_scanner_lets_translated_and_invisible_text_pass(snippet):
    assert scan(snippet) == []
