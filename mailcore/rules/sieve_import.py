"""A Sieve script to rules, all or nothing: :func:`import_sieve`.

sievelib parses (RFC 5228 and the extensions it knows); this module maps the tree to
rules and refuses, with the line and the reason of each, every construct a rule cannot
express. Nothing is imported unless everything is: :class:`SieveImportError` carries
the list of :class:`SieveProblem`. A syntax error stops sievelib at the first one, so
that case reports one problem.

Accepted, beyond what :mod:`.sieve_export` writes (Roundcube's managesieve output and
typical hand-written scripts):

* ``# rule:[name]`` before a rule names it; ``if false # <test>`` is a disabled rule;
  ``if true`` and top-level actions (outside any ``if``) apply to every message;
* a bare test, ``allof``, ``anyof`` and ``not`` in any nesting that comes out as one
  all-of or one any-of list (De Morgan applied); several header names or keys in one
  test become several conditions (``["to", "cc"]`` is the to_cc field, the recipient
  header list is the recipient field);
* ``exists "X"`` is ``X matches "*"``; ``address :domain``/``:localpart`` become globs;
  ``address :contains`` on from/to-cc/recipients becomes contains, which also looks at
  display names (slightly wider); ``envelope "to"`` is the receiving account;
  ``size`` suffixes K/M/G;
* ``fileinto`` (``:create`` ignored, ``:flags`` read), ``fileinto "Trash"`` and
  ``discard`` are trash (recoverable here), ``redirect`` (with or without ``:copy``;
  we always keep the message) is forward, ``addflag``/``setflag``/``keep :flags`` with
  ``\\Seen``/``\\Flagged``, ``keep`` (a no-op), ``stop`` as a rule's last command.

Refused: ``elsif``/``else``, nested ``if``, ``vacation``, ``reject``, ``notify``,
variables (``set``, ``${...}``), ``:regex``, ``:count``/``:value``, ``i;octet``,
``fileinto :copy``, ``removeflag`` and other flags, ``body :raw``/``:content``, tests
on flags, dates or the environment, ``envelope "from"``, tests mixing all-of and any-of.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sievelib.commands import Command
from sievelib.parser import Lexer, Parser

from .model import TRASH_FOLDER, Action, Condition, Rule, RuleError
from .sieve_conditions import (
    ConditionReader,
    SieveImportError,
    SieveProblem,
    strings,
)

__all__ = ["SieveImportError", "SieveProblem", "import_sieve"]

_NAME_COMMENT = re.compile(r"#\s*rule:\[(.*)\]\s*$")
_FLAGS = {"\\seen": "mark_read", "\\flagged": "flag"}
_PARSE_ERROR_PREFIX = re.compile(r"^line \d+: (parsing error: )?")
_ELSIF = "elsif/else chains cannot be represented: each rule is one independent if"
_REJECT = "cannot be represented: rules never bounce mail"
_REFUSED = {  # command -> (problem code, reason)
    "elsif": ("elsif", _ELSIF),
    "else": ("elsif", _ELSIF),
    "if": ("nested_if", "a nested if cannot be represented: a rule has one test and actions"),
    "vacation": ("vacation", "vacation (automatic replies) cannot be represented as a rule"),
    "reject": ("reject", "reject " + _REJECT),
    "ereject": ("reject", "ereject " + _REJECT),
    "set": ("variables", "variables (set) cannot be represented"),
    "notify": ("notify", "notify cannot be represented as a rule"),
    "removeflag": (
        "removeflag",
        "removeflag cannot be represented: rules only add Seen or Flagged",
    ),
}


def import_sieve(script: str | bytes, *, separator: str = "/") -> list[Rule]:
    """The rules of ``script``; raises SieveImportError listing every problem.

    ``separator`` is the server's folder hierarchy separator; folder paths come back
    with "/" between levels.
    """
    try:
        text = script.encode("utf-8") if isinstance(script, str) else script
        script = text.decode("utf-8")
    except UnicodeError as exc:
        line = script[: exc.start].count("\n" if isinstance(script, str) else b"\n") + 1
        problem = SieveProblem(line, "the script is not UTF-8", "encoding")
        raise SieveImportError([problem]) from None
    parser = Parser()
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # noqa: BLE001 - a third-party parser fed user uploads
        line = parser.lexer.curlineno()
        problem = SieveProblem(line, f"unreadable ({type(exc).__name__})", "unreadable")
        raise SieveImportError([problem]) from None
    if not parsed:
        line = parser.error_pos[0]
        reason = _PARSE_ERROR_PREFIX.sub("", parser.error)
        raise SieveImportError([SieveProblem(line, reason, "syntax", {"detail": reason})])
    return _Importer(script, parser.result, separator).run()


# ---------------------------------------------------------------------- the importer


class _Importer(ConditionReader):
    def __init__(self, script: str, commands: list[Command], separator: str) -> None:
        super().__init__()
        self.script = script
        self.commands = commands
        self.separator = separator
        self.comment_after: dict[int, str] = {}  # id(command) -> comment on its line

    def run(self) -> list[Rule]:
        self._locate()
        rules: list[Rule] = []
        loose: list[Command] = []  # consecutive top-level actions: one unconditional rule
        for command in [*self.commands, None]:
            if command is not None and command.get_type() == "action":
                loose.append(command)
                continue
            if loose:
                rule = self._loose_rule(loose)
                if rule is not None:
                    rules.append(rule)
                loose = []
            if command is None:
                break
            if command.name == "require":
                self.extensions.extend(strings(command.arguments["capabilities"]))
            elif command.name == "if":
                rule = self._if_rule(command)
                if rule is not None:
                    rules.append(rule)
            else:
                self._refuse(command)
        if self.problems:
            raise SieveImportError(sorted(self.problems, key=lambda p: p.line))
        return rules

    # -- where things are: sievelib keeps no positions, so the command names (the only
    # identifiers in Sieve) are matched, in order, with a pre-order walk of the tree.

    def _locate(self) -> None:
        text = self.script.encode("utf-8")
        lexer = Lexer(Parser.lrules)
        tokens: list[tuple[str, bytes, int]] = []
        line, counted = 1, 0
        for kind, value in lexer.scan(text):  # lexer.pos is where this token starts
            line += text.count(b"\n", counted, lexer.pos)  # (its curlineno() is quadratic)
            counted = lexer.pos
            tokens.append((kind, value, line))
        names = [i for i, (kind, _, _) in enumerate(tokens) if kind == "identifier"]
        walked = [node for command in self.commands for node in command.walk()]
        for node, index in zip(walked, names, strict=False):
            if tokens[index][1].decode("ascii").lower() != node.name:
                break  # cannot happen with sievelib 1.6; never report a wrong line
            self.lines[id(node)] = tokens[index][2]
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following and following[0] == "hash_comment" and following[2] == tokens[index][2]:
                self.comment_after[id(node)] = following[1].decode("utf-8").strip()

    def _refuse(self, command: Command) -> None:
        name = command.name
        code, reason = _REFUSED.get(name, ("command", f"'{name}' cannot be represented as a rule"))
        self.problem(command, code, reason, command=name)

    # -- rules

    def _name(self, command: Command) -> str:
        for comment in command.hash_comments:
            match = _NAME_COMMENT.match(comment.decode("utf-8", "replace").strip())
            if match:
                return match.group(1)
        return ""

    def _if_rule(self, command: Command) -> Rule | None:
        test = command.arguments["test"]
        enabled, line = True, self.line(command)
        if test.name == "false":  # Roundcube's disabled rule: "if false # <test>"
            enabled = False
            comment = self.comment_after.get(id(test), "").lstrip("#").strip()
            test = self._disabled_test(comment, line) if comment else None
            if comment and test is None:
                self._actions(command.children)  # still report what else is wrong
                return None
        shape: tuple[str, list[Condition]] | None = ("all", [])
        if test is not None and test.name != "true":
            node = self.test(test, negate=False)
            shape = None if node is None else self.shape(node, test, line)
        if shape is None:
            self._actions(command.children)
            return None
        return self._build(command, line, command.children, shape[1], shape[0], enabled)

    def _loose_rule(self, commands: list[Command]) -> Rule | None:
        commands = [c for c in commands if not (c.name == "keep" and "flags" not in c.arguments)]
        if not commands:
            return None  # a bare keep: what happens anyway
        return self._build(commands[0], self.line(commands[0]), commands, [], "all", True)

    def _build(
        self,
        head: Command,
        line: int,
        body: Sequence[Command],
        conditions: list[Condition],
        match: str,
        enabled: bool,
    ) -> Rule | None:
        actions, stop = self._actions(body)
        if actions is None:
            return None
        try:
            return Rule(
                name=self._name(head),
                conditions=conditions,
                actions=actions,
                match=match,
                enabled=enabled,
                stop=stop,
            )
        except RuleError as exc:
            self.problem(line, exc.code, exc.reason, **exc.values, field=exc.field)
            return None

    def _disabled_test(self, comment: str, line: int) -> Command | None:
        """The test Roundcube (and our export) keeps in ``if false # <test>``."""
        requires = ", ".join(f'"{name}"' for name in self.extensions)
        text = (f"require [{requires}];\n" if requires else "") + f"if {comment}\n{{\n}}\n"
        parser = Parser()
        if not parser.parse(text.encode("utf-8")):
            reason = _PARSE_ERROR_PREFIX.sub("", parser.error)
            reason = f"the disabled rule's test in the comment is unreadable: {reason}"
            self.problem(line, "disabled_test", reason, detail=reason)
            return None
        commands = [command for command in parser.result if command.name != "require"]
        if len(commands) != 1 or commands[0].name != "if" or commands[0].children:
            reason = "the disabled rule's comment holds more than one test"
            self.problem(line, "disabled_test", reason, detail=reason)
            return None
        test = commands[0].arguments["test"]
        for node in test.walk():
            self.lines[id(node)] = line
        return test

    # -- actions

    def _actions(self, body: Sequence[Command]) -> tuple[list[Action] | None, bool]:
        actions: list[Action] = []
        stop, ok = False, True
        for command in body:
            if stop:
                self.problem(command, "after_stop", "commands after stop never run; remove them")
                ok = False
                break
            name = command.name
            try:
                if name == "stop":
                    stop = True
                elif name == "fileinto":
                    ok = self._fileinto(command, actions) and ok
                elif name in ("addflag", "setflag", "keep"):
                    ok = self._flags(command, actions) and ok
                elif name == "discard":
                    actions.append(Action("trash"))
                elif name == "redirect":
                    address = self.string(command, command.arguments["address"])
                    ok = address is not None and ok
                    if address is not None:
                        actions.append(Action("forward", address))
                else:
                    self._refuse(command)
                    ok = False
            except RuleError as exc:
                reason = f"{name}: {exc.reason}"
                self.problem(command, exc.code, reason, **exc.values, command=name, field=exc.field)
                ok = False
        keep = next((command for command in body if command.name == "keep"), None)
        if keep is not None and any(a.kind in ("move", "trash") for a in actions):
            reason = (
                "keep next to fileinto or discard keeps a second copy; a message has one folder"
            )
            self.problem(keep, "keep_copy", reason)
            ok = False
        return (actions if ok else None), stop

    def _fileinto(self, command: Command, actions: list[Action]) -> bool:
        if "copy" in command.arguments:
            reason = "fileinto :copy files a second copy; a message has one folder"
            self.problem(command, "fileinto_copy", reason)
            return False
        ok = "flags" not in command.arguments or self._flags(command, actions)
        folder = self.string(command, command.arguments["mailbox"])
        if folder is None:
            return False
        if folder.lower() == TRASH_FOLDER.lower():
            actions.append(Action("trash"))
        else:
            if self.separator != "/":
                folder = folder.replace(self.separator, "/")
            actions.append(Action("move", folder))
        return ok

    def _flags(self, command: Command, actions: list[Action]) -> bool:
        if command.name == "keep" and "flags" not in command.arguments:
            return True
        if "variable-name" in command.arguments:
            self.problem(command, "flag_variable", "flag variables cannot be represented")
            return False
        raw = (
            command.extra_arguments.get("flags")
            if command.name in ("keep", "fileinto")
            else command.arguments["list-of-flags"]
        )
        ok = True
        for item in strings(raw):
            for flag in item.split():
                kind = _FLAGS.get(flag.lower())
                if kind is None:
                    reason = f"the flag {flag} cannot be represented (only \\Seen and \\Flagged)"
                    self.problem(command, "flag", reason, flag=flag)
                    ok = False
                elif Action(kind) not in actions:
                    actions.append(Action(kind))
        return ok
