"""The rule editor: the rule's own fields, a formset of conditions and one of actions.

Plain forms collect the words; :func:`build_rule` turns them into a mailcore Rule, whose
validation is the one that counts, and puts each RuleError on the field it names.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from mailcore.rules import FIELDS, Action, Condition, Rule, RuleError

from . import destinations, wording

OPS = ("contains", "not_contains", "is", "not_is", "matches", "not_matches", "over", "under")
ACTION_KINDS = ("move", "mark_read", "flag", "trash", "forward")
_SIZE = re.compile(r"\s*(\d+)\s*([KMGkmg]?)[Bb]?\s*")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_ENTRY = re.compile(r"(conditions|actions)\[(\d+)\](?:\.(\w+))?")


class RuleForm(forms.Form):
    name = forms.CharField(label=wording.KEY_LABELS["name"], required=False, max_length=200)
    match = forms.ChoiceField(
        label=_("Apply when"),
        choices=list(wording.MATCH_LABELS.items()),
        widget=forms.RadioSelect,
        initial="all",
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    stop = forms.BooleanField(
        label=_("Stop processing more rules when this one matches"), required=False
    )


class ConditionForm(forms.Form):
    field = forms.ChoiceField(
        label=wording.KEY_LABELS["field"], choices=[(f, wording.FIELD_LABELS[f]) for f in FIELDS]
    )
    header_name = forms.CharField(
        label=wording.KEY_LABELS["header_name"], required=False, max_length=200
    )
    op = forms.ChoiceField(
        label=wording.KEY_LABELS["op"],
        choices=[(op, wording.OP_LABELS[op]) for op in (*OPS, "yes", "no")],
    )
    value = forms.CharField(label=wording.KEY_LABELS["value"], required=False, max_length=1000)

    def condition(self) -> Condition:
        data = self.cleaned_data
        field, op, value = data["field"], data["op"], data.get("value", "")
        if field == "has_attachment":
            has = op not in ("no", "not_contains", "not_is", "not_matches")
            return Condition("has_attachment", "is", "yes" if has else "no")
        if field == "size":
            match = _SIZE.fullmatch(value)
            if not match:
                raise RuleError("value", "not a size", "size")
            value = str(int(match.group(1)) * _UNITS[match.group(2).lower()])
        header = data.get("header_name", "").strip() if field == "header" else None
        return Condition(field, op, value, header)

    @staticmethod
    def initial_for(condition: Condition) -> dict:
        if condition.field == "has_attachment":
            return {"field": "has_attachment", "op": condition.value, "value": ""}
        value = condition.value
        if condition.field == "size":
            value = wording.size_text(int(value))
        return {
            "field": condition.field,
            "op": condition.op,
            "value": value,
            "header_name": condition.header_name or "",
        }


class ActionForm(forms.Form):
    kind = forms.ChoiceField(
        label=wording.KEY_LABELS["kind"],
        choices=[(k, wording.ACTION_LABELS[k]) for k in ACTION_KINDS],
    )
    argument = forms.CharField(
        label=wording.KEY_LABELS["argument"],
        required=False,
        max_length=1000,
        # Offers the folders (the editor's <datalist id="rule-folders">); an address too.
        widget=forms.TextInput(attrs={"list": "rule-folders", "autocomplete": "off"}),
    )

    def action(self) -> Action:
        kind, argument = self.cleaned_data["kind"], self.cleaned_data.get("argument", "").strip()
        if kind == "move":
            problem = destinations.path_problem(argument)
            if problem:
                raise RuleError("argument", "not a folder here", problem, **_limits())
        return Action(kind, argument if kind in ("move", "forward") else None)

    @staticmethod
    def initial_for(action: Action) -> dict:
        return {"kind": action.kind, "argument": action.argument or ""}


def _limits() -> dict:
    return {"depth": destinations.UserFolder.MAX_DEPTH, "max": destinations.NAME_MAX}


class RowFormSet(forms.BaseFormSet):
    """The rows of one part of the editor (conditions or actions), each numbered for its
    legend and for the error summary (rules/_rule_rows.html draws either part)."""

    kind = ""  # the row's data-rule-row, which rules.js reads
    legend = ""  # "Condition %(n)s"

    def numbered(self) -> list[tuple[str, forms.Form]]:
        """(legend, form) of each row: "Condition 1", "Condition 2" …"""
        return [(self.legend % {"n": n}, form) for n, form in enumerate(self.forms, 1)]


def _rows(form: type[forms.Form], kind: str, legend) -> type[RowFormSet]:
    base = forms.formset_factory(form, formset=RowFormSet, extra=0, can_delete=True)
    return type(base.__name__, (base,), {"kind": kind, "legend": legend})


ConditionFormSet = _rows(ConditionForm, "condition", _("Condition %(n)s"))
ActionFormSet = _rows(ActionForm, "action", _("Action %(n)s"))


class RuleEditor:
    """The three parts of the editor, bound together; ``rule`` is set once valid."""

    def __init__(self, data=None, *, rule: Rule | None = None, add: str = "") -> None:
        initial = _initial(rule) if rule is not None else None
        if data is not None and add:
            data = _with_extra_row(data, add)
        self.form = RuleForm(data, initial=initial["rule"] if initial else None)
        self.conditions = ConditionFormSet(
            data, prefix="conditions", initial=initial["conditions"] if initial else None
        )
        self.actions = ActionFormSet(
            data, prefix="actions", initial=initial["actions"] if initial else None
        )
        if data is None and rule is None:  # a new rule starts with one row of each
            self.conditions = ConditionFormSet(prefix="conditions", initial=[{}])
            self.actions = ActionFormSet(prefix="actions", initial=[{"kind": "move"}])
        self.rule: Rule | None = None
        self.adding = bool(add)

    def is_valid(self) -> bool:
        parts_valid = all(
            [self.form.is_valid(), self.conditions.is_valid(), self.actions.is_valid()]
        )
        if not parts_valid or self.adding:
            return False
        self.rule = build_rule(self)
        return self.rule is not None

    @property
    def error_count(self) -> int:
        forms_ = [self.form, *self.conditions.forms, *self.actions.forms]
        return sum(len(f.errors) for f in forms_) + len(self.conditions.non_form_errors())


def _deleted(form) -> bool:
    return bool(form.cleaned_data.get("DELETE")) if hasattr(form, "cleaned_data") else False


def build_rule(editor: RuleEditor) -> Rule | None:
    """The mailcore Rule of a valid editor, or None with the errors put on their fields."""
    condition_forms = [f for f in editor.conditions.forms if not _deleted(f) and _filled(f)]
    action_forms = [f for f in editor.actions.forms if not _deleted(f)]
    conditions = _build_rows(condition_forms, ConditionForm.condition)
    actions = _build_rows(action_forms, ActionForm.action)
    if conditions is None or actions is None:
        return None
    data = editor.form.cleaned_data
    try:
        return Rule(
            name=data["name"],
            conditions=conditions,
            actions=actions,
            match=data["match"],
            enabled=data["enabled"],
            stop=data["stop"],
        )
    except RuleError as exc:
        match = _ENTRY.fullmatch(exc.field)
        if match:
            group = condition_forms if match.group(1) == "conditions" else action_forms
            _put(group[int(match.group(2))], exc, match.group(3))
        else:
            _put(editor.form, exc)
        return None


def _build_rows(forms_: list, build) -> list | None:
    """Each row's mailcore Condition or Action, or None if any row has an error (each
    put on its field)."""
    built, ok = [], True
    for form in forms_:
        try:
            built.append(build(form))
        except RuleError as exc:
            _put(form, exc)
            ok = False
    return built if ok else None


def _filled(form) -> bool:
    """A condition row the user left at its defaults with no value is not a condition."""
    data = form.cleaned_data
    return bool(data.get("value") or data.get("field") in ("has_attachment",))


def _put(form, exc: RuleError, key: str | None = None) -> None:
    key = key if key is not None else exc.field
    field = key if key in form.fields else None
    form.add_error(field, wording.error_text(exc.code, exc.values))


def _with_extra_row(data, which: str):
    data = data.copy()
    key = f"{which}-TOTAL_FORMS"
    if which in ("conditions", "actions"):
        try:
            data[key] = str(int(data.get(key, "0")) + 1)
        except ValueError:
            pass
    return data


def _initial(rule: Rule) -> dict:
    return {
        "rule": {
            "name": rule.name,
            "match": rule.match,
            "enabled": rule.enabled,
            "stop": rule.stop,
        },
        "conditions": [ConditionForm.initial_for(c) for c in rule.conditions],
        "actions": [ActionForm.initial_for(a) for a in rule.actions],
    }


class SieveImportForm(forms.Form):
    MODES = [
        ("append", _("Add them after my rules")),
        ("replace", _("Replace all my rules")),
    ]
    script_file = forms.FileField(label=_("Sieve script file"), required=False)
    script = forms.CharField(
        label=_("Or paste the script"), required=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    mode = forms.ChoiceField(
        label=_("Imported rules"), choices=MODES, initial="append", widget=forms.RadioSelect
    )

    MAX_BYTES = 1024 * 1024

    def clean(self):
        data = super().clean()
        upload = data.get("script_file")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError(_("The script is larger than 1 MB."))
            data["text"] = upload.read()
        elif data.get("script", "").strip():
            data["text"] = data["script"]
        else:
            raise forms.ValidationError(_("Choose a file or paste a script."))
        return data
