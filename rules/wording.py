"""Rules in the reader's language: field, operator and action names, the errors of
mailcore's RuleError and SieveProblem codes, and a one-line summary of a rule.

mailcore words nothing for people (it has English reasons for logs); these functions
translate its stable codes at display time, as accounts/outcomes.py does for tasks.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from mailcore.rules import Action, Condition, Rule

FIELD_LABELS = {
    "from": gettext_lazy("From"),
    "to_cc": gettext_lazy("To or Cc"),
    "recipient": gettext_lazy("Any recipient"),
    "subject": gettext_lazy("Subject"),
    "header": gettext_lazy("Header…"),
    "body": gettext_lazy("Body text"),
    "size": gettext_lazy("Size"),
    "has_attachment": gettext_lazy("Attachment"),
    "account": gettext_lazy("Receiving account"),
}
OP_LABELS = {
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
    "is": gettext_lazy("is"),
    "not_is": gettext_lazy("is not"),
    "matches": gettext_lazy("matches (* and ?)"),
    "not_matches": gettext_lazy("does not match (* and ?)"),
    "over": gettext_lazy("is larger than"),
    "under": gettext_lazy("is smaller than"),
    "yes": gettext_lazy("exists"),
    "no": gettext_lazy("does not exist"),
}
ACTION_LABELS = {
    "move": gettext_lazy("Move to folder"),
    "mark_read": gettext_lazy("Mark as read"),
    "flag": gettext_lazy("Flag"),
    "trash": gettext_lazy("Move to Trash"),
    "forward": gettext_lazy("Forward to"),
}
MATCH_LABELS = {
    "all": gettext_lazy("All conditions"),
    "any": gettext_lazy("Any condition"),
}
# Rule fields, as RuleError.field names them, in words.
KEY_LABELS = {
    "name": pgettext_lazy("rule", "Name"),
    "match": gettext_lazy("Match"),
    "field": gettext_lazy("Field"),
    "op": gettext_lazy("Test"),
    "value": gettext_lazy("Value"),
    "header_name": gettext_lazy("Header name"),
    "kind": gettext_lazy("Action"),
    "argument": gettext_lazy("Folder or address"),
}


def error_text(code: str, values: dict) -> str:
    """A RuleError (or SieveProblem) code in the reader's language."""
    texts = {
        "type": _("This has the wrong type."),
        "empty": _("Enter a value."),
        "too_long": _("This is too long (at most %(max)s characters).") % values
        if "max" in values
        else _("This is too long."),
        "control": _("Line breaks and other control characters cannot be used."),
        "choice": _("Choose one of the offered options."),
        "header_name": _("This is not a header name (letters, digits and dashes, no colon)."),
        "unexpected": _("This action takes no folder or address."),
        "size": _("Enter a size in bytes, or with K, M or G (for example 10M)."),
        "folder": _("“%(folder)s” is not a folder path.") % {"folder": values.get("folder", "")},
        "address": _("“%(address)s” is not a valid email address.")
        % {"address": values.get("address", "")},
        "two_folders": _("A rule can move a message to one folder only."),
        "twice": _("This action is there twice."),
        "unknown_key": _("This is not part of a rule."),
        "depth": _("Folders nest at most %(depth)s levels deep.") % {"depth": values.get("depth")},
        "long": _("A folder name has at most %(max)s characters.") % {"max": values.get("max")},
    }
    return texts.get(code) or problem_text(code, values)


