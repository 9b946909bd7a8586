"""The search box language: what a typed query means, and the form's query string."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcore.searchquery import (
    QueryError,
    SearchQuery,
    format_query,
    format_size,
    parse_query,
    parse_size,
)


def test_free_text_words_and_quoted_phrases_keep_their_order():
    assert parse_query('회의  "분기 보고서" budget').text == ("회의", "분기 보고서", "budget")


def test_phrases_are_the_multi_word_items():
    assert parse_query('a "b c"').phrases == ("b c",)


def test_minus_excludes_words_and_phrases():
    query = parse_query('report -draft -"old version"')
    assert (query.text, query.exclude) == (("report",), ("draft", "old version"))


def test_a_lone_minus_is_text():
    assert parse_query("a - b").text == ("a", "-", "b")


@pytest.mark.parametrize("name", ["from", "to", "cc", "subject", "filename"])
def test_text_operators_collect_every_value(name):
    query = parse_query(f'{name}:kim {name.upper()}:"홍 길동"')
    field = "from_" if name == "from" else name
    assert getattr(query, field) == ("kim", "홍 길동")
    assert query.text == ()


def test_flags_and_places():
    query = parse_query('has:attachment is:unread is:flagged in:"Work/Reports" account:a@x.kr')
    assert query == SearchQuery(
        has_attachment=True, unread=True, flagged=True, folder="Work/Reports", account="a@x.kr"
    )


def test_is_read_is_the_opposite_of_unread_and_starred_means_flagged():
    assert parse_query("is:read").unread is False
    assert parse_query("IS:Starred").flagged is True


def test_dates_are_read_as_dates_in_either_separator():
    query = parse_query("after:2024-01-05 before:2024/2/1")
    assert (query.after, query.before) == (date(2024, 1, 5), date(2024, 2, 1))


@pytest.mark.parametrize("value", ["2024-13-01", "2024-02-30", "yesterday", "24-01-01"])
def test_an_invalid_date_is_an_error_naming_the_operator(value):
    query = parse_query(f"before:{value} 회의")
    assert query.errors == (QueryError("before", value, "invalid-date"),)
    assert query.before is None and query.text == ("회의",)


@pytest.mark.parametrize(
    ("value", "size"),
    [("10M", 10 * 1024 * 1024), ("10m", 10 * 1024 * 1024), ("300KB", 300 * 1024), ("1G", 1024**3)]
    + [("1.5k", 1536), ("42", 42)],
)
def test_sizes_take_binary_units(value, size):
    assert parse_size(value) == size
    assert parse_query(f"larger:{value}").larger == size


@pytest.mark.parametrize("value", ["big", "-1M", "10T", "9" * 30])
def test_an_invalid_size_is_an_error(value):
    assert parse_query(f"smaller:{value}").errors == (QueryError("smaller", value, "invalid-size"),)


def test_unknown_operator_looking_terms_are_text():
    assert parse_query("foo:bar https://example.com 10:30").text == (
        "foo:bar",
        "https://example.com",
        "10:30",
    )


def test_unknown_values_of_is_and_has_are_errors():
    assert parse_query("is:important has:pdf").errors == (
        QueryError("is", "important", "unknown-value"),
        QueryError("has", "pdf", "unknown-value"),
    )


def test_a_negated_operator_is_an_error_not_a_silent_no_op():
    assert parse_query("-from:kim").errors == (QueryError("from", "kim", "negated"),)


def test_a_space_after_the_colon_still_gives_the_value():
    assert parse_query("from: kim 회의").from_ == ("kim",)


def test_an_operator_without_a_value_is_an_error():
    assert parse_query('subject: from:kim subject:""').errors == (
        QueryError("subject", "", "missing-value"),
        QueryError("subject", "", "missing-value"),
    )


def test_backslash_escapes_inside_quotes_and_unclosed_quotes_run_to_the_end():
    assert parse_query(r'"say \"hi\" C:\temp\\" "open end').text == (
        'say "hi" C:\\temp\\',
        "open end",
    )


def test_quoted_operator_text_is_just_text():
    assert parse_query('"from:kim"') == SearchQuery(text=("from:kim",))


def test_empty_query_is_empty():
    assert parse_query("   ").is_empty
    assert not parse_query("x").is_empty


def test_form_values_become_the_query_a_user_would_type():
    query = SearchQuery(
        text=("예산", "분기 보고서"),
        from_=("kim",),
        subject=("회의 자료",),
        has_attachment=True,
        folder="Work/Reports",
        after=date(2024, 1, 1),
        larger=10 * 1024 * 1024,
    )
    assert format_query(query) == (
        '예산 "분기 보고서" from:kim subject:"회의 자료" has:attachment in:Work/Reports '
        "after:2024-01-01 larger:10M"
    )


def test_sizes_are_written_in_the_largest_exact_unit():
    assert [format_size(n) for n in (0, 1536, 2048, 3 * 1024**3)] == ["0", "1536", "2K", "3G"]


# ---------------------------------------------------------------------- round trip

nonblank = st.text(min_size=1, max_size=8).map(lambda s: s if s.strip() else s + "x")
tricky = st.one_of(
    nonblank,
    st.sampled_from(["-x", '"', '\\"', "from:kim", "IS:read", "a b", "-", "회의 자료", "x:"]),
)
texts = st.lists(tricky, max_size=3).map(tuple)
maybe_date = st.none() | st.dates()
maybe_size = st.none() | st.integers(min_value=0, max_value=2**53)

queries = st.builds(
    SearchQuery,
    text=texts,
    exclude=texts,
    from_=texts,
    to=texts,
    cc=texts,
    subject=texts,
    filename=texts,
    has_attachment=st.booleans(),
    unread=st.none() | st.booleans(),
    flagged=st.booleans(),
    folder=st.none() | tricky,
    account=st.none() | tricky,
    after=maybe_date,
    before=maybe_date,
    larger=maybe_size,
    smaller=maybe_size,
)


@settings(max_examples=120, deadline=None)
@given(queries)
def test_every_query_survives_format_then_parse(query):
    assert parse_query(format_query(query)) == query
