"""One row of a message list, as HTML, built in Python.

A list page draws 50 rows of about 55 template nodes each; in Django's template
engine that was two thirds of the inbox's server time. Like the admin's change list
(`items_for_result` in `django/contrib/admin/templatetags/admin_list.py`), the row
is built in Python instead, and the templates include it with `{% message_row m %}`
(mailbox/templatetags/mail.py), so this stays the one source of a row's HTML.

Every value is escaped as `format_html` escapes it (:func:`_text`: conditional_escape,
with html.escape for plain strings, which is what Django's escape does), but the row
is put together with f-strings rather than a `format_html` per piece, and what every
row draws alike (labels, icons, the action buttons around their URL, the date formats)
is worked out once per list (:class:`RowKit`): a row costs about a third of what it
did, which is what a search results page at 100,000 messages (50 rows, where a small
mailbox's search shows a few) spends beyond the small one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from django.utils import dateformat, timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext, pgettext

from . import row_urls
from .models import Folder
from .snooze import wake_time


@dataclass(frozen=True)
class RowLabels:
    """The row's fixed words, translated once per response rather than per row."""

    archive: str
    trash: str
    restore: str
    mark_read: str
    mark_unread: str
    flag: str
    unflag: str
    flagged: str
    attachments: str
    unreadable: str
    unread: str
    no_subject: str
    snoozed_until: str

    @classmethod
    def translated(cls) -> RowLabels:
        """The labels in the active language, HTML-escaped once."""
        return cls(
            archive=gettext("Archive"),
            trash=gettext("Move to Trash"),
            restore=gettext("Restore"),
            mark_read=gettext("Mark as read"),
            mark_unread=gettext("Mark as unread"),
            flag=gettext("Flag"),
            unflag=gettext("Unflag"),
            flagged=gettext("Flagged"),
            attachments=gettext("Has attachments"),
            unreadable=gettext("This message could not be fully read"),
            unread=gettext("unread"),
            no_subject=gettext("(no subject)"),
            snoozed_until=gettext("Snoozed until"),
        )._escaped()

    def _escaped(self) -> RowLabels:
        return type(self)(**{name: escape(text) for name, text in vars(self).items()})


_OOB = ' hx-swap-oob="true"'
_CURRENT = ' aria-current="true"'
# Every icon a row can draw, with the extra class it is drawn with.
_ICONS = (
    ("archive", ""),
    ("trash-2", ""),
    ("rotate-ccw", ""),
    ("mail", ""),
    ("mail-open", ""),
    ("flag", ""),
    ("flag", "icon-sm"),
    ("paperclip", "icon-sm"),
    ("triangle-alert", "icon-sm"),
)


def _text(value) -> str:
    """`value` escaped as format_html escapes it (conditional_escape), with a fast path
    for the plain strings most of a row is made of."""
    if type(value) is str:
        return html.escape(value)  # what django.utils.html.escape does, without the wrapper
    return conditional_escape(value)


def _mark(css_class: str, label: str, icon: str) -> str:
    # `label` is escaped (RowLabels), `icon` is our SVG, `css_class` our literal.
    attribute = f' class="{css_class}"' if css_class else ""
    return (
        f'<span{attribute} title="{label}">{icon}<span class="visually-hidden">{label}</span>'
        "</span>"
    )


def _button_parts(action: str, label: str, icon: str, tooltip: str = "", pressed: str = ""):
    """A row's action button around its URL (which goes in twice): (before, between,
    after). Every piece is escaped already (the labels once per response; `action` and
    `pressed` are our literals)."""
    pressed = f' aria-pressed="{pressed}"' if pressed else ""
    return (
        f'<button type="submit" form="bulk" class="btn btn-icon" name="action" value="{action}"'
        ' formaction="',
        '" hx-post="',
        f'" aria-label="{label}"{pressed} data-tooltip="{tooltip or label}">{icon}</button>',
    )


# An id no row has, whose digits mark where a row's id goes in its URLs.
_PLACEHOLDER = 2_147_483_647


def _url_around_id(name: str) -> tuple[str, str]:
    """The escaped text before and after the message id in the URL `name` takes
    (mailbox.row_urls): a row's URL is then two joins, not a lookup of the script
    prefix per row."""
    before, _, after = row_urls.message_url(name, _PLACEHOLDER).partition(str(_PLACEHOLDER))
    return escape(before), escape(after)