def problem_text(code: str, values: dict) -> str:
    """Why a Sieve script cannot be imported, for one SieveProblem code."""
    texts = {
        "encoding": _("The script is not UTF-8 text."),
        "unreadable": _("The script could not be read."),
        "syntax": _("Syntax error: %(detail)s") % {"detail": values.get("detail", "")},
        "elsif": _("“elsif” and “else” cannot be imported: each rule is one independent “if”."),
        "nested_if": _("An “if” inside another “if” cannot be imported."),
        "vacation": _("Automatic replies (vacation) cannot be imported as a rule."),
        "reject": _("Rejecting mail (reject) cannot be imported: rules never bounce mail."),
        "notify": _("Notifications (notify) cannot be imported as a rule."),
        "variables": _("Variables cannot be imported."),
        "removeflag": _("“removeflag” cannot be imported: rules only mark read or flag."),
        "command": _("The command “%(command)s” cannot be imported as a rule.")
        % {"command": values.get("command", "")},
        "constant": _("“%(test)s” inside a test cannot be imported.")
        % {"test": values.get("test", "")},
        "test": _("The test “%(test)s” cannot be imported.") % {"test": values.get("test", "")},
        "comparator": _(
            "The comparator %(comparator)s cannot be imported (comparisons ignore case)."
        )
        % {"comparator": values.get("comparator", "")},
        "match_type": _(
            "The match type %(match)s cannot be imported; use :is, :contains or :matches."
        )
        % {"match": values.get("match", "")},
        "envelope": _("Only the envelope recipient (envelope “to”) can be imported."),
        "address_headers": _("An address test on %(headers)s cannot be imported.")
        % {"headers": values.get("headers", "")},
        "size": _("The size is not a number."),
        "body_transform": _("This body test (%(transform)s) cannot be imported.")
        % {"transform": values.get("transform", "")},
        "mixed": _("A test that mixes “all of” and “any of” cannot be imported."),
        "disabled_test": _("The test of a disabled rule (in its comment) could not be read."),
        "after_stop": _("Commands after “stop” never run; remove them."),
        "keep_copy": _("“keep” next to “fileinto” keeps a second copy; a message has one folder."),
        "fileinto_copy": _("“fileinto :copy” files a second copy; a message has one folder."),
        "flag_variable": _("Flag variables cannot be imported."),
        "flag": _("The flag %(flag)s cannot be imported (only \\Seen and \\Flagged).")
        % {"flag": values.get("flag", "")},
    }
    if code in texts:
        return texts[code]
    return error_text(code, values) if code in _RULE_CODES else _("This cannot be used in a rule.")


_RULE_CODES = {
    "type",
    "empty",
    "too_long",
    "control",
    "choice",
    "header_name",
    "unexpected",
    "folder",
    "address",
    "two_folders",
    "twice",
    "unknown_key",
}


def condition_text(condition: Condition) -> str:
    if condition.field == "has_attachment":
        if condition.value == "yes":
            return _("has an attachment")
        return _("has no attachment")
    field = (
        condition.header_name if condition.field == "header" else str(FIELD_LABELS[condition.field])
    )
    value = condition.value
    if condition.field == "size":
        value = size_text(int(value))
    return _("%(field)s %(test)s “%(value)s”") % {
        "field": field,
        "test": OP_LABELS[condition.op],
        "value": value,
    }


def action_text(action: Action) -> str:
    if action.kind == "move":
        return _("move to “%(folder)s”") % {"folder": action.argument}
    if action.kind == "forward":
        return _("forward to %(address)s") % {"address": action.argument}
    return {
        "mark_read": _("mark as read"),
        "flag": _("flag"),
        "trash": _("move to Trash"),
    }[action.kind]


def rule_summary(rule: Rule) -> tuple[str, str]:
    """(when, then) in words: "From contains “x” or Subject is “y”", "flag, move to …"."""
    if not rule.conditions:
        when = _("every message")
    else:
        joiner = _(" and ") if rule.match == "all" else _(" or ")
        when = joiner.join(condition_text(c) for c in rule.conditions)
    then = [action_text(a) for a in rule.actions]
    if rule.stop:
        then.append(_("stop processing more rules"))
    return when, ", ".join(then) or _("nothing")


def size_text(size: int) -> str:
    """A size as the form shows it: 10M, 300K or bytes."""
    for unit, factor in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
