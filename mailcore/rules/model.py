"""The rule model: :class:`Condition`, :class:`Action`, :class:`Rule`, validated and canonical.

Every instance is checked when it is built and kept in one canonical form, so two rules
that mean the same thing compare equal (which is what makes "export to Sieve, import
back" give equal rules). The canonical forms, and why:

* a header condition on ``Subject`` is a ``subject`` condition, a contains/not-contains
  header condition on ``From`` is a ``from`` condition (their meanings are identical);
* ``header Content-Type contains "multipart/mixed"`` is ``has_attachment is yes``
  (``not_contains``: ``no``): the classic Sieve idiom for "has an attachment", and what
  our Sieve export writes for it;
* a size is a decimal string of bytes without leading zeros; ``move`` to ``Trash`` is the
  ``trash`` action; forward addresses are normalised (domain lowercased, IDNA);
* actions are ordered flags first, then the destination, then forwards (the order Sieve
  needs: imap4flags applies flags set *before* a ``fileinto``); forwards keep their order;
* a rule without conditions matches every message, and its ``match`` is ``"all"``.

Plain-dict form (for a JSON column): :meth:`Rule.to_dict` / :meth:`Rule.from_dict`;
invalid input raises :class:`RuleError` whose ``field`` names the offending key, e.g.
``conditions[1].op``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mailcore.addresses import AddressError, normalise_addr_spec

__all__ = [
    "ACTION_KINDS",
    "ADDRESS_FIELDS",
    "ERROR_CODES",
    "FIELDS",
    "MATCH_KINDS",
    "SIZE_OPS",
    "TEXT_OPS",
    "TRASH_FOLDER",
    "Action",
    "Condition",
    "Rule",
    "RuleError",
    "rules_from_dicts",
    "rules_to_dicts",
]

# Fields a condition can test. from/to_cc/recipient are address fields: contains and
# not_contains look at the decoded header text (display names and addresses, like Sieve's
# `header :contains`), is/matches at each addr-spec (like Sieve's `address :all`).
FIELDS = (
    "from",
    "to_cc",
    "recipient",
    "subject",
    "header",
    "body",
    "size",
    "has_attachment",
    "account",
)
ADDRESS_FIELDS = ("from", "to_cc", "recipient")
# Text operators; matches is a Sieve :matches glob (* any run, ? one character, \ escapes),
# all compared with i;ascii-casemap (ASCII letters fold, everything else is exact).
TEXT_OPS = ("contains", "not_contains", "is", "not_is", "matches", "not_matches")
SIZE_OPS = ("over", "under")  # bytes, strictly greater / strictly less, as in Sieve
HAS_ATTACHMENT_VALUES = ("yes", "no")
MATCH_KINDS = ("all", "any")
ACTION_KINDS = ("mark_read", "flag", "move", "trash", "forward")  # canonical order
ARGUMENT_KINDS = frozenset({"move", "forward"})
DESTINATION_KINDS = frozenset({"move", "trash"})
TRASH_FOLDER = "Trash"  # a move here is the trash action; Sieve's fileinto "Trash" too
NEGATED_OP = {
    "contains": "not_contains",
    "not_contains": "contains",
    "is": "not_is",
    "not_is": "is",
    "matches": "not_matches",
    "not_matches": "matches",
}
# RuleError codes, for the app to word (values in brackets): type (not text, a list, an
# object or true/false as needed), empty, too_long [max], control (a line break or another
# control character), choice (not one of the allowed words), header_name, unexpected (a
# key this kind does not take), size, folder [folder], address [address], two_folders,
# twice (an action repeated), unknown_key, invalid.
ERROR_CODES = (
    "type",
    "empty",
    "too_long",
    "control",
    "choice",
    "header_name",
    "unexpected",
    "size",
    "folder",
    "address",
    "two_folders",
    "twice",
    "unknown_key",
    "invalid",
)
MAX_TEXT = 1000  # characters in a value, a name or a folder path
MAX_SIZE = 2**53
# Line breaks and other controls (TAB too: decoded header text never holds one, so a
# value with one could never match), and lone surrogates (not encodable as UTF-8).
_BAD_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_HEADER_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")  # RFC 5322 ftext: printable but ':'


class RuleError(ValueError):
    """An invalid rule: ``field`` names the key (``conditions[0].value``), ``reason`` says
    why in English (for logs and developers); ``code`` and ``values`` are for wording it in
    the reader's language (see :data:`ERROR_CODES`)."""

    def __init__(self, field: str, reason: str, code: str = "invalid", **values: object) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason
        self.code = code
        self.values = values


