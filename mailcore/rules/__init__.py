"""Mail rules (filters): the model, applying rules on arrival, forward guards, Sieve.

Django-free, like all of mailcore: the app stores rules as JSON (``Rule.to_dict``),
builds :class:`MessageFacts` for each new message and applies the :class:`Outcome` of
:func:`evaluate` in the transaction that stores the message.

* :mod:`.model` - :class:`Rule`, :class:`Condition`, :class:`Action`, validation
  (:class:`RuleError` names the bad field) and the canonical form;
* :mod:`.matching` - Sieve's i;ascii-casemap comparisons and :matches globs;
* :mod:`.facts` - :class:`MessageFacts` and :func:`message_facts` (decoded headers);
* :mod:`.evaluate` - :func:`evaluate`, :func:`rule_matches`, :class:`Outcome`;
* :mod:`.forwarding` - :func:`forward_refusal`, :func:`forward_copy` (RFC 3834 guards);
* :mod:`.sieve_export` / :mod:`.sieve_import` (with :mod:`.sieve_conditions`) -
  :func:`export_sieve`, :func:`import_sieve` (all or nothing; :class:`SieveImportError`
  lists each problem's line and reason).

Errors and import problems carry an English ``reason`` (logs, tests) and a stable
``code`` with ``values`` (:data:`ERROR_CODES`, :data:`PROBLEM_CODES`): mailcore has no
translations, so the app words them in the reader's language, as accounts/outcomes.py
does for task results.
"""

from .evaluate import Outcome, condition_matches, evaluate, rule_matches
from .facts import MessageFacts, message_facts
from .forwarding import forward_copy, forward_headers, forward_refusal
from .model import (
    ACTION_KINDS,
    ERROR_CODES,
    FIELDS,
    MATCH_KINDS,
    SIZE_OPS,
    TEXT_OPS,
    Action,
    Condition,
    Rule,
    RuleError,
    rules_from_dicts,
    rules_to_dicts,
)
from .sieve_conditions import PROBLEM_CODES
from .sieve_export import export_sieve
from .sieve_import import SieveImportError, SieveProblem, import_sieve

__all__ = [
    "ACTION_KINDS",
    "ERROR_CODES",
    "FIELDS",
    "MATCH_KINDS",
    "PROBLEM_CODES",
    "SIZE_OPS",
    "TEXT_OPS",
    "Action",
    "Condition",
    "MessageFacts",
    "Outcome",
    "Rule",
    "RuleError",
    "SieveImportError",
    "SieveProblem",
    "condition_matches",
    "evaluate",
    "export_sieve",
    "forward_copy",
    "forward_headers",
    "forward_refusal",
    "import_sieve",
    "message_facts",
    "rule_matches",
    "rules_from_dicts",
    "rules_to_dicts",
]
