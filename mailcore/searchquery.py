"""The search box language: operators, quoted phrases and -exclusions, parsed and rebuilt.

``parse_query('from:kim subject:"회의 자료" -draft after:2024-01-01 larger:10M 예산')``
gives a :class:`SearchQuery`; :func:`format_query` turns one back into the string the
search box shows, so the "search options" form builds the same query a user could type,
and ``parse_query(format_query(q)) == q`` for every valid query (property-tested).

The grammar, close to Gmail's so that people's habits carry over:

* terms are separated by whitespace; every term must match (AND);
* ``"a phrase"`` is one term; inside quotes ``\\"`` is a quote and ``\\\\`` a backslash;
  an unclosed quote runs to the end;
* ``-word`` and ``-"a phrase"`` exclude;
* ``name:value`` with a known operator name (any case), the value bare or quoted:
  ``from: to: cc: subject: filename:`` (text, repeatable, all must match),
  ``has:attachment``, ``is:unread``, ``is:read``, ``is:flagged`` (``is:starred`` too),
  ``in:FOLDER`` (a folder path such as ``in:"Work/Reports"``), ``account:ADDRESS``,
  ``after:YYYY-MM-DD`` (on or after that day) and ``before:YYYY-MM-DD`` (before that day;
  ``YYYY/MM/DD`` is read too), ``larger:`` / ``smaller:`` a size in bytes with an optional
  K, M or G (binary: 10M is 10 × 1024 × 1024) and an optional B;
  ``from: kim`` (a space after the colon) is read as ``from:kim``;
* anything else that looks like an operator (``foo:bar``, ``http://x``, ``10:30``) is text.

Mistakes never raise: a bad date, size or ``is:`` value, a missing value or a negated
operator becomes a :class:`QueryError` naming the operator, for the page to show; the
rest of the query still applies. How each field is matched (which columns, the user's
time zone for dates, what ``in:`` names) is the caller's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

__all__ = [
    "OPERATORS",
    "QueryError",
    "SearchQuery",
    "format_query",
    "format_size",
    "parse_query",
    "parse_size",
]

TEXT_OPERATORS = ("from", "to", "cc", "subject", "filename")
OPERATORS = frozenset(
    (*TEXT_OPERATORS, "has", "is", "in", "account", "before", "after", "larger", "smaller")
)
ErrorCode = Literal["invalid-date", "invalid-size", "unknown-value", "missing-value", "negated"]

_OPERATOR = re.compile(r"([A-Za-z]+):")
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMG]?)B?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
MAX_SIZE = 2**63 - 1  # what a database integer column holds


@dataclass(frozen=True)
class QueryError:
    """A part of the query that was not understood; ``code`` says why, for the page."""

    operator: str  # lowercased operator name: "before", "larger", "is" ...
    value: str
    code: ErrorCode


@dataclass(frozen=True)
class SearchQuery:
    """What a search asks for. Tuples keep the order typed; an empty query matches all."""

    text: tuple[str, ...] = ()  # words and phrases to find anywhere; a phrase is one item
    exclude: tuple[str, ...] = ()  # words and phrases that must not appear
    from_: tuple[str, ...] = ()  # sender name or address contains
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()
    filename: tuple[str, ...] = ()  # an attachment's file name contains
    has_attachment: bool = False
    unread: bool | None = None  # is:unread True, is:read False
    flagged: bool = False
    folder: str | None = None  # in:, as typed (a path, "/" between levels)
    account: str | None = None  # account:, the receiving account's address
    after: date | None = None  # on or after this day
    before: date | None = None  # before this day
    larger: int | None = None  # bytes; size > larger
    smaller: int | None = None  # bytes; size < smaller
    errors: tuple[QueryError, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        """The text items of more than one word (to be matched as a whole)."""
        return tuple(item for item in self.text if len(item.split()) > 1)

    @property
    def is_empty(self) -> bool:
        return self == SearchQuery() or self == SearchQuery(errors=self.errors)


# --------------------------------------------------------------------------- parsing


def parse_query(query: str) -> SearchQuery:
    """Parse a search box string; never raises (see the module docstring)."""
    fields: dict[str, object] = {}
    lists: dict[str, list[str]] = {"text": [], "exclude": []}
    lists.update({name: [] for name in TEXT_OPERATORS})
    errors: list[QueryError] = []
    for negated, operator, value in _terms(query):
        if operator is None:
            if value.strip():
                lists["exclude" if negated else "text"].append(value)
        elif negated:
            errors.append(QueryError(operator, value, "negated"))
        elif not value.strip():
            errors.append(QueryError(operator, value, "missing-value"))
        elif operator in TEXT_OPERATORS:
            lists[operator].append(value)
        else:
            error = _apply(operator, value, fields)
            if error:
                errors.append(QueryError(operator, value, error))
    for name, values in lists.items():
        fields["from_" if name == "from" else name] = tuple(values)
    return SearchQuery(**fields, errors=tuple(errors))  # type: ignore[arg-type]


def _apply(operator: str, value: str, fields: dict[str, object]) -> ErrorCode | None:
    """Set the field of a non-text operator; the error code when the value is bad."""
    lowered = value.lower()
    if operator == "has":
        if lowered not in ("attachment", "attachments"):
            return "unknown-value"
        fields["has_attachment"] = True
    elif operator == "is":
        if lowered in ("unread", "read"):
            fields["unread"] = lowered == "unread"
        elif lowered in ("flagged", "starred"):
            fields["flagged"] = True
        else:
            return "unknown-value"
    elif operator in ("in", "account"):
        fields["folder" if operator == "in" else "account"] = value
    elif operator in ("before", "after"):
        day = _parse_date(value)
        if day is None:
            return "invalid-date"
        fields[operator] = day
    else:  # larger, smaller
        size = parse_size(value)
        if size is None:
            return "invalid-size"
        fields[operator] = size
    return None


def _terms(query: str) -> list[tuple[bool, str | None, str]]:
    """(negated, operator or None, value) for each term, quotes resolved."""
    terms = []
    pos, end = 0, len(query)
    while pos < end:
        if query[pos].isspace():
            pos += 1
            continue
        negated = query[pos] == "-" and pos + 1 < end and not query[pos + 1].isspace()
        pos += negated
        operator = None
        match = _OPERATOR.match(query, pos)
        if match and match.group(1).lower() in OPERATORS:
            operator = match.group(1).lower()
            pos = match.end()
            if pos < end and query[pos].isspace():
                # "from: kim": the value is the next term, unless that is an operator.
                after = len(query) - len(query[pos:].lstrip())
                nxt = _OPERATOR.match(query, after)
                if after < end and not (nxt and nxt.group(1).lower() in OPERATORS):
                    pos = after
        value, pos = _value(query, pos)
        terms.append((negated, operator, value))
    return terms


def _value(query: str, pos: int) -> tuple[str, int]:
    """The bare or quoted value starting at ``pos``, and where the next term may start."""
    end = len(query)
    if pos < end and query[pos] == '"':
        chars = []
        pos += 1
        while pos < end and query[pos] != '"':
            if query[pos] == "\\" and pos + 1 < end and query[pos + 1] in '"\\':
                pos += 1
            chars.append(query[pos])
            pos += 1
        return "".join(chars), pos + 1
    start = pos
    while pos < end and not query[pos].isspace():
        pos += 1
    return query[start:pos], pos


def _parse_date(value: str) -> date | None:
    match = _DATE.fullmatch(value.strip())
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_size(value: str) -> int | None:
    """Bytes from "10M", "1.5k", "300KB" or "42" (binary units); None when not a size."""
    match = _SIZE.fullmatch(value.strip())
    if not match:
        return None
    try:
        size = int(Decimal(match.group(1)) * _UNITS[match.group(2).upper()])
    except InvalidOperation:
        return None
    return size if size <= MAX_SIZE else None


# --------------------------------------------------------------------------- formatting


def format_size(size: int) -> str:
    """The shortest exact form: 10485760 → "10M", 1536 → "1536" (1.5K would be lossy)."""
    for unit in "GMK":
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def format_query(query: SearchQuery) -> str:
    """The search box string for ``query``: text first, then operators in a fixed order.

    Errors are not written back. Values are quoted only when they must be.
    """
    parts = [_text(item) for item in query.text if item.strip()]
    parts += ["-" + _text(item) for item in query.exclude if item.strip()]
    for name in TEXT_OPERATORS:
        values = query.from_ if name == "from" else getattr(query, name)
        parts += [f"{name}:{_quoted_value(value)}" for value in values if value.strip()]
    if query.has_attachment:
        parts.append("has:attachment")
    if query.unread is not None:
        parts.append("is:unread" if query.unread else "is:read")
    if query.flagged:
        parts.append("is:flagged")
    if query.folder and query.folder.strip():
        parts.append("in:" + _quoted_value(query.folder))
    if query.account and query.account.strip():
        parts.append("account:" + _quoted_value(query.account))
    if query.after:
        parts.append(f"after:{query.after.isoformat()}")
    if query.before:
        parts.append(f"before:{query.before.isoformat()}")
    if query.larger is not None:
        parts.append(f"larger:{format_size(query.larger)}")
    if query.smaller is not None:
        parts.append(f"smaller:{format_size(query.smaller)}")
    return " ".join(parts)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_value(value: str) -> str:
    bare = value and not value.startswith('"') and not any(ch.isspace() for ch in value)
    return value if bare else _quote(value)


def _text(item: str) -> str:
    """A free-text term, quoted when bare it would read as something else."""
    operator = _OPERATOR.match(item)
    if (
        item.startswith(('"', "-"))
        or any(ch.isspace() for ch in item)
        or (operator and operator.group(1).lower() in OPERATORS)
    ):
        return _quote(item)
    return item
