"""Tests of Sieve interchange: rules exported to a script, scripts imported all or nothing."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailcore.rules import (
    Action,
    Condition,
    Rule,
    SieveImportError,
    SieveProblem,
    export_sieve,
    import_sieve,
    message_facts,
    rule_matches,
)
from testkit.mailfactory import plain

KNOWN_RULES = [
    Rule(
        "보고서",
        [Condition("from", "contains", "김철수"), Condition("subject", "matches", '*"분기"*')],
        [Action("move", "업무/보고서"), Action("mark_read")],
        stop=True,
    ),
    Rule(
        "Lists",
        [
            Condition("header", "contains", "dev.example.org", "List-Id"),
            Condition("to_cc", "not_is", "me@example.com"),
            Condition("recipient", "contains", "lists"),
        ],
        [Action("flag"), Action("forward", "phone@example.net")],
        match="any",
    ),
    Rule(
        "Old promo",
        [Condition("body", "contains", "back\\slash"), Condition("size", "over", "1048576")],
        [Action("trash")],
        enabled=False,
    ),
    Rule(
        "",
        [Condition("account", "is", "work@example.com"), Condition("has_attachment", "is", "no")],
        [Action("move", "Work")],
    ),
    Rule("Everything else", [], [], stop=True),
]

KNOWN_SCRIPT = r"""require ["body", "copy", "envelope", "fileinto", "imap4flags"];

# rule:[보고서]
if allof (header :contains "from" "김철수", header :matches "subject" "*\"분기\"*")
{
    addflag "\\Seen";
    fileinto "업무/보고서";
    stop;
}

# rule:[Lists]
if anyof (header :contains "List-Id" "dev.example.org", not address :is ["to", "cc"] "me@example.com", header :contains ["to", "cc", "bcc", "delivered-to", "x-original-to"] "lists")
{
    addflag "\\Flagged";
    redirect :copy "phone@example.net";
}

# rule:[Old promo]
if false # allof (body :text :contains "back\\slash", size :over 1048576)
{
    fileinto "Trash";
}

if allof (envelope :is "to" "work@example.com", not header :contains "content-type" "multipart/mixed")
{
    fileinto "Work";
}

# rule:[Everything else]
if true
{
    stop;
}
"""  # noqa: E501 - the exact script, one test list per line as Roundcube writes it


def test_export_writes_one_commented_if_per_rule_with_the_extensions_it_uses():
    assert export_sieve(KNOWN_RULES) == KNOWN_SCRIPT


def test_export_of_no_rules_is_an_empty_script():
    assert export_sieve([]) == ""


def test_import_of_the_exported_script_gives_the_same_rules():
    assert import_sieve(KNOWN_SCRIPT) == KNOWN_RULES


# A script as Roundcube's managesieve plugin writes it (its layout, tabs, comma lists).
ROUNDCUBE_SCRIPT = """require ["fileinto","imap4flags","copy","mailbox"];
# rule:[뉴스레터]
if anyof (header :contains "list-id" "news.example.com", header :contains "from" "newsletter@")
{
\tfileinto "Newsletters";
\taddflag "\\\\Seen";
\tstop;
}
# rule:[Boss]
if allof (address :is "from" "boss@example.com", header :comparator "i;ascii-casemap" \
:contains "subject" "urgent")
{
\taddflag "\\\\Flagged";
}
# rule:[Old promo]
if false # anyof (header :contains "subject" ["sale","광고"])
{
\tfileinto "Trash";
}
# rule:[Big mail]
if size :over 10M
{
\tfileinto "Archive.Big";
}
# rule:[Phone]
if anyof (header :contains ["to","cc"] "me@example.com")
{
\tredirect :copy "phone@example.net";
}
# rule:[Partners]
if address :domain :is "from" "partner.example"
{
\tfileinto :create "Partners";
}
"""


def test_import_reads_a_roundcube_managesieve_script():
    assert import_sieve(ROUNDCUBE_SCRIPT, separator=".") == [
        Rule(
            "뉴스레터",
            [
                Condition("header", "contains", "news.example.com", "list-id"),
                Condition("from", "contains", "newsletter@"),
            ],
            [Action("move", "Newsletters"), Action("mark_read")],
            match="any",
            stop=True,
        ),
        Rule(
            "Boss",
            [
                Condition("from", "is", "boss@example.com"),
                Condition("subject", "contains", "urgent"),
            ],
            [Action("flag")],
        ),
        Rule(
            "Old promo",
            [Condition("subject", "contains", "sale"), Condition("subject", "contains", "광고")],
            [Action("trash")],
            match="any",
            enabled=False,
        ),
        Rule(
            "Big mail",
            [Condition("size", "over", str(10 * 1024 * 1024))],
            [Action("move", "Archive/Big")],
        ),
        Rule(
            "Phone",
            [Condition("to_cc", "contains", "me@example.com")],
            [Action("forward", "phone@example.net")],
            match="any",
        ),
        Rule(
            "Partners",
            [Condition("from", "matches", "*@partner.example")],
            [Action("move", "Partners")],
        ),
    ]


def test_import_reads_a_script_with_crlf_line_endings():
    script = ROUNDCUBE_SCRIPT.replace("\n", "\r\n")
    assert import_sieve(script, separator=".") == import_sieve(ROUNDCUBE_SCRIPT, separator=".")
    bad = 'require "reject";\r\n\r\nif true {\r\n  reject "no";\r\n}\r\n'
    with pytest.raises(SieveImportError) as caught:
        import_sieve(bad)
    assert caught.value.problems[0].line == 4


def test_an_imported_domain_test_matches_that_domain_only():
    (rule,) = import_sieve('if address :domain :is "from" "partner.example" { discard; }')
    assert rule_matches(rule, message_facts(plain(from_="Kim <kim@partner.example>")))
    assert not rule_matches(rule, message_facts(plain(from_="kim@partner.example.com")))


def test_import_maps_the_usual_hand_written_forms():
    script = """require ["fileinto", "imap4flags"];
