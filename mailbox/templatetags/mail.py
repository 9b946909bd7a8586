from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def list_date(value):
    """Time for today's mail, the date otherwise, in the active (user's) time zone."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return date_format(local, "H:i")
    if local.year == timezone.localdate().year:
        return date_format(local, "M j")
    return date_format(local, "Y-m-d")
