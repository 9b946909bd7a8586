"""Template filters for mail pages: dates and sizes in the active language (see
accounts.formatting)."""

from functools import partial

from django import template
from django.utils import timezone

from accounts import formatting
from mailbox import row_html, snooze
from mailbox.templatetags.ui import icon_svg, sprite_url

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


@register.filter
def wake_time(value):
    """When a snoozed message comes back, in the user's zone: "Tomorrow, 8:00 AM"."""
    return snooze.wake_time(value) if value else ""


@register.simple_tag
def snooze_choices():
    """The Snooze menu's presets now, in the user's zone, and the earliest time it can
    pick (for the datetime-local input's `min`)."""
    now = timezone.now()
    zone = timezone.get_current_timezone()
    return {
        "presets": snooze.presets(now, zone),
        "min": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
    }


@register.simple_tag(takes_context=True)
def message_row(context, m, oob=False):
    """One row of a message list (mailbox.row_html): the open message, if any, is
    marked current."""
    labels = context.get("row_labels") or row_html.RowLabels.translated()
    current = context.get("message")
    return row_html.message_row(
        m,
        labels,
        partial(icon_svg, sprite=sprite_url(context)),
        current_pk=getattr(current, "pk", None),
        current_thread=getattr(current, "thread_id", None),
        oob=oob,
    )
