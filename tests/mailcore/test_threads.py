"""Conversations: ids from headers, subjects, JWZ trees and incremental placement."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcore.threads import (
    Placement,
    ThreadMessage,
    ancestor_ids,
    assign_threads,
    jwz_thread,
    normalize_message_id,
    parse_message_ids,
    place_message,
    subject_key,
    walk,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def msg(key, refs=(), subject="회의", minutes=0, message_id=None):
    return ThreadMessage(
        key=key,
        message_id=f"{key}@x" if message_id is None else message_id or None,
        ancestors=tuple(f"{r}@x" for r in refs),
        subject=subject,
        date=T0 + timedelta(minutes=minutes),
    )


def groups(assignment: dict) -> set[frozenset]:
    by_thread: dict = {}
    for key, thread in assignment.items():
        by_thread.setdefault(thread, set()).add(key)
    return {frozenset(keys) for keys in by_thread.values()}


def tree(roots) -> list[tuple[int, str | None]]:
    return [(depth, node.message_id) for depth, node in walk(roots)]


# ----------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@example.com>", ["a@example.com"]),
        ("  <a@x>\r\n\t<b@x> <a@x>", ["a@x", "b@x"]),
        ("<long\r\n @folded.id>", ["long@folded.id"]),
        ("<a@x> (Bob's message of Tue, <c@x>)", ["a@x"]),
        ("Bob's message of Tue, 5 Mar 2024 <a@x>", ["a@x"]),
        ("a@x b@x", ["a@x", "b@x"]),
        ("=?utf-8?q?=3Ca=40x=3E?=", ["a@x"]),
        (b"<\xea\xb0\x80@x>", ["가@x"]),
        ("<>", []),
        ("no ids here", []),
        (None, []),
        ("<" + "x" * 600 + "@x>", []),
    ],
)
def test_message_ids_are_salvaged_from_headers(value, expected):
    assert parse_message_ids(value) == expected


def test_normalized_message_id_is_the_first_bare_id():
    assert normalize_message_id(" <A@x> <b@x>") == "A@x"
    assert normalize_message_id("") is None


def test_ancestors_are_references_then_in_reply_to_parent_last():
    assert ancestor_ids("<a@x> <b@x>", "<c@x>") == ["a@x", "b@x", "c@x"]
    assert ancestor_ids("<a@x> <b@x>", "<b@x>") == ["a@x", "b@x"]
    assert ancestor_ids(None, "<c@x> <d@x>") == ["c@x"]


def test_ancestors_drop_the_message_itself_and_repeats():
    assert ancestor_ids("<a@x> <me@x> <a@x> <b@x>", None, own_id="me@x") == ["a@x", "b@x"]


def test_ancestors_take_parsed_lists_as_the_parser_gives_them():
    assert ancestor_ids(["a@x", "b@x"], "c@x") == ["a@x", "b@x", "c@x"]


def test_very_long_references_keep_the_root_and_the_nearest():
    chain = ancestor_ids(" ".join(f"<{n}@x>" for n in range(500)))
    assert len(chain) == 100 and chain[0] == "0@x" and chain[-1] == "499@x"


# ----------------------------------------------------------------------------- subjects


@pytest.mark.parametrize(
    ("subject", "key", "is_reply"),
    [
        ("회의 자료", "회의 자료", False),
        ("Re: 회의 자료", "회의 자료", True),
        ("RE[2]: RE: Fwd:  회의   자료", "회의 자료", True),
        ("답장: 회의 자료", "회의 자료", True),
        ("회신: 전달: 회의 자료", "회의 자료", True),
        ("re : 회의 자료", "회의 자료", True),
        ("Re：회의 자료", "회의 자료", True),
        ("[dev] Re: [dev] Budget", "budget", True),
        ("[공지] 회의 자료", "회의 자료", False),
        ("AW: WG: Treffen", "treffen", True),
        ("回复: 会议", "会议", True),
        ("Reply all rules", "reply all rules", False),
        ("=?UTF-8?B?UmU6IO2ajOydmA==?=", "회의", True),
        ("Re:", "", True),
    ],
)
def test_subject_keys_ignore_prefixes_tags_and_case(subject, key, is_reply):
    result = subject_key(subject)
    assert (result.key, result.is_reply) == (key, is_reply)


def test_subject_base_keeps_the_original_case():
    assert subject_key("Re: [dev] Budget Q3").base == "Budget Q3"


# ----------------------------------------------------------------------------- placement


def lookup(table: dict):
    return lambda ids: {i: table[i] for i in ids if i in table}


def test_a_message_with_no_known_ids_starts_a_thread():
    placement = place_message("a@x", [], "회의", lookup({}))
    assert placement == Placement(None, frozenset(), ("a@x",))


def test_a_reply_joins_its_parents_thread_and_records_its_ids():
    placement = place_message("b@x", ["a@x"], "Re: 회의", lookup({"a@x": 7}))
    assert (placement.thread, placement.merge, placement.ids) == (7, frozenset(), ("b@x", "a@x"))


def test_a_parent_arriving_after_its_reply_joins_the_replys_thread():
    # The reply recorded the parent's id when it started thread 3.
    placement = place_message("a@x", [], "회의", lookup({"a@x": 3, "b@x": 3}))
    assert placement.thread == 3


def test_ids_in_several_threads_merge_them_into_the_oldest():
    placement = place_message("b@x", ["a@x"], "Re: 회의", lookup({"a@x": 9, "b@x": 4}))
    assert (placement.thread, placement.merge) == (4, frozenset({9}))


def test_subject_fallback_only_for_a_prefixed_reply_without_ids():
    asked = []

    def by_subject(key):
        asked.append(key)
        return 5

    assert place_message("r@x", [], "RE: 회의", lookup({}), by_subject).thread == 5
    assert place_message("n@x", [], "회의", lookup({}), by_subject).thread is None
    assert place_message("c@x", ["p@x"], "Re: 회의", lookup({}), by_subject).thread is None
    assert asked == ["회의"]


def test_ids_win_over_the_subject():
    placement = place_message("r@x", ["a@x"], "Re: other", lookup({"a@x": 1}), lambda k: 2)
    assert placement.thread == 1 and not placement.by_subject


# ----------------------------------------------------------------------------- replay

CORPUS = [
    msg("a", subject="회의 자료", minutes=0),  # received
    msg("b", ["a"], "Re: 회의 자료", 10),  # sent reply
    msg("c", ["a", "b"], "RE: 회의 자료", 20),  # received reply
    msg("d", subject="Lunch?", minutes=5),  # another conversation
    msg("e", ["d"], "Re: Lunch?", 6),
    msg("f", subject="Re: 회의 자료", minutes=30, message_id=""),  # no ids at all
    msg("g", subject="회의 자료", minutes=60 * 24 * 90),  # same subject, months later
]


def test_replay_groups_a_mixed_corpus_into_conversations():
    assert groups(assign_threads(CORPUS)) == {
        frozenset("abcf"),
        frozenset("de"),
        frozenset("g"),
    }


def test_a_reply_arriving_before_its_parent_ends_in_one_thread():
    # c's In-Reply-To names only b; b names a. Arrival: c, a, then b links them.
    late = [msg("c", ["b"], minutes=0), msg("a", minutes=1), msg("b", ["a"], minutes=2)]
    assert groups(assign_threads(late)) == {frozenset("abc")}


def test_a_subject_reply_outside_the_window_starts_its_own_thread():
    messages = [msg("a", minutes=0), msg("r", subject="Re: 회의", minutes=60 * 24 * 31)]
    assert groups(assign_threads(messages)) == {frozenset("a"), frozenset("r")}


def test_messages_sharing_a_message_id_share_a_thread():
    sent = msg("s", minutes=0, message_id="same@x")
    list_copy = msg("l", minutes=1, message_id="same@x")
    assert groups(assign_threads([sent, list_copy])) == {frozenset("sl")}


@st.composite
def forests(draw):
    """Messages whose parents come earlier; some name only their parent (In-Reply-To)."""
    count = draw(st.integers(1, 12))
    parents: list[int | None] = []
    for index in range(count):
        parents.append(draw(st.none() | st.integers(0, index - 1)) if index else None)
    messages = []
    for index, parent in enumerate(parents):
        chain = []
        while parent is not None:
            chain.insert(0, parent)
            parent = parents[parent]
        if chain and draw(st.booleans()):
            chain = chain[-1:]
        messages.append(msg(str(index), [str(c) for c in chain], subject=f"s{index}"))
    order = draw(st.permutations(range(count)))
    arrived = [
        ThreadMessage(m.key, m.message_id, m.ancestors, m.subject, T0 + timedelta(minutes=n))
        for n, m in enumerate(messages[i] for i in order)
    ]
    roots = {}
    for index, parent in enumerate(parents):
        roots[str(index)] = roots[str(parent)] if parent is not None else str(index)
    expected: dict = {}
    for key, root in roots.items():
        expected.setdefault(root, set()).add(key)
    return arrived, {frozenset(keys) for keys in expected.values()}


@settings(max_examples=100, deadline=None)
@given(forests())
def test_any_arrival_order_gives_the_same_conversations(case):
    arrived, expected = case
    assert groups(assign_threads(arrived)) == expected
    assert {frozenset(root.keys()) for root in jwz_thread(arrived)} == expected


# ----------------------------------------------------------------------------- JWZ


def test_jwz_nests_replies_under_their_parents_in_date_order():
    roots = jwz_thread(CORPUS)
    assert tree(roots) == [
        (0, "a@x"),
        (1, "b@x"),
        (2, "c@x"),
        (1, None),  # f: a subject-only reply, under the original
        (0, "d@x"),
        (1, "e@x"),
        (0, "g@x"),
    ]


def test_jwz_keeps_a_placeholder_for_a_missing_parent_of_two_replies():
    roots = jwz_thread([msg("b", ["a"], minutes=1), msg("c", ["a"], minutes=2)])
    assert tree(roots) == [(0, "a@x"), (1, "b@x"), (1, "c@x")]
    assert roots[0].messages == []


def test_jwz_drops_a_missing_parent_of_a_single_reply():
    assert tree(jwz_thread([msg("b", ["z", "a"])])) == [(0, "b@x")]


def test_jwz_survives_reference_loops():
    roots = jwz_thread([msg("a", ["b"], minutes=0), msg("b", ["a"], minutes=1)])
    assert sorted(roots[0].keys()) == ["a", "b"]


def test_jwz_gives_messages_with_one_id_one_node():
    roots = jwz_thread([msg("s", message_id="same@x"), msg("l", minutes=1, message_id="same@x")])
    assert len(roots) == 1 and roots[0].keys() == ["s", "l"]
