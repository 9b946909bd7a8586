"""mbox export and import: mboxrd written, any common mbox read back byte for byte."""

import io
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mailcore.mbox import (
    MboxJunk,
    MboxMessage,
    from_line,
    parse_from_line,
    read_mbox,
    write_mbox,
)

WHEN = datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)


def export(*raws: bytes) -> bytes:
    return b"".join(write_mbox((raw, "alice@example.com", WHEN) for raw in raws))


def read(data: bytes, block_size: int = 1 << 20) -> list:
    return list(read_mbox(io.BytesIO(data), block_size=block_size))


def raws(data: bytes, block_size: int = 1 << 20) -> list[bytes]:
    items = read(data, block_size)
    assert all(isinstance(item, MboxMessage) for item in items)
    return [item.raw for item in items]


# ----------------------------------------------------------------------------- writer


def test_each_message_starts_with_a_from_line_in_utc_asctime():
    moment = datetime(2024, 3, 5, 16, 8, 9, tzinfo=timezone(timedelta(hours=9)))
    data = b"".join(write_mbox([(b"Subject: a\r\n\r\nbody\r\n", "bob@example.com", moment)]))
    assert data.startswith(b"From bob@example.com Tue Mar  5 07:08:09 2024\n")


def test_crlf_message_is_written_as_stored_followed_by_a_blank_line():
    data = export(b"Subject: a\r\n\r\nbody\r\n")
    assert data == b"From alice@example.com Tue Mar  5 07:08:09 2024\nSubject: a\r\n\r\nbody\r\n\n"


def test_from_lines_inside_a_message_are_quoted_mboxrd_style():
    data = export(b"S: a\n\nFrom here\n>From there\n>>From afar\nFromage\n")
    assert b"\n>From here\n>>From there\n>>>From afar\nFromage\n" in data


def test_a_message_starting_with_from_is_quoted_too():
    data = export(b"From x\nS: a\n")
    assert data.split(b"\n")[1] == b">From x"


def test_empty_or_odd_sender_becomes_a_single_token():
    assert from_line("", None) == b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970"
    assert from_line("a b\r\n@x", WHEN).split(b" ")[1] == b"ab@x"


def test_writer_is_lazy_one_message_at_a_time():
    def messages():
        yield b"one\n", "a@x", WHEN
        raise AssertionError("read too far")

    assert next(write_mbox(messages())).endswith(b"one\n\n")


# ----------------------------------------------------------------------------- reader


def test_round_trip_keeps_crlf_and_quoted_lines():
    originals = [
        b"Subject: one\r\n\r\nFrom me\r\n>From you\r\n",
        b"Subject: two\n\nplain LF\n\n\n",
        b"no final newline",
        b"",
        b"\n",
        b"ends with CR\r",
    ]
    assert raws(export(*originals)) == originals


def test_reader_reports_the_from_line_and_its_offset():
    data = export(b"a\n", b"b\n")
    first, second = read(data)
    assert first.from_line == b"From alice@example.com Tue Mar  5 07:08:09 2024"
    assert (first.offset, second.offset) == (0, data.index(b"From ", 1))


def test_empty_file_yields_nothing():
    assert read(b"") == []


def test_text_before_the_first_from_line_is_reported_not_dropped():
    items = read(b"Subject: a lone eml\r\n\r\nhi\r\nFrom x Tue Mar  5 07:08:09 2024\nb\n\n")
    assert isinstance(items[0], MboxJunk)
    assert items[0].raw == b"Subject: a lone eml\r\n\r\nhi\r\n"
    assert [item.raw for item in items[1:]] == [b"b\n"]


def test_a_file_that_is_not_an_mbox_comes_back_whole():
    (item,) = read(b"Subject: x\n\nbody")
    assert isinstance(item, MboxJunk) and item.raw == b"Subject: x\n\nbody"


def test_leading_blank_lines_are_ignored():
    assert raws(b"\r\n\nFrom x Tue Mar  5 07:08:09 2024\na\n\n") == [b"a\n"]


def test_a_from_line_cut_off_at_the_end_is_reported():
    items = read(export(b"a\n") + b"From trunc")
    assert isinstance(items[-1], MboxJunk) and items[-1].raw == b"From trunc"


def test_mboxo_file_from_thunderbird_reads_with_final_newlines_kept():
    data = (
        b"From - Mon Jan 01 00:00:00 2024\nX-Mozilla-Status: 0001\nSubject: a\n\n"
        b">From the start\n\nFrom - Mon Jan 01 00:00:01 2024\nSubject: b\n\nb\n\n"
    )
    assert raws(data) == [
        b"X-Mozilla-Status: 0001\nSubject: a\n\nFrom the start\n",
        b"Subject: b\n\nb\n",
    ]


def test_crlf_mbox_from_windows_strips_the_crlf_separator():
    data = (
        b"From a Mon Jan 01 00:00:00 2024\r\nS: a\r\n\r\nx\r\n\r\n"
        b"From b Mon Jan 01 00:00:00 2024\r\nS: b\r\n\r\n"
    )
    assert raws(data) == [b"S: a\r\n\r\nx\r\n", b"S: b\r\n"]


def test_content_length_of_mboxcl_is_ignored():
    data = b"From a Mon Jan 01 00:00:00 2024\nContent-Length: 1\n\nlong body\n\n"
    assert raws(data) == [b"Content-Length: 1\n\nlong body\n"]


def test_separators_that_straddle_read_blocks_are_found():
    originals = [b"S: %d\n\nFrom quoted\nbody\n" % n for n in range(30)]
    data = export(*originals)
    for block_size in (16, 17, 23, 64):
        assert raws(data, block_size) == originals


LINES = [b"From ", b">From ", b">>From x", b"From", b"", b"\r", b">", b"Subject: \xea\xb0\x80"]


@st.composite
def messages(draw):
    """Lines that need quoting or look like it, and random bytes; LF or CRLF; with or
    without a final line break."""
    lines = draw(st.lists(st.sampled_from(LINES) | st.binary(max_size=12), max_size=8))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    return newline.join(lines) + (newline if draw(st.booleans()) else b"")


@settings(max_examples=120, deadline=None)
@given(st.lists(messages(), max_size=5), st.sampled_from([16, 37, 1 << 20]))
def test_any_messages_round_trip_byte_for_byte(originals, block_size):
    assert raws(export(*originals), block_size) == originals


def test_reading_holds_one_message_not_the_file():
    message = b"Subject: x\r\n\r\n" + b"y" * 100_000 + b"\r\n"
    data = export(*[message] * 100)  # 10 MB
    tracemalloc.start()
    try:
        for _ in read_mbox(io.BytesIO(data), block_size=65536):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


# --------------------------------------------------------------------------- From_ line


def test_from_line_dates_of_common_writers_are_read():
    assert parse_from_line(b"From alice@example.com Tue Mar  5 07:08:09 2024") == (
        "alice@example.com",
        WHEN,
    )
    assert parse_from_line(b"From - Tue Mar 05 07:08:09 2024")[1] == WHEN
    assert parse_from_line(b"From 1790@xxx Tue Mar 05 16:08:09 +0900 2024")[1] == WHEN


def test_from_line_without_a_date_gives_none():
    assert parse_from_line(b"From someone") == ("someone", None)
    assert parse_from_line(b"From x Tue Foo 05 07:08:09 2024")[1] is None