def _text(value: object, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise RuleError(where, f"must be text, not {type(value).__name__}", "type")
    if not value and not allow_empty:
        raise RuleError(where, "must not be empty", "empty")
    if len(value) > MAX_TEXT:
        raise RuleError(where, f"is longer than {MAX_TEXT} characters", "too_long", max=MAX_TEXT)
    if _BAD_TEXT.search(value):
        raise RuleError(where, "contains a line break or another control character", "control")
    return value


@dataclass(frozen=True)
class Condition:
    """One test on a message. ``header_name`` is set for ``field == "header"`` only.

    ``value`` is text for the text operators, a number of bytes for ``size`` (an int is
    accepted and stored as its decimal string) and ``"yes"``/``"no"`` for
    ``has_attachment`` (whose only operator is ``is``).
    """

    field: str
    op: str
    value: str
    header_name: str | None = None

    def __post_init__(self) -> None:
        self._validate()
        self._canonicalise()

    def _validate(self) -> None:
        if self.field not in FIELDS:
            raise RuleError("field", f"unknown field {self.field!r}", "choice")
        if self.field == "header":
            name = _text(self.header_name, "header_name")
            if not _HEADER_NAME.fullmatch(name):
                raise RuleError("header_name", f"{name!r} is not a header name", "header_name")
        elif self.header_name is not None:
            raise RuleError("header_name", "only for the 'header' field", "unexpected")
        if self.field == "size":
            self._validate_size()
        elif self.field == "has_attachment":
            if self.op != "is":
                raise RuleError("op", "has_attachment takes only 'is'", "choice")
            if self.value not in HAS_ATTACHMENT_VALUES:
                raise RuleError("value", "has_attachment is 'yes' or 'no'", "choice")
        else:
            if self.op not in TEXT_OPS:
                raise RuleError(
                    "op", f"{self.op!r} is not an operator for {self.field!r}", "choice"
                )
            _text(self.value, "value")

    def _validate_size(self) -> None:
        if self.op not in SIZE_OPS:
            raise RuleError("op", f"{self.op!r} is not an operator for size", "choice")
        value: object = self.value
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise RuleError("value", "size is a whole number of bytes", "size")
        if isinstance(value, str):
            if not value.isascii() or not value.isdigit():
                raise RuleError("value", "size is a whole number of bytes", "size")
            value = int(value)
        if not 0 <= value <= MAX_SIZE:
            raise RuleError("value", "size is out of range", "size")
        if self.op == "under" and value == 0:
            raise RuleError("value", "no message is under 0 bytes", "size")
        object.__setattr__(self, "value", str(value))

    def _canonicalise(self) -> None:
        if self.field != "header":
            return
        name = (self.header_name or "").lower()
        if name == "subject":
            self._become("subject", self.op, self.value)
        elif name == "from" and self.op in ("contains", "not_contains"):
            self._become("from", self.op, self.value)
        elif (
            name == "content-type"
            and self.op in ("contains", "not_contains")
            and self.value.lower() == "multipart/mixed"
        ):
            self._become("has_attachment", "is", "yes" if self.op == "contains" else "no")

    def _become(self, field_: str, op: str, value: str) -> None:
        object.__setattr__(self, "field", field_)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "header_name", None)

    def negated(self) -> Condition:
        """The condition true exactly when this one is false."""
        if self.field == "has_attachment":
            return Condition(self.field, "is", "no" if self.value == "yes" else "yes")
        if self.field == "size":
            size = int(self.value)
            if self.op == "over":  # not (> n) is (< n + 1)
                return Condition("size", "under", str(size + 1))
            if size == 0:
                raise RuleError("value", "every message is at least 0 bytes", "size")
            return Condition("size", "over", str(size - 1))  # not (< n) is (> n - 1)
        return Condition(self.field, NEGATED_OP[self.op], self.value, self.header_name)

    def to_dict(self) -> dict[str, str]:
        data = {"field": self.field, "op": self.op, "value": self.value}
        if self.header_name is not None:
            data["header_name"] = self.header_name
        return data

    @classmethod
    def from_dict(cls, data: object) -> Condition:
        items = _mapping(data, "", {"field", "op", "value", "header_name"})
        return cls(
            field=items.get("field"),  # type: ignore[arg-type] # validated in __post_init__
            op=items.get("op"),  # type: ignore[arg-type]
            value=items.get("value"),  # type: ignore[arg-type]
            header_name=items.get("header_name"),
        )


