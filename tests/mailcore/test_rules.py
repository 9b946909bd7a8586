"""Tests of mailcore.rules: the rule model, applying rules to a message, forward guards."""

from __future__ import annotations

import json

import pytest

from mailcore.rules import (
    Action,
    Condition,
    MessageFacts,
    Rule,
    RuleError,
    evaluate,
    forward_copy,
    forward_refusal,
    message_facts,
    rule_matches,
    rules_from_dicts,
    rules_to_dicts,
)
from testkit.mailfactory import (
    attachment_part,
    encoded_word,
    message,
    multipart,
    plain,
    split_encoded_words,
    text_part,
    with_attachments,
)


def facts(raw: bytes, account: str = "me@example.com") -> MessageFacts:
    return message_facts(raw, account)


def matches(condition: Condition, raw: bytes, account: str = "me@example.com") -> bool:
    return rule_matches(Rule("r", [condition]), facts(raw, account))


KOREAN_FROM = f"{encoded_word('김철수', 'euc-kr')} <kim@example.co.kr>"


# ------------------------------------------------------------------ model and JSON


def test_rules_survive_a_json_column_unchanged():
    rules = [
        Rule(
            "보고서",
            [Condition("from", "contains", "김철수"), Condition("size", "over", 1024)],
            [Action("move", "업무/보고서"), Action("mark_read")],
            match="any",
            stop=True,
        ),
        Rule("off", [Condition("header", "is", "x", "List-Id")], [Action("trash")], enabled=False),
    ]
    stored = json.loads(json.dumps(rules_to_dicts(rules)))
    assert rules_from_dicts(stored) == rules
    assert stored[0]["conditions"][1] == {"field": "size", "op": "over", "value": "1024"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([{"name": "a", "match": "most"}], "[0].match"),
        (
            [{"name": "a", "conditions": [{"field": "sender", "op": "is", "value": "x"}]}],
            "[0].conditions[0].field",
        ),
        (
            [{"name": "a", "conditions": [{"field": "subject", "op": "over", "value": "x"}]}],
            "[0].conditions[0].op",
        ),
        (
            [{"name": "a", "conditions": [{"field": "size", "op": "over", "value": "10K"}]}],
            "[0].conditions[0].value",
        ),
        (
            [{"name": "a", "conditions": [{"field": "header", "op": "is", "value": "x"}]}],
            "[0].conditions[0].header_name",
        ),
        (
            [{}, {"name": "a", "actions": [{"kind": "forward", "argument": "no-at-sign"}]}],
            "[1].actions[0].argument",
        ),
        (
            [{"name": "a", "actions": [{"kind": "move", "argument": "A"}, {"kind": "trash"}]}],
            "[0].actions[1]",
        ),
        ([{"name": "a", "colour": "red"}], "[0].colour"),
        ([{"name": "a", "stop": "yes"}], "[0].stop"),
        ({"name": "a"}, ""),
    ],
)
def test_an_invalid_rule_is_refused_naming_the_field(data, field):
    with pytest.raises(RuleError) as caught:
        rules_from_dicts(data)
    assert caught.value.field == field


def test_a_rule_error_carries_a_code_and_values_to_word_it_in_korean():
    with pytest.raises(RuleError) as caught:
        Rule("r", actions=[Action("forward", "no-at-sign")])
    assert (caught.value.field, caught.value.code) == ("argument", "address")
    assert caught.value.values == {"address": "no-at-sign"}


def test_a_value_with_a_line_break_is_refused():
    with pytest.raises(RuleError, match="line break"):
        Condition("subject", "contains", "a\r\nBcc: x@example.com")


def test_a_header_condition_on_subject_or_from_is_stored_as_that_field():
    assert Condition("header", "contains", "x", "SUBJECT") == Condition("subject", "contains", "x")
    assert Condition("header", "not_contains", "x", "From") == Condition(
        "from", "not_contains", "x"
    )
    assert Condition("header", "is", "x", "From").field == "header"  # whole-header equality


def test_move_to_trash_is_the_trash_action_and_flags_come_first():
    rule = Rule(
        "r", actions=[Action("forward", "a@EXAMPLE.com"), Action("move", "trash"), Action("flag")]
    )
    assert rule.actions == (Action("flag"), Action("trash"), Action("forward", "a@example.com"))


# ------------------------------------------------------------------ each field and op


def test_from_contains_matches_a_korean_display_name_and_the_address():
    raw = plain(from_=KOREAN_FROM)
    assert matches(Condition("from", "contains", "철수"), raw)
    assert matches(Condition("from", "contains", "KIM@EXAMPLE"), raw)
    assert not matches(Condition("from", "contains", "lee"), raw)
    assert matches(Condition("from", "not_contains", "lee"), raw)


