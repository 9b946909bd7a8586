"""Changing a user's rule list: add, change, reorder, switch on/off, delete, import.

Positions are 0..n-1 in list order; every change that moves rows renumbers them in
one transaction, with the user's rows locked so two tabs cannot interleave.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from mailcore.rules import Rule as RuleData

from .models import Rule


def _locked(owner) -> list[Rule]:
    return list(Rule.objects.select_for_update().filter(owner=owner).order_by("position", "id"))


def _renumber(rows: Sequence[Rule]) -> None:
    changed = []
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position
            changed.append(row)
    Rule.objects.bulk_update(changed, ["position"])


@transaction.atomic
def add_rule(owner, data: RuleData) -> Rule:
    rows = _locked(owner)
    row = Rule(owner=owner, position=len(rows))
    row.set_data(data)
    row.save()
    return row


@transaction.atomic
def change_rule(row: Rule, data: RuleData) -> Rule:
    row.set_data(data)
    row.save(update_fields=["definition", "name", "enabled", "updated_at"])
    return row


@transaction.atomic
def set_enabled(row: Rule, enabled: bool) -> None:
    data = row.data
    row.set_data(RuleData(**{**_fields(data), "enabled": enabled}))
    row.save(update_fields=["definition", "name", "enabled", "updated_at"])


@transaction.atomic
def move_rule(row: Rule, offset: int) -> bool:
    """Move one place up (-1) or down (+1); False at either end."""
    rows = _locked(row.owner)
    index = next(i for i, r in enumerate(rows) if r.pk == row.pk)
    target = index + offset
    if not 0 <= target < len(rows):
        return False
    rows[index], rows[target] = rows[target], rows[index]
    _renumber(rows)
    return True


@transaction.atomic
def delete_rule(row: Rule) -> None:
    owner = row.owner
    row.delete()
    _renumber(_locked(owner))


@transaction.atomic
def import_rules(owner, rules: Sequence[RuleData], *, replace: bool) -> int:
    """Add ``rules`` after the user's own, or instead of them; all or nothing."""
    rows = _locked(owner)
    if replace:
        Rule.objects.filter(pk__in=[r.pk for r in rows]).delete()
        rows = []
    new = []
    for position, data in enumerate(rules, start=len(rows)):
        row = Rule(owner=owner, position=position)
        row.set_data(data)
        new.append(row)
    Rule.objects.bulk_create(new)
    return len(new)


def rule_list(owner) -> list[RuleData]:
    return [row.data for row in Rule.objects.filter(owner=owner).order_by("position", "id")]


def _fields(data: RuleData) -> dict:
    return {
        "name": data.name,
        "conditions": data.conditions,
        "actions": data.actions,
        "match": data.match,
        "enabled": data.enabled,
        "stop": data.stop,
    }