@dataclass(frozen=True)
class Action:
    """What a matching rule does. ``argument`` is the folder path for ``move`` ("/" between
    levels, ``"INBOX"`` is the Inbox) and the address for ``forward``; None otherwise."""

    kind: str
    argument: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise RuleError("kind", f"unknown action {self.kind!r}", "choice")
        if self.kind not in ARGUMENT_KINDS:
            if self.argument is not None:
                raise RuleError("argument", f"{self.kind!r} takes no argument", "unexpected")
            return
        value = _text(self.argument, "argument")
        if self.kind == "move":
            if any(not part.strip() for part in value.split("/")):
                raise RuleError(
                    "argument", f"{value!r} is not a folder path", "folder", folder=value
                )
            if value.lower() == TRASH_FOLDER.lower():
                object.__setattr__(self, "kind", "trash")
                object.__setattr__(self, "argument", None)
        else:
            try:
                object.__setattr__(self, "argument", normalise_addr_spec(value))
            except AddressError as exc:
                raise RuleError(
                    "argument", f"{value!r}: {exc.reason}", "address", address=value
                ) from None

    def to_dict(self) -> dict[str, str]:
        data = {"kind": self.kind}
        if self.argument is not None:
            data["argument"] = self.argument
        return data

    @classmethod
    def from_dict(cls, data: object) -> Action:
        items = _mapping(data, "", {"kind", "argument"})
        return cls(kind=items.get("kind"), argument=items.get("argument"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Rule:
    """An ordered rule: when ``match`` ("all"/"any") of ``conditions`` hold, do ``actions``;
    ``stop`` ends the evaluation of later rules (Sieve's ``stop``) after this one matched.

    A rule moves a message to one place at most (one ``move`` or ``trash``), marks it read
    and flags it at most once each, and forwards to distinct addresses.
    """

    name: str
    conditions: Sequence[Condition] = ()
    actions: Sequence[Action] = ()
    match: str = "all"
    enabled: bool = True
    stop: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _text(self.name, "name", allow_empty=True).strip())
        for key in ("enabled", "stop"):
            if not isinstance(getattr(self, key), bool):
                raise RuleError(key, "must be true or false", "type")
        if self.match not in MATCH_KINDS:
            raise RuleError("match", "'all' or 'any'", "choice")
        conditions = _sequence(self.conditions, "conditions", Condition)
        actions = _sequence(self.actions, "actions", Action)
        if not conditions:
            object.__setattr__(self, "match", "all")
        _check_actions(actions)
        rank = {kind: i for i, kind in enumerate(ACTION_KINDS)}
        object.__setattr__(self, "conditions", conditions)
        object.__setattr__(self, "actions", tuple(sorted(actions, key=lambda a: rank[a.kind])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "match": self.match,
            "conditions": [condition.to_dict() for condition in self.conditions],
            "actions": [action.to_dict() for action in self.actions],
            "stop": self.stop,
        }

    @classmethod
    def from_dict(cls, data: object) -> Rule:
        keys = {"name", "enabled", "match", "conditions", "actions", "stop"}
        items = _mapping(data, "", keys)
        conditions = [
            _nested(Condition.from_dict, item, f"conditions[{i}]")
            for i, item in enumerate(_list(items.get("conditions", []), "conditions"))
        ]
        actions = [
            _nested(Action.from_dict, item, f"actions[{i}]")
            for i, item in enumerate(_list(items.get("actions", []), "actions"))
        ]
        return cls(
            name=items.get("name", ""),  # type: ignore[arg-type] # validated in __post_init__
            conditions=conditions,
            actions=actions,
            match=items.get("match", "all"),  # type: ignore[arg-type]
            enabled=items.get("enabled", True),  # type: ignore[arg-type]
            stop=items.get("stop", False),  # type: ignore[arg-type]
        )


def rules_to_dicts(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    return [rule.to_dict() for rule in rules]


def rules_from_dicts(data: object) -> list[Rule]:
    """Rules from a JSON list; a RuleError's ``field`` starts with the index: ``[2].match``."""
    return [_nested(Rule.from_dict, item, f"[{i}]") for i, item in enumerate(_list(data, ""))]


# ----------------------------------------------------------------------------- helpers


def _check_actions(actions: tuple[Action, ...]) -> None:
    seen: set[tuple[str, str | None]] = set()
    destination = False
    for i, action in enumerate(actions):
        if action.kind in DESTINATION_KINDS:
            if destination:
                raise RuleError(
                    f"actions[{i}]", "a rule moves a message to one folder at most", "two_folders"
                )
            destination = True
        if (action.kind, action.argument) in seen:
            raise RuleError(f"actions[{i}]", f"{action.kind!r} appears twice", "twice")
        seen.add((action.kind, action.argument))


def _mapping(data: object, where: str, keys: set[str]) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise RuleError(where, f"must be an object, not {type(data).__name__}", "type")
    unknown = sorted(str(key) for key in data if key not in keys)
    if unknown:
        raise RuleError(_join(where, unknown[0]), "unknown key", "unknown_key")
    return data


def _list(data: object, where: str) -> list[object]:
    if not isinstance(data, list | tuple):
        raise RuleError(where, f"must be a list, not {type(data).__name__}", "type")
    return list(data)


def _sequence(items: object, where: str, kind: type) -> tuple[Any, ...]:
    result = tuple(_list(items, where))
    for i, item in enumerate(result):
        if not isinstance(item, kind):
            raise RuleError(f"{where}[{i}]", f"must be a {kind.__name__}", "type")
    return result


def _nested(build: Any, data: object, where: str) -> Any:
    """Call ``build(data)``, prefixing a RuleError's field with ``where``."""
    try:
        return build(data)
    except RuleError as exc:
        raise RuleError(_join(where, exc.field), exc.reason, exc.code, **exc.values) from None


def _join(prefix: str, name: str) -> str:
    if not prefix:
        return name
    if not name:
        return prefix
    return prefix + name if name.startswith("[") else f"{prefix}.{name}"