if not anyof (exists "X-Spam-Flag", size :under 100K) { setflag "\\\\Seen \\\\Flagged"; }
if header :contains "Content-Type" "multipart/mixed" { discard; }
fileinto "INBOX";
keep;
"""
    assert import_sieve(script) == [
        Rule(
            "",
            [
                Condition("header", "not_matches", "*", "X-Spam-Flag"),
                Condition("size", "over", str(100 * 1024 - 1)),
            ],
            [Action("mark_read"), Action("flag")],
        ),
        Rule("", [Condition("has_attachment", "is", "yes")], [Action("trash")]),
        Rule("", [], [Action("move", "INBOX")]),
    ]


@pytest.mark.parametrize(
    ("script", "line", "reason", "code"),
    [
        ('require "vacation";\n\nif true {\n  vacation "Away";\n}', 4, "vacation", "vacation"),
        ('require "reject";\nreject "no";', 2, "reject", "reject"),
        ("if true { discard; }\nelsif false { stop; }", 2, "elsif", "elsif"),
        (
            'require "fileinto";\nif true {\n if true { fileinto "a"; }\n}',
            3,
            "nested if",
            "nested_if",
        ),
        (
            'require "regex";\nif header :regex "subject" "^a" { discard; }',
            2,
            ":regex",
            "match_type",
        ),
        (
            'require "relational";\nif header :count "gt" "to" "3" { discard; }',
            2,
            ":count",
            "match_type",
        ),
        ('require "variables";\nset "x" "y";', 2, "variables", "variables"),
        (
            'require ["variables", "fileinto"];\nif true {\n fileinto "${x}";\n}',
            3,
            "variables",
            "variables",
        ),
        (
            'if header :comparator "i;octet" :is "subject" "X" { discard; }',
            1,
            "i;octet",
            "comparator",
        ),
        (
            'require "copy";\nrequire "fileinto";\nif true { fileinto :copy "A"; }',
            3,
            ":copy",
            "fileinto_copy",
        ),
        ('require "imap4flags";\nif true { addflag "$Label1"; }', 2, "$Label1", "flag"),
        ('if address :is "reply-to" "a@b.example" { discard; }', 1, "reply-to", "address_headers"),
        (
            'require "envelope";\nif envelope :is "from" "a@b.example" { discard; }',
            2,
            "envelope",
            "envelope",
        ),
        (
            'require "body";\nif body :raw :contains "x" { discard; }',
            2,
            "body :raw",
            "body_transform",
        ),
        (
            "if allof (size :over 1, anyof (size :over 2, size :over 3)) { discard; }",
            1,
            "mixes",
            "mixed",
        ),
        ('if header :is "subject" "" { discard; }', 1, "empty", "empty"),
        ('if true { redirect "not an address"; }', 1, "redirect", "address"),
        ("if true {\n stop;\n discard;\n}", 3, "after stop", "after_stop"),
        (
            'require "fileinto";\nif true { fileinto "A"; fileinto "B"; }',
            2,
            "one folder",
            "two_folders",
        ),
        ("if false # not a test\n{ discard; }", 1, "disabled rule", "disabled_test"),
        ('if header :contains "subject" "x"\n{\n  discard\n}', 4, "unexpected token", "syntax"),
        ('if true { vacation "x"; }', 1, "extension 'vacation' not loaded", "syntax"),
        (
            'require "fileinto";\nif true {\n fileinto "A";\n keep;\n}',
            4,
            "second copy",
            "keep_copy",
        ),
        (
            'require "regex";\nif anyof (\n  not exists "X-A",\n  header :regex "b" "c"\n)'
            " { discard; }",
            4,
            ":regex",
            "match_type",
        ),
    ],
)
def test_a_refused_script_reports_the_line_and_the_reason(script, line, reason, code):
    with pytest.raises(SieveImportError) as caught:
        import_sieve(script)
    (problem,) = caught.value.problems
    assert (problem.line, problem.code) == (line, code)
    assert reason in problem.reason


def test_every_problem_is_listed_and_nothing_is_imported():
    script = """require ["fileinto", "vacation", "imap4flags"];
