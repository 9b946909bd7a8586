"""Settings › Rules: the ordered list, the editor, Sieve export/import, running a rule on
existing mail. Each view looks its rule up scoped to request.user (404 otherwise),
checks its form, and calls one function of .editing or .existing."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from mailbox.models import Folder, Message, Outgoing, OutgoingStatus, UserFolder
from mailcore.rules import (
    Action,
    Condition,
    RuleError,
    SieveImportError,
    export_sieve,
    import_sieve,
    message_facts,
)
from mailcore.rules import Rule as RuleData

from . import destinations, editing, existing, wording
from .forms import RuleEditor, SieveImportForm
from .models import Rule

_LIST_ID = re.compile(r"<([^<>\s]+)>")


def _own_rule(request, pk: int) -> Rule:
    return get_object_or_404(Rule, pk=pk, owner=request.user)


def _data_or_none(row: Rule) -> RuleData | None:
    try:
        return row.data
    except RuleError:
        return None


def rule_list(request):
    rows = list(Rule.objects.filter(owner=request.user).order_by("position", "id"))
    items = []
    for row in rows:
        data = _data_or_none(row)
        when, then = wording.rule_summary(data) if data else ("", "")
        items.append({"row": row, "when": when, "then": then, "broken": data is None})
    # A forward that failed stays in the Outbox (Sent) until removed; said here too.
    failed = Outgoing.objects.filter(
        owner=request.user,
        is_rule_forward=True,
        in_reply_to="",  # not a vacation reply (Outgoing.is_automatic_reply)
        status=OutgoingStatus.FAILED,
    ).count()
    return render(request, "rules/rule_list.html", {"items": items, "failed_forwards": failed})


def _editor_context(request, editor: RuleEditor, row: Rule | None) -> dict:
    system = [("INBOX", Folder.INBOX.label), ("Archive", Folder.ARCHIVE.label)]
    system.append(("Junk", Folder.JUNK.label))
    return {
        "editor": editor,
        "row": row,
        "system_paths": system,
        "folder_paths": [path for _pk, path in destinations.own_folders(request.user.pk)],
        "error_count": editor.error_count if editor.form.is_bound else 0,
    }


def rule_edit(request, pk: int | None = None):
    row = _own_rule(request, pk) if pk is not None else None
    if request.method == "POST":
        add = request.POST.get("add", "")
        editor = RuleEditor(request.POST, add=add if add in ("conditions", "actions") else "")
        if editor.is_valid():
            if row is None:
                row = editing.add_rule(request.user, editor.rule)
                messages.success(request, _("Rule “%(name)s” added.") % {"name": row})
            else:
                editing.change_rule(row, editor.rule)
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": row})
            return redirect("rule_list")
        status = 200 if editor.adding else 400
        return render(
            request, "rules/rule_form.html", _editor_context(request, editor, row), status=status
        )
    if row is not None:
        data = _data_or_none(row)
        editor = RuleEditor(rule=data) if data else RuleEditor()
    elif request.GET.get("message"):
        editor = RuleEditor(rule=_rule_from_message(request, request.GET["message"]))
    else:
        editor = RuleEditor()
    return render(request, "rules/rule_form.html", _editor_context(request, editor, row))


def _rule_from_message(request, pk: str) -> RuleData:
    """A new rule for mail like this message: its mailing list if it has one, else its
    sender. The user picks what to do."""
    if not pk.isdigit():
        raise Http404
    message = get_object_or_404(Message, pk=int(pk), owner=request.user)
    try:
        with default_storage.open(message.raw_file.name, "rb") as f:
            facts = message_facts(f.read())
    except OSError:
        facts = None
    list_ids = [
        m.group(1)
        for v in (facts.header("list-id") if facts else [])
        for m in [_LIST_ID.search(v)]
        if m
    ]
    if list_ids:
        condition = Condition("header", "contains", list_ids[0], "List-Id")
        name = list_ids[0]
    elif message.from_address:
        condition = Condition("from", "is", message.from_address)
        name = message.from_name or message.from_address
    else:
        return RuleData(name="")
    return RuleData(name=name[:200], conditions=[condition], actions=[Action("mark_read")])


@require_POST
def rule_toggle(request, pk: int):
    row = _own_rule(request, pk)
    if _data_or_none(row) is None:
        raise Http404
    editing.set_enabled(row, not row.enabled)
    text = _("Rule “%(name)s” turned on.") if row.enabled else _("Rule “%(name)s” turned off.")
    messages.success(request, text % {"name": row})
    return redirect("rule_list")


@require_POST
def rule_move(request, pk: int):
    row = _own_rule(request, pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse(status=400)
    editing.move_rule(row, offset)
    return redirect("rule_list")


def rule_delete(request, pk: int):
    row = _own_rule(request, pk)
    if request.method == "POST":
        editing.delete_rule(row)
        messages.success(request, _("Rule “%(name)s” deleted.") % {"name": row})
        return redirect("rule_list")
    return render(request, "rules/rule_confirm_delete.html", {"row": row})


def _run_folders(user) -> list[tuple[str, str]]:
    choices = [(f.value, f.label) for f in existing.RUN_FOLDERS]
    choices += [(f"f{pk}", path) for pk, path in destinations.own_folders(user.pk)]
    return choices


def rule_run(request, pk: int):
    row = _own_rule(request, pk)
    data = _data_or_none(row)
    if data is None:
        raise Http404
    where = request.POST.get("folder") if request.method == "POST" else request.GET.get("folder")
    where = where or Folder.INBOX
    candidates = existing.folder_messages(request.user, where)
    if candidates is None:
        raise Http404
    found = existing.scan(data, candidates)
    if request.method == "POST" and request.POST.get("confirm"):
        count = existing.apply(request.user, data, found.ids)
        messages.success(
            request,
            ngettext(
                "Rule “%(name)s” applied to %(count)s message.",
                "Rule “%(name)s” applied to %(count)s messages.",
                count,
            )
            % {"name": row, "count": count},
        )
        return redirect("rule_list")
    folders = _run_folders(request.user)
    context = {
        "row": row,
        "folders": folders,
        "where": where,
        "where_label": dict(folders).get(where, ""),
        "scan": found,
        "max_messages": existing.MAX_MESSAGES,
        "forwards": any(a.kind == "forward" for a in data.actions),
        "summary": wording.rule_summary(data),
    }
    return render(request, "rules/rule_run.html", context)


@require_GET
def sieve_export(request):
    rules = [d for d in map(_data_or_none, Rule.objects.filter(owner=request.user)) if d]
    response = HttpResponse(export_sieve(rules), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rules.sieve"'
    return response


def sieve_import(request):
    form = SieveImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            rules = import_sieve(form.cleaned_data["text"])
        except SieveImportError as exc:
            problems = [
                {"line": p.line, "text": wording.problem_text(p.code, p.values)}
                for p in exc.problems
            ]
        else:
            problems = _folder_problems(rules)
            if not problems:
                replace = form.cleaned_data["mode"] == "replace"
                count = editing.import_rules(request.user, rules, replace=replace)
                messages.success(
                    request,
                    ngettext("Imported %(count)s rule.", "Imported %(count)s rules.", count)
                    % {"count": count},
                )
                return redirect("rule_list")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "rules/sieve_import.html", {"form": form, "problems": problems}, status=status
    )


def _folder_problems(rules: list[RuleData]) -> list[dict]:
    """Folder paths the script may hold but our folders cannot (too deep, too long)."""
    problems = []
    for index, rule in enumerate(rules, start=1):
        for action in rule.actions:
            code = (
                destinations.path_problem(action.argument or "") if action.kind == "move" else None
            )
            if code:
                text = wording.error_text(
                    code, {"depth": UserFolder.MAX_DEPTH, "max": destinations.NAME_MAX}
                )
                problems.append(
                    {
                        "line": None,
                        "rule": rule.name or index,
                        "text": f"{action.argument}: {text}",
                    }
                )
    return problems
