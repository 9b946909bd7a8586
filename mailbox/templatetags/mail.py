"""Template filters for mail pages: dates and sizes in the active language (see
accounts.formatting)."""

from django import template

from accounts import formatting

register = template.Library()


@register.filter
def list_date(value):
    """Time for today's mail, the date otherwise, in the active (user's) time zone:
    "3:20 PM", "Mar 8", "3/8/2024"; "오후 3:20", "3월 8일", "2024. 3. 8."."""
    return formatting.list_date(value)


@register.filter
def full_date(value):
    """Weekday, date and time in the user's zone: "2026년 3월 8일 (일) 오후 3:20"."""
    return formatting.full_date(value)


@register.filter
def size(value):
    """A size in bytes: "1.2 MB", "1.2MB" in Korean (filesizeformat's replacement)."""
    return formatting.file_size(value)
