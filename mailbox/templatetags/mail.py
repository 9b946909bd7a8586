from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def list_date(value):
    """Time for today's mail, the date otherwise, in the active (user's) time zone."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return formats.time_format(local, "H:i")
    if local.year == timezone.localdate().year:
        # The active language's month and day: "March 2", "3월 2일".
        return formats.date_format(local, "MONTH_DAY_FORMAT")
    return formats.date_format(local, "SHORT_DATE_FORMAT")