# rule:[fine]
if header :contains "subject" "vacation if stop" { fileinto "A"; }
/* if true { vacation "x"; } */
if true {
  vacation "Away";  # if
}
if true { addflag "\\\\Answered"; removeflag "\\\\Seen"; }
"""
    with pytest.raises(SieveImportError) as caught:
        import_sieve(script)
    assert caught.value.problems == [
        SieveProblem(6, "vacation (automatic replies) cannot be represented as a rule", "vacation"),
        SieveProblem(
            8, "the flag \\Answered cannot be represented (only \\Seen and \\Flagged)", "flag"
        ),
        SieveProblem(
            8, "removeflag cannot be represented: rules only add Seen or Flagged", "removeflag"
        ),
    ]
    assert caught.value.problems[1].values == {"flag": "\\Answered"}
    assert str(caught.value).startswith("line 6: vacation")


def test_a_script_that_is_not_utf8_is_refused_with_its_line():
    with pytest.raises(SieveImportError) as caught:
        import_sieve(b'require "fileinto";\nif header :is "subject" "\xb0\xa1" { discard; }')
    assert caught.value.problems == [SieveProblem(2, "the script is not UTF-8", "encoding")]


# ------------------------------------------------------------------ round trip property

_SPECIAL = '"\\*?#;{}[](),: /가나다김철수보고서'
_text = st.text(
    st.one_of(
        st.sampled_from(_SPECIAL),
        st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
    ),
    min_size=1,
    max_size=12,
)
_header_name = st.text(
    st.sampled_from([chr(c) for c in range(33, 127) if chr(c) != ":"]), min_size=1, max_size=12
)
_text_condition = st.builds(
    Condition,
    field=st.sampled_from(["from", "to_cc", "recipient", "subject", "body", "account"]),
    op=st.sampled_from(["contains", "not_contains", "is", "not_is", "matches", "not_matches"]),
    value=_text,
)
_header_condition = st.builds(
    Condition,
    field=st.just("header"),
    op=st.sampled_from(["contains", "not_contains", "is", "not_is", "matches", "not_matches"]),
    value=_text | st.just("multipart/mixed"),
    header_name=_header_name | st.sampled_from(["Subject", "from", "Content-Type", "to"]),
)
_size_condition = st.builds(
    Condition,
    field=st.just("size"),
    op=st.sampled_from(["over", "under"]),
    value=st.integers(1, 2**40).map(str),
)
_attachment_condition = st.builds(
    Condition,
    field=st.just("has_attachment"),
    op=st.just("is"),
    value=st.sampled_from(["yes", "no"]),
)
_condition = st.one_of(_text_condition, _header_condition, _size_condition, _attachment_condition)
_folder = st.lists(_text.filter(lambda s: "/" not in s and s.strip()), min_size=1, max_size=3).map(
    "/".join
)
_address = st.from_regex(
    r"[a-z0-9]{1,6}(\.[a-z0-9+]{1,4})?@[a-z]{1,6}\.(com|kr|example)", fullmatch=True
) | st.just("user@한국.kr")


@st.composite
def _rules(draw: st.DrawFn) -> Rule:
    actions = [Action(kind) for kind in draw(st.sets(st.sampled_from(["mark_read", "flag"])))]
    destination = draw(
        st.one_of(st.none(), st.just(Action("trash")), _folder.map(lambda f: Action("move", f)))
    )
    if destination is not None:
        actions.append(destination)
    forwards = draw(st.lists(_address, max_size=2, unique_by=lambda a: a.lower()))
    actions += [Action("forward", address) for address in forwards]
    return Rule(
        name=draw(st.just("") | _text),
        conditions=draw(st.lists(_condition, max_size=4)),
        actions=draw(st.permutations(actions)),
        match=draw(st.sampled_from(["all", "any"])),
        enabled=draw(st.booleans()),
        stop=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(_rules(), max_size=4))
def test_exported_rules_import_back_equal(rules):
    assert import_sieve(export_sieve(rules)) == rules


@settings(max_examples=50, deadline=None)
@given(st.lists(_rules(), min_size=1, max_size=3))
def test_round_trip_through_a_server_whose_folder_separator_is_a_dot(rules):
    folders = [a.argument or "" for r in rules for a in r.actions if a.kind == "move"]
    assume(not any("." in folder for folder in folders))
    assert import_sieve(export_sieve(rules, separator="."), separator=".") == rules


def test_folder_levels_use_the_server_separator():
    rules = [Rule("r", [], [Action("move", "Work/Reports")])]
    assert 'fileinto "Work.Reports";' in export_sieve(rules, separator=".")
