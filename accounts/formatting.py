"""Dates, times and sizes as people read them, in the active language and the user's zone.

Every format is a translatable Django date format (pgettext, with a context saying
where it is shown), so a language brings its own style without code: English
"3:20 PM", "Mar 8", "3/8/2024", "1.2 MB"; Korean "오후 3:20", "3월 8일",
"2024. 3. 8.", "1.2MB". Django's own catalog writes A as 오전/오후.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import dateformat, formats, timezone
from django.utils.html import avoid_wrapping
from django.utils.translation import npgettext, pgettext, pgettext_lazy

# date.weekday() order. Django's D is "일요일" in Korean; a full date wants "일".
_WEEKDAYS = (
    pgettext_lazy("short weekday", "Mon"),
    pgettext_lazy("short weekday", "Tue"),
    pgettext_lazy("short weekday", "Wed"),
    pgettext_lazy("short weekday", "Thu"),
    pgettext_lazy("short weekday", "Fri"),
    pgettext_lazy("short weekday", "Sat"),
    pgettext_lazy("short weekday", "Sun"),
)


def _time_of_day(moment: datetime) -> str:
    return dateformat.format(moment, pgettext("time of day (Django date format)", "g:i A"))


def list_date(value: datetime | None) -> str:
    """A message list's date: the time for today's mail, month and day for this
    year's, the full short date before that; in the user's zone."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localdate()
    if local.date() == today:
        return _time_of_day(local)
    if local.year == today.year:
        return dateformat.format(
            local, pgettext("message list, a date this year (Django date format)", "M j")
        )
    return dateformat.format(
        local, pgettext("message list, a date in an earlier year (Django date format)", "n/j/Y")
    )


def full_date(value: datetime | None, *, local: bool = True) -> str:
    """Weekday, date and time: "Sun, Mar 8, 2026, 3:20 PM", "2026년 3월 8일 (일) 오후 3:20".

    In the user's zone, or (``local=False``) in the value's own zone.
    """
    if value is None:
        return ""
    moment = timezone.localtime(value) if local else value
    day = dateformat.format(moment, pgettext("full date, the day (Django date format)", "M j, Y"))
    return pgettext("full date: weekday, date and time", "%(weekday)s, %(date)s, %(time)s") % {
        "weekday": _WEEKDAYS[moment.weekday()],
        "date": day,
        "time": _time_of_day(moment),
    }


_UNITS = (
    (1024**4, pgettext_lazy("file size", "%(size)s TB")),
    (1024**3, pgettext_lazy("file size", "%(size)s GB")),
    (1024**2, pgettext_lazy("file size", "%(size)s MB")),
    (1024, pgettext_lazy("file size", "%(size)s KB")),
)


def file_size(value) -> str:
    """A size in bytes for people: "350 KB", "1.2 MB" in English; "350KB", "1.2MB" in Korean.

    One decimal, dropped when it is 0; never broken across lines.
    """
    try:
        size = max(int(value), 0)
    except (TypeError, ValueError):
        size = 0
    for unit, text in _UNITS:
        if size >= unit:
            # Rounded half up, as the compose page's script does (toFixed).
            amount = (Decimal(size) / unit).quantize(Decimal("0.1"), ROUND_HALF_UP)
            whole = amount == amount.to_integral_value()
            number = formats.number_format(amount, 0 if whole else 1)
            return avoid_wrapping(str(text) % {"size": number})
    return avoid_wrapping(
        npgettext("file size", "%(size)s byte", "%(size)s bytes", size) % {"size": size}
    )
