"""Applying rules to a message: :func:`evaluate` gives an :class:`Outcome`, nothing else.

Pure: no I/O, no clock, so the ingest can call it inside the transaction that stores the
message and apply the outcome there (a crash then leaves neither half done).

Semantics, and where they differ from a Sieve server running the exported script:

* rules run in order; disabled rules are skipped; a matching rule with ``stop`` ends the
  run (Sieve's ``stop``);
* the message lands in one place: the first matching ``move`` or ``trash`` wins and later
  ones are ignored (Sieve would file a copy into each folder; we keep one copy);
* flags accumulate (``seen``, ``flagged``) whatever their order, and forwards accumulate
  in order, each address once; forwards are only *wanted* here: the caller asks
  :func:`.forwarding.forward_refusal` before queueing each one;
* ``folder`` None means the account's default folder (the Inbox unless the account
  chose another); ``"INBOX"`` means the Inbox itself.

Condition semantics are in :func:`condition_matches`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .facts import RECIPIENT_HEADERS, MessageFacts
from .matching import contains, glob_matches, same
from .model import Condition, Rule

__all__ = ["Outcome", "condition_matches", "evaluate", "rule_matches"]

_ADDRESS_FIELD_HEADERS = {
    "from": ("from",),
    "to_cc": ("to", "cc"),
    "recipient": RECIPIENT_HEADERS,
}


@dataclass
class Outcome:
    """What the rules decided for one message."""

    folder: str | None = None  # folder path from the first matching move; None = default
    trash: bool = False  # a matching rule moved it to Trash (before any move)
    seen: bool = False
    flagged: bool = False
    forward_to: list[str] = field(default_factory=list)  # addresses, in rule order, unique
    matched: list[int] = field(default_factory=list)  # indexes of the rules that matched

    @property
    def moved(self) -> bool:
        return self.trash or self.folder is not None


def evaluate(rules: Sequence[Rule], facts: MessageFacts) -> Outcome:
    """Run ``rules`` in order on one message."""
    outcome = Outcome()
    for index, rule in enumerate(rules):
        if not rule.enabled or not rule_matches(rule, facts):
            continue
        outcome.matched.append(index)
        for action in rule.actions:
            if action.kind == "mark_read":
                outcome.seen = True
            elif action.kind == "flag":
                outcome.flagged = True
            elif action.kind == "move" and not outcome.moved:
                outcome.folder = action.argument
            elif action.kind == "trash" and not outcome.moved:
                outcome.trash = True
            elif action.kind == "forward" and action.argument not in outcome.forward_to:
                outcome.forward_to.append(action.argument or "")
        if rule.stop:
            break
    return outcome


def rule_matches(rule: Rule, facts: MessageFacts) -> bool:
    """True if ``rule``'s conditions hold (ignores ``enabled``: "run this rule" uses it)."""
    if not rule.conditions:
        return True
    results = (condition_matches(condition, facts) for condition in rule.conditions)
    return all(results) if rule.match == "all" else any(results)


def condition_matches(condition: Condition, facts: MessageFacts) -> bool:
    """One condition against one message.

    * text operators test every candidate string and hold if any candidate does; the
      ``not_`` operators are the exact negation (so a missing header "does not contain"
      anything, as in Sieve);
    * address fields: ``contains`` looks at each decoded header (names and addresses),
      ``is``/``matches`` at each addr-spec;
    * ``subject``/``header``: every occurrence of the header, decoded; ``body``: the text;
      ``account``: the receiving account's address;
    * ``size``: the raw size in bytes, strictly over or under the value.
    """
    if condition.field == "size":
        limit = int(condition.value)
        return facts.size > limit if condition.op == "over" else facts.size < limit
    if condition.field == "has_attachment":
        return facts.has_attachment == (condition.value == "yes")
    negate = condition.op.startswith("not_")
    op = condition.op.removeprefix("not_")
    found = any(
        _test(op, candidate, condition.value) for candidate in _candidates(condition, op, facts)
    )
    return found != negate


def _candidates(condition: Condition, op: str, facts: MessageFacts) -> list[str]:
    headers = _ADDRESS_FIELD_HEADERS.get(condition.field)
    if headers is not None:
        return facts.header_values(headers) if op == "contains" else facts.addrs(headers)
    if condition.field == "subject":
        return facts.header("subject")
    if condition.field == "header":
        return facts.header(condition.header_name or "")
    if condition.field == "body":
        return [facts.body]
    return [facts.account]  # "account"


def _test(op: str, candidate: str, value: str) -> bool:
    if op == "contains":
        return contains(candidate, value)
    if op == "is":
        return same(candidate, value)
    return glob_matches(candidate, value)