def test_from_is_and_matches_compare_the_address_ignoring_ascii_case():
    raw = plain(from_=KOREAN_FROM)
    assert matches(Condition("from", "is", "Kim@Example.co.kr"), raw)
    assert not matches(Condition("from", "is", "김철수"), raw)
    assert matches(Condition("from", "matches", "*@example.co.??"), raw)
    assert not matches(Condition("from", "matches", "*@example.com"), raw)
    assert matches(Condition("from", "not_is", "lee@example.co.kr"), raw)


def test_to_cc_looks_at_cc_too_but_not_at_bcc():
    raw = plain(to="a@example.com", headers=[("Cc", "Team <team@example.com>")])
    assert matches(Condition("to_cc", "is", "team@example.com"), raw)
    assert matches(Condition("to_cc", "contains", "Team"), raw)
    bcc_only = plain(to="a@example.com", headers=[("Bcc", "hidden@example.com")])
    assert not matches(Condition("to_cc", "is", "hidden@example.com"), bcc_only)


def test_recipient_finds_the_envelope_recipient_in_delivered_to():
    raw = plain(to="list@lists.example.org", headers=[("Delivered-To", "me+lists@example.com")])
    assert matches(Condition("recipient", "is", "me+lists@example.com"), raw)
    assert matches(Condition("recipient", "matches", "*@lists.example.org"), raw)
    assert not matches(Condition("to_cc", "is", "me+lists@example.com"), raw)


def test_subject_matches_korean_sent_as_split_encoded_words():
    raw = plain(subject=split_encoded_words("2분기 매출 보고서", "euc-kr"))
    assert matches(Condition("subject", "contains", "매출 보고서"), raw)
    assert matches(Condition("subject", "is", "2분기 매출 보고서"), raw)
    assert matches(Condition("subject", "matches", "2분기*"), raw)


def test_case_folding_is_ascii_only_like_sieve():
    raw = plain(subject=encoded_word("Ärger with INVOICE"))
    assert matches(Condition("subject", "contains", "invoice"), raw)
    assert not matches(Condition("subject", "contains", "ärger"), raw)


def test_matches_is_a_whole_value_glob_with_backslash_escapes():
    raw = plain(subject="Price: 5* deal?")
    assert matches(Condition("subject", "matches", "price: ?\\* deal\\?"), raw)
    assert not matches(Condition("subject", "matches", "price: ?\\* deal\\!"), raw)
    assert not matches(Condition("subject", "matches", "deal"), raw)
    assert matches(Condition("subject", "not_matches", "deal"), raw)


def test_named_header_checks_every_occurrence_and_a_missing_one_contains_nothing():
    raw = plain(headers=[("X-Tag", "alpha"), ("X-Tag", "beta"), ("List-Id", "<dev.example.org>")])
    assert matches(Condition("header", "is", "beta", "x-tag"), raw)
    assert matches(Condition("header", "contains", "dev.example", "LIST-ID"), raw)
    assert matches(Condition("header", "not_contains", "x", "X-Absent"), raw)
    assert not matches(Condition("header", "matches", "*", "X-Absent"), raw)


def test_body_contains_korean_text_of_an_euc_kr_message():
    raw = plain(body="회의는 내일 오전 10시입니다.\n", charset="euc-kr")
    assert matches(Condition("body", "contains", "내일 오전"), raw)
    html = message(text_part("<p>Your <b>invoice</b> is ready</p>", "html"))
    assert matches(Condition("body", "contains", "your invoice is"), html)


def test_size_is_strictly_over_or_under_in_bytes():
    raw = plain()
    size = len(raw)
    assert matches(Condition("size", "over", size - 1), raw)
    assert not matches(Condition("size", "over", size), raw)
    assert matches(Condition("size", "under", size + 1), raw)
    assert not matches(Condition("size", "under", size), raw)


def test_has_attachment_ignores_inline_images_and_counts_files():
    assert matches(Condition("has_attachment", "is", "yes"), with_attachments())
    assert matches(Condition("has_attachment", "is", "no"), plain())
    inline = message(
        multipart(
            "related",
            text_part("<img src=cid:logo>", "html"),
            attachment_part(
                b"png", "logo.png", "image/png", disposition="inline", content_id="logo"
            ),
        )
    )
    assert matches(Condition("has_attachment", "is", "no"), inline)


