"""Sieve tests to conditions, for :mod:`.sieve_import`; also the problem types it reports.

A rule is one all-of or any-of list of conditions, so every test is first turned into a
small formula (``("atom", Condition)`` or ``("and"|"or", [formulas])``), ``not`` pushed
down to the atoms (De Morgan; every condition has an exact negation), nested lists of
the same kind merged, and the result accepted only if it is one flat list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sievelib.commands import Command
from sievelib.tools import unquote

from .facts import RECIPIENT_HEADERS
from .matching import escape_glob
from .model import Condition, RuleError

__all__ = [
    "PROBLEM_CODES",
    "ConditionReader",
    "SieveImportError",
    "SieveProblem",
    "as_list",
    "strings",
    "unquote_value",
]

_SIZE = re.compile(r"(\d+)([KMGkmg]?)")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_TO_CC = frozenset({"to", "cc"})
_ADDRESS_GROUPS = {
    frozenset({"from"}): "from",
    _TO_CC: "to_cc",
    frozenset(RECIPIENT_HEADERS): "recipient",
}
# SieveProblem codes (values in brackets), besides RuleError's: encoding (not UTF-8),
# unreadable, syntax [detail: the parser's English message], elsif, nested_if, vacation,
# reject, notify, variables, removeflag, command [command], constant [test: true/false
# inside a list], test [test], comparator [comparator], match_type [match], envelope
# (only "to"), address_headers [headers], size, body_transform [transform], mixed (all-of
# and any-of), disabled_test [detail], after_stop, keep_copy, fileinto_copy,
# flag_variable, flag [flag]. RuleError codes come with [command] and [field] too.
PROBLEM_CODES = (
    "encoding",
    "unreadable",
    "syntax",
    "elsif",
    "nested_if",
    "vacation",
    "reject",
    "notify",
    "variables",
    "removeflag",
    "command",
    "constant",
    "test",
    "comparator",
    "match_type",
    "envelope",
    "address_headers",
    "size",
    "body_transform",
    "mixed",
    "disabled_test",
    "after_stop",
    "keep_copy",
    "fileinto_copy",
    "flag_variable",
    "flag",
)
Node = tuple[Any, ...]  # ("atom", Condition) | ("and" | "or", [Node, ...])


@dataclass(frozen=True)
class SieveProblem:
    """Why one place of a script cannot be imported.

    ``reason`` is English, for logs and tests; ``code`` (one of :data:`PROBLEM_CODES` or a
    :class:`~.model.RuleError` code) and ``values`` are for wording it in the reader's
    language. Values never hold text worth translating (command names, flags, header names).
    """

    line: int  # 1-based line in the script
    reason: str
    code: str = "invalid"
    values: dict[str, object] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class SieveImportError(ValueError):
    """The script cannot be imported; ``problems`` lists each reason with its line."""

    def __init__(self, problems: Sequence[SieveProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class ConditionReader:
    """Reads tests into conditions, collecting problems with their lines."""

    def __init__(self) -> None:
        self.problems: list[SieveProblem] = []
        self.extensions: list[str] = []  # from the script's require commands
        self.lines: dict[int, int] = {}  # id(command) -> its line in the script

    def line(self, command: Command) -> int:
        return self.lines.get(id(command), 0)

    def problem(self, where: Command | int, code: str, reason: str, **values: object) -> None:
        line = where if isinstance(where, int) else self.line(where)
        self.problems.append(SieveProblem(line, reason, code, values))

    def string(self, command: Command, raw: str) -> str | None:
        value = unquote_value(raw)
        if "variables" in self.extensions and "${" in value:
            self.problem(command, "variables", "variables (${...}) cannot be represented")
            return None
        return value

    # -- tests

    def test(self, test: Command, negate: bool) -> Node | None:
        name = test.name
        if name in ("allof", "anyof"):
            kind = "and" if (name == "allof") != negate else "or"
            children = [self.test(child, negate) for child in test.arguments["tests"]]
            return None if None in children else (kind, children)
        if name == "not":
            return self.test(test.arguments["test"], not negate)
        if name in ("true", "false"):
            self.problem(
                test, "constant", f"'{name}' inside a test cannot be represented", test=name
            )
            return None
        handler = {
            "header": self._header,
            "address": self._address,
            "envelope": self._address,
            "exists": self._exists,
            "size": self._size,
            "body": self._body,
        }.get(name)
        if handler is None:
            self.problem(test, "test", f"the '{name}' test cannot be represented", test=name)
            return None
        try:
            atoms = handler(test)
            if atoms is not None and negate:
                atoms = [atom.negated() for atom in atoms]
        except RuleError as exc:
            reason = f"{name}: {exc.field} {exc.reason}"
            self.problem(test, exc.code, reason, **exc.values, command=name, field=exc.field)
            return None
        if atoms is None:
            return None
        # exists holds if every header exists; the others if any header/key combination
        # holds. Negated (De Morgan), the join flips.
        kind = "and" if (name == "exists") != negate else "or"
        return (kind, [("atom", atom) for atom in atoms])

    def _match_type(self, test: Command) -> str | None:
        comparator = test.extra_arguments.get("comparator")
        if comparator is not None and unquote(comparator).lower() != "i;ascii-casemap":
            self.problem(
                test,
                "comparator",
                f"the comparator {unquote(comparator)} cannot be represented "
                "(comparisons ignore ASCII case)",
                comparator=unquote(comparator),
            )
            return None
        match = test.arguments.get("match-type", ":is").lower()
        if match not in (":is", ":contains", ":matches"):
            reason = "regular expressions (:regex)" if match == ":regex" else f"{match} matching"
            reason += " cannot be represented; use :is, :contains or :matches"
            self.problem(test, "match_type", reason, match=match)
            return None
        return match[1:]

    def _keys(self, test: Command) -> list[str] | None:
        keys = [self.string(test, key) for key in as_list(test.arguments["key-list"])]
        return None if None in keys else keys  # type: ignore[return-value]

    def _header(self, test: Command) -> list[Condition] | None:
        op, keys = self._match_type(test), self._keys(test)
        if op is None or keys is None:
            return None
        names = [unquote_value(n) for n in as_list(test.arguments["header-names"])]
        groups: list[tuple[str, str | None]]
        if {n.lower() for n in names} == _TO_CC and len(names) == 2:
            groups = [("to_cc", None)]
        elif sorted(n.lower() for n in names) == sorted(RECIPIENT_HEADERS):
            groups = [("recipient", None)]
        else:
            groups = [("header", n) for n in names]
        return [Condition(f, op, key, h) for f, h in groups for key in keys]

    def _address(self, test: Command) -> list[Condition] | None:
        op, keys = self._match_type(test), self._keys(test)
        if op is None or keys is None:
            return None
        names = [unquote_value(n).lower() for n in as_list(test.arguments["header-list"])]
        if test.name == "envelope":
            if set(names) != {"to"}:
                reason = 'only envelope "to" (the receiving account) can be represented'
                self.problem(test, "envelope", reason)
                return None
            fields = ["account"]
        else:
            group = _ADDRESS_GROUPS.get(frozenset(names))
            if group is None:
                self.problem(
                    test,
                    "address_headers",
                    f"an address test on {', '.join(names)} cannot be represented "
                    '(only from, ["to", "cc"] or all recipients)',
                    headers=", ".join(names),
                )
                return None
            fields = [group]
        part = test.arguments.get("address-part", ":all").lower()
        return [Condition(f, *_address_part(part, op, key)) for f in fields for key in keys]

    def _exists(self, test: Command) -> list[Condition] | None:
        names = [unquote_value(n) for n in as_list(test.arguments["header-names"])]
        return [Condition("header", "matches", "*", name) for name in names]

    def _size(self, test: Command) -> list[Condition] | None:
        match = _SIZE.fullmatch(str(test.arguments["limit"]))
        if match is None:
            self.problem(test, "size", "the size is not a number")
            return None
        size = int(match.group(1)) * _UNITS[match.group(2).lower()]
        return [Condition("size", test.arguments["comparator"].lower()[1:], str(size))]

    def _body(self, test: Command) -> list[Condition] | None:
        transform = test.arguments.get("body-transform", ":text").lower()
        if transform != ":text":
            reason = f"body {transform} cannot be represented (only body :text)"
            self.problem(test, "body_transform", reason, transform=transform)
            return None
        op, keys = self._match_type(test), self._keys(test)
        if op is None or keys is None:
            return None
        return [Condition("body", op, key) for key in keys]

    def shape(self, node: Node, test: Command, line: int) -> tuple[str, list[Condition]] | None:
        node = _flatten(node)
        if node[0] == "atom":
            return ("any" if test.name == "anyof" else "all"), [node[1]]
        if all(child[0] == "atom" for child in node[1]):
            return ("all" if node[0] == "and" else "any"), [child[1] for child in node[1]]
        reason = "the test mixes all-of and any-of; a rule matches all or any of a list"
        self.problem(line, "mixed", reason)
        return None


def _flatten(node: Node) -> Node:
    """Merge nested and/and and or/or, and lists of one, so the shape is plain."""
    if node[0] not in ("and", "or"):
        return node
    children: list[Node] = []
    for child in (_flatten(c) for c in node[1]):
        if child[0] == node[0]:
            children.extend(child[1])
        else:
            children.append(child)
    return children[0] if len(children) == 1 else (node[0], children)


def _address_part(part: str, op: str, key: str) -> tuple[str, str]:
    """(op, value) for an address test on the ``part`` of each address."""
    if part == ":all":
        return op, key
    literal = escape_glob(key)
    if part == ":domain":
        pattern = {"is": "*@" + literal, "contains": f"*@*{literal}*", "matches": "*@" + key}
    else:  # :localpart
        pattern = {"is": literal + "@*", "contains": f"*{literal}*@*", "matches": key + "@*"}
    return "matches", pattern[op]


def as_list(raw: str | list[str]) -> list[str]:
    return raw if isinstance(raw, list) else [raw]


def strings(raw: str | list[str] | None) -> Iterator[str]:
    if raw is None:
        return
    for item in as_list(raw):
        yield unquote_value(item)


def unquote_value(raw: str) -> str:
    """The value of a quoted string or a ``text:`` multi-line string."""
    if not raw.startswith("text:"):
        return unquote(raw)
    lines = raw.split("\n")[1:]
    while lines and lines[-1].rstrip("\r") in ("", "."):
        lines.pop()
    return "\n".join(line[1:] if line.startswith("..") else line for line in lines).rstrip("\r")