class RowKit:
    """What every row of one list draws alike, worked out once per list rather than
    once per row: the labels, icons, action buttons, URLs and date formats."""

    def __init__(self, labels: RowLabels, icon) -> None:
        self.labels = labels
        self.read_url = _url_around_id("read_message")
        self.action_url = _url_around_id("message_action")
        icons = {(name, extra): str(icon(name, extra)) for name, extra in _ICONS}
        self.flagged = _mark("flagged", labels.flagged, icons["flag", "icon-sm"])
        self.attachments = _mark("", labels.attachments, icons["paperclip", "icon-sm"])
        self.unreadable = _mark("warning", labels.unreadable, icons["triangle-alert", "icon-sm"])
        self.restore = _button_parts("restore", labels.restore, icons["rotate-ccw", ""])
        self.archive = _button_parts("archive", labels.archive, icons["archive", ""])
        self.trash = _button_parts("trash", labels.trash, icons["trash-2", ""])
        self.mark_unread = _button_parts("mark_unread", labels.mark_unread, icons["mail", ""])
        self.mark_read = _button_parts("mark_read", labels.mark_read, icons["mail-open", ""])
        flag = icons["flag", ""]
        self.unflag = _button_parts("unflag", labels.flag, flag, labels.unflag, "true")
        self.flag = _button_parts("flag", labels.flag, flag, labels.flag, "false")
        # "Select “subject”", escaped before the (escaped) subject goes in: escaping
        # works character by character, so this is the escaped whole.
        self.select = escape(gettext("Select “%(subject)s”"))
        self.unread = f'<span class="visually-hidden">, {labels.unread}</span>'
        # accounts.formatting.list_date's formats and "today", looked up once.
        self.today = timezone.localdate()
        self.time_format = pgettext("time of day (Django date format)", "g:i A")
        self.this_year_format = pgettext(
            "message list, a date this year (Django date format)", "M j"
        )
        self.earlier_format = pgettext(
            "message list, a date in an earlier year (Django date format)", "n/j/Y"
        )

    def list_date(self, local) -> str:
        """accounts.formatting.list_date of a date already in the user's zone."""
        day = local.date()
        if day == self.today:
            return dateformat.format(local, self.time_format)
        if local.year == self.today.year:
            return dateformat.format(local, self.this_year_format)
        return dateformat.format(local, self.earlier_format)

    def row(self, m, *, current_pk=None, current_thread=None, oob: bool = False) -> SafeString:
        """The `<li>` of message `m`: see :func:`message_row`."""
        labels = self.labels
        in_conversation = m.thread_size > 1
        current = (current_pk is not None and m.pk == current_pk) or (
            in_conversation and current_thread is not None and m.thread_id == current_thread
        )
        pk = _text(m.pk)
        if m.subject:
            subject = _text(m.subject)
        else:
            subject = labels.no_subject  # escaped
        read_url = f"{self.read_url[0]}{pk}{self.read_url[1]}"  # m.read_url, escaped
        action_url = f"{self.action_url[0]}{pk}{self.action_url[1]}"  # m.action_url, escaped

        sender = f"<bdi>{_text(m.contact_name or m.sender)}</bdi>"
        if in_conversation:
            count = ngettext(
                "%(count)s message in this conversation",
                "%(count)s messages in this conversation",
                m.thread_size,
            ) % {"count": m.thread_size}
            sender = (
                f'{sender} <span class="badge thread-count"><span aria-hidden="true">'
                f'{_text(m.thread_size)}</span><span class="visually-hidden">, {_text(count)}'
                "</span></span>"
            )
        if not m.seen:
            sender += self.unread

        if m.folder == Folder.SNOOZED and m.snoozed_until:
            when = (
                f'<time class="snoozed-until" datetime="'
                f'{_text(timezone.localtime(m.snoozed_until).isoformat())}">'
                f'<span class="visually-hidden">{labels.snoozed_until} </span>'
                f"{_text(wake_time(m.snoozed_until))}</time>"
            )
        else:
            local = timezone.localtime(m.date)
            shown = "" if m.date is None else self.list_date(local)
            when = f'<time datetime="{_text(local.isoformat())}">{_text(shown)}</time>'

        marks = ""
        if m.place_label:
            marks += f'<span class="badge row-folder">{_text(m.place_label)}</span>'
        if m.flagged:
            marks += self.flagged
        if m.has_attachments:
            marks += self.attachments
        if m.parse_error:
            marks += self.unreadable

        if m.folder == Folder.TRASH:
            buttons = [self.restore]
        elif m.folder == Folder.ARCHIVE:
            buttons = [self.trash]
        else:
            buttons = [self.archive, self.trash]
        buttons.append(self.mark_unread if m.seen else self.mark_read)
        buttons.append(self.unflag if m.flagged else self.flag)
        actions = "".join(
            f"{before}{action_url}{between}{action_url}{after}"
            for before, between, after in buttons
        )

        thread = f' data-thread="{_text(m.thread_id)}"' if in_conversation else ""
        select = self.select % {"subject": subject}
        return SafeString(
            f'<li class="list-row{"" if m.seen else " unread"}{" current" if current else ""}"'
            f' id="row-{pk}" data-id="{pk}"{thread}{_OOB if oob else ""}>\n'
            f'  <input type="checkbox" name="ids" value="{pk}" form="bulk" aria-label="{select}">\n'
            f'  <a class="row-link row-main" href="{read_url}" hx-get="{read_url}"'
            ' hx-target="#reading-pane" hx-push-url="true"'
            f' hx-swap="innerHTML show:#reading-pane:top"{_CURRENT if current else ""}>\n'
            f'    <span class="row-from">{sender}</span>\n'
            f'    <span class="row-subject"><bdi>{subject}</bdi></span>\n'
            f'    <span class="row-snippet"><bdi>{_text(m.snippet)}</bdi></span>\n'
            "  </a>\n"
            f'  <span class="row-meta">\n    {when}\n'
            f'    <span class="row-marks">{marks}</span>\n  </span>\n'
            f'  <span class="row-actions">{actions}</span>\n'
            "</li>\n"
        )


def message_row(
    m, labels: RowLabels, icon, *, current_pk=None, current_thread=None, oob: bool = False
) -> SafeString:
    """The `<li>` of message `m` in a list. `icon(name, extra_class)` draws an icon
    from the sprite (mailbox.templatetags.ui); `current_pk` is the open message, and
    `current_thread` its conversation, whose row is current in conversation view even
    when an older message of it is open. A list draws its rows with one RowKit
    (mailbox.templatetags.mail does); this makes one for a single row."""
    return RowKit(labels, icon).row(
        m, current_pk=current_pk, current_thread=current_thread, oob=oob
    )
