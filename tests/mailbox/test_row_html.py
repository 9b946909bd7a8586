"""A message list row (mailbox.row_html): what one RowKit draws for every row of a list
is what a row drawn on its own shows, dates as accounts.formatting writes them, and every
value the sender chose escaped."""

from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from accounts import formatting
from mailbox import row_html
from mailbox.models import Folder, Message
from mailbox.templatetags.ui import icon_svg

SEOUL = ZoneInfo("Asia/Seoul")
ICON = partial(icon_svg, sprite="/static/icons/sprite.svg")


def row_message(**fields) -> Message:
    values = {
        "pk": 7,
        "subject": "Hello",
        "from_name": "Minsoo Kim",
        "from_address": "minsoo@example.test",
        "date": datetime(2026, 3, 8, 6, 20, tzinfo=UTC),
        "snippet": "",
        "folder": Folder.INBOX,
        "seen": True,
        "flagged": False,
        "has_attachments": False,
        "parse_error": False,
        "thread_id": None,
    }
    values.update(fields)
    return Message(**values)


@pytest.fixture
def seoul_evening(monkeypatch):
    """Now is Sunday 8 March 2026, 18:00 in Seoul, and the user's zone is Seoul's."""
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 8, 9, 0, tzinfo=UTC))
    with timezone.override(SEOUL):
        yield


@pytest.mark.usefixtures("seoul_evening")
@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 8, 15, 20, tzinfo=SEOUL),  # today: the time
        datetime(2026, 3, 7, 23, 30, tzinfo=UTC),  # today in Seoul, yesterday in UTC
        datetime(2026, 1, 15, 12, 0, tzinfo=SEOUL),  # this year: month and day
        datetime(2024, 3, 8, 12, 0, tzinfo=SEOUL),  # an earlier year: the short date
    ],
)
def test_row_shows_the_list_date_accounts_formatting_writes(language, moment):
    with translation.override(language):
        kit = row_html.RowKit(row_html.RowLabels.translated(), ICON)
        html = kit.row(row_message(date=moment))
        local = timezone.localtime(moment)
        assert f'<time datetime="{local.isoformat()}">{formatting.list_date(moment)}</time>' in (
            html
        )


@pytest.mark.parametrize("language", ["ko", "en"])
def test_rows_of_one_kit_are_the_rows_drawn_alone(language):
    messages = [
        row_message(pk=1, seen=False, flagged=True, has_attachments=True),
        row_message(pk=2, folder=Folder.TRASH, subject="", parse_error=True),
        row_message(pk=3, folder=Folder.ARCHIVE, thread_id=9),
    ]
    messages[2].thread_size = 3
    messages[1].place_label = "Work & Play"
    with translation.override(language):
        labels = row_html.RowLabels.translated()
        kit = row_html.RowKit(labels, ICON)
        for m in messages:
            assert kit.row(m, current_pk=3) == row_html.message_row(m, labels, ICON, current_pk=3)


def test_every_value_of_the_sender_is_escaped():
    hostile = '<script>alert("x")</script>'
    m = row_message(
        subject=hostile, from_name=f"김지현 {hostile}", snippet=f"Tom & Jerry's {hostile}"
    )
    m.place_label = hostile
    with translation.override("en"):
        html = row_html.RowKit(row_html.RowLabels.translated(), ICON).row(m)
    assert "<script>" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    assert f'<span class="row-subject"><bdi>{escaped}</bdi></span>' in html
    assert f"<bdi>김지현 {escaped}</bdi>" in html
    assert f"<bdi>Tom &amp; Jerry&#x27;s {escaped}</bdi>" in html
    assert f'<span class="badge row-folder">{escaped}</span>' in html
    assert f'aria-label="Select “{escaped}”"' in html