def test_account_is_the_receiving_account_address():
    assert matches(Condition("account", "is", "Work@Example.com"), plain(), "work@example.com")
    assert not matches(Condition("account", "is", "work@example.com"), plain(), "home@example.com")


# ------------------------------------------------------------------ all/any, order and stop


def test_all_needs_every_condition_and_any_needs_one():
    raw = plain(subject="Invoice", from_="billing@shop.example")
    conditions = [
        Condition("subject", "contains", "invoice"),
        Condition("from", "contains", "bank"),
    ]
    assert not rule_matches(Rule("r", conditions, match="all"), facts(raw))
    assert rule_matches(Rule("r", conditions, match="any"), facts(raw))
    assert rule_matches(Rule("every message"), facts(raw))


def test_rules_run_in_order_first_move_wins_and_flags_and_forwards_add_up():
    rules = [
        Rule("off", [], [Action("move", "Never")], enabled=False),
        Rule("no match", [Condition("subject", "contains", "zzz")], [Action("trash")]),
        Rule(
            "work",
            [Condition("from", "contains", "boss")],
            [Action("move", "Work"), Action("forward", "a@x.example")],
        ),
        Rule(
            "later",
            [],
            [
                Action("move", "Later"),
                Action("flag"),
                Action("forward", "a@x.example"),
                Action("forward", "b@x.example"),
            ],
        ),
    ]
    outcome = evaluate(rules, facts(plain(from_="boss@example.com")))
    assert outcome.folder == "Work"
    assert not outcome.trash
    assert outcome.flagged and not outcome.seen
    assert outcome.forward_to == ["a@x.example", "b@x.example"]
    assert outcome.matched == [2, 3]


def test_stop_ends_the_run_after_a_matching_rule():
    rules = [
        Rule(
            "read it", [Condition("subject", "contains", "news")], [Action("mark_read")], stop=True
        ),
        Rule("trash everything", [], [Action("trash")]),
    ]
    assert evaluate(rules, facts(plain(subject="Weekly news"))).trash is False
    assert evaluate(rules, facts(plain(subject="Hello"))).trash is True


def test_no_matching_rule_leaves_the_message_where_the_account_delivers():
    outcome = evaluate(
        [Rule("r", [Condition("subject", "is", "x")], [Action("move", "X")])], facts(plain())
    )
    assert outcome.folder is None and not outcome.moved and outcome.matched == []


def test_facts_of_garbage_do_not_raise():
    junk = b"\x00\xff: \r\n\r\n\xfe"
    assert evaluate([Rule("r", [Condition("subject", "contains", "x")])], facts(junk)).matched == []


# ------------------------------------------------------------------ forward guards (RFC 3834)

TOKEN = "rules-alice@webmail.example"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("Auto-Submitted", "auto-replied")], "auto-submitted"),
        ([("Auto-Submitted", "Auto-Generated (cron daemon)")], "auto-submitted"),
        ([("Auto-Submitted", "no")], None),
        ([("X-Loop", TOKEN.upper())], "loop"),
        ([("X-Loop", "someone-else@example.net")], None),
        ([("Precedence", "bulk"), ("List-Id", "<dev.example.org>")], None),
    ],
)
def test_forward_refusal_reads_auto_submitted_and_x_loop(headers, reason):
    raw = plain(headers=headers)
    assert forward_refusal(facts(raw), "phone@example.net", TOKEN) == reason


def test_never_forward_a_message_back_to_its_sender():
    raw = plain(
        from_="Alice <alice@example.com>", headers=[("Return-Path", "<bounce@lists.example>")]
    )
    assert forward_refusal(facts(raw), "ALICE@example.com", TOKEN) == "sender"
    assert forward_refusal(facts(raw), "bounce@lists.example", TOKEN) == "sender"
    assert forward_refusal(facts(raw), "bob@example.com", TOKEN) is None


def test_a_forwarded_copy_is_marked_and_never_forwarded_again():
    raw = plain(headers=[("Auto-Submitted", "no")], body="body\r\nAuto-Submitted: no\r\n")
    copy = forward_copy(raw, TOKEN)
    assert copy.startswith(b"Auto-Submitted: auto-generated\r\nX-Loop: " + TOKEN.encode() + b"\r\n")
    assert copy.count(b"Auto-Submitted: no") == 1  # the body's line is untouched
    assert copy.endswith(raw[raw.index(b"\r\n\r\n") :])
    assert forward_refusal(facts(copy), "phone@example.net", TOKEN) == "auto-submitted"
    assert forward_refusal(facts(copy), "phone@example.net", "other-token") == "auto-submitted"
