"""Rules to a Sieve script (RFC 5228 with fileinto, imap4flags, copy, envelope, body).

The layout follows Roundcube's managesieve plugin, so a script moves between us, a
ManageSieve server and Roundcube with its rule names and on/off state intact:

* one ``if`` per rule, preceded by ``# rule:[name]`` (Roundcube's name comment);
* a disabled rule is written ``if false # <its test>``: inert on every server, and the
  test survives in the comment (Roundcube reads it back the same way, and so do we);
* the test is always ``allof (...)``/``anyof (...)``, even for one condition, so the
  rule's all/any survives; a rule without conditions is ``if true``;
* actions: ``addflag "\\\\Seen"`` / ``addflag "\\\\Flagged"`` first (imap4flags only
  applies flags set before a fileinto), ``fileinto "Folder/Sub"``, ``fileinto "Trash"``
  for trash (recoverable, like ours; ``discard`` would destroy), ``redirect :copy``
  for forward (the message is also kept, like ours), then ``stop``.

Conditions (the importer maps these back exactly):

==================  ==========================================================
from contains x     ``header :contains "from" "x"`` (``not header`` for not_)
from is/matches x   ``address :is/:matches "from" "x"``
to_cc, recipient    the same with ``["to", "cc"]`` / the recipient header list
subject, header     ``header :<op> "subject"|"<name>" "x"``
body                ``body :text :<op> "x"`` (the body extension)
account             ``envelope :<op> "to" "x"``: the address mail was delivered to
size                ``size :over N`` / ``size :under N``
has_attachment      ``header :contains "content-type" "multipart/mixed"``
==================  ==========================================================

Folder paths use "/" between levels; pass ``separator`` for a server whose hierarchy
separator is another character (Dovecot's default "." layout).
"""

from __future__ import annotations

from collections.abc import Sequence

from .facts import RECIPIENT_HEADERS
from .model import Action, Condition, Rule

__all__ = ["export_sieve", "extensions_for", "quote"]

_OP_TAG = {"contains": ":contains", "is": ":is", "matches": ":matches"}
_HEADER_LISTS = {"from": ("from",), "to_cc": ("to", "cc"), "recipient": RECIPIENT_HEADERS}
_INDENT = "    "


def quote(text: str) -> str:
    """A Sieve quoted string: backslash and double quote escaped (RFC 5228 2.4.2)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def export_sieve(rules: Sequence[Rule], *, separator: str = "/") -> str:
    """The Sieve script for ``rules`` (disabled ones included, as ``if false``)."""
    parts: list[str] = []
    extensions = extensions_for(rules)
    if extensions:
        parts.append(f"require [{', '.join(quote(name) for name in extensions)}];\n")
    for rule in rules:
        parts.append(_rule(rule, separator))
    return "\n".join(parts)


def extensions_for(rules: Sequence[Rule]) -> list[str]:
    """The ``require`` list for ``rules``, sorted."""
    needed: set[str] = set()
    for rule in rules:
        for condition in rule.conditions:
            if condition.field == "account":
                needed.add("envelope")
            elif condition.field == "body":
                needed.add("body")
        for action in rule.actions:
            needed.add(
                {
                    "mark_read": "imap4flags",
                    "flag": "imap4flags",
                    "move": "fileinto",
                    "trash": "fileinto",
                    "forward": "copy",
                }[action.kind]
            )
    return sorted(needed)


def _rule(rule: Rule, separator: str) -> str:
    lines = [f"# rule:[{rule.name}]"] if rule.name else []
    test = _rule_test(rule)
    lines.append(f"if {test}" if rule.enabled else f"if false # {test}")
    lines.append("{")
    lines.extend(_INDENT + _action(action, separator) for action in rule.actions)
    if rule.stop:
        lines.append(_INDENT + "stop;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _rule_test(rule: Rule) -> str:
    if not rule.conditions:
        return "true"
    join = "allof" if rule.match == "all" else "anyof"
    return f"{join} ({', '.join(condition_test(c) for c in rule.conditions)})"


def condition_test(condition: Condition) -> str:
    """The Sieve test for one condition."""
    if condition.field == "size":
        return f"size :{condition.op} {condition.value}"
    if condition.field == "has_attachment":
        test = 'header :contains "content-type" "multipart/mixed"'
        return test if condition.value == "yes" else f"not {test}"
    negate = condition.op.startswith("not_")
    op = condition.op.removeprefix("not_")
    tag, value = _OP_TAG[op], quote(condition.value)
    if condition.field in _HEADER_LISTS:
        names = _string_list(_HEADER_LISTS[condition.field])
        command = "header" if op == "contains" else "address"
        test = f"{command} {tag} {names} {value}"
    elif condition.field == "body":
        test = f"body :text {tag} {value}"
    elif condition.field == "account":
        test = f'envelope {tag} "to" {value}'
    else:
        name = "subject" if condition.field == "subject" else condition.header_name or ""
        test = f"header {tag} {quote(name)} {value}"
    return f"not {test}" if negate else test


def _string_list(items: Sequence[str]) -> str:
    if len(items) == 1:
        return quote(items[0])
    return "[" + ", ".join(quote(item) for item in items) + "]"


def _action(action: Action, separator: str) -> str:
    if action.kind == "mark_read":
        return 'addflag "\\\\Seen";'
    if action.kind == "flag":
        return 'addflag "\\\\Flagged";'
    if action.kind == "trash":
        return 'fileinto "Trash";'
    if action.kind == "move":
        folder = (action.argument or "").replace("/", separator)
        return f"fileinto {quote(folder)};"
    return f"redirect :copy {quote(action.argument or '')};"
