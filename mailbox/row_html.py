"""One row of a message list, as HTML, written with `format_html`.

A list page draws 50 rows of about 55 template nodes each; in Django's template
engine that was two thirds of the inbox's server time. Like the admin's change list
(`items_for_result` in `django/contrib/admin/templatetags/admin_list.py`), the row
is built in Python instead: every value still goes through `format_html`'s escaping,
and the templates include it with `{% message_row m %}` (mailbox/templatetags/mail.py),
so this stays the one source of a row's HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from accounts.formatting import list_date

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


_OOB = SafeString(' hx-swap-oob="true"')
_CURRENT = SafeString(' aria-current="true"')


def _joined(pieces: list[str]) -> SafeString:
    # Pieces made by format_html or by _button from escaped parts.
    return SafeString("".join(pieces))


def _button(
    url: str, action: str, label: str, icon: str, tooltip: str = "", pressed: str = ""
) -> str:
    # Every piece is escaped already (the URL once per row, the labels once per
    # response; `action` and `pressed` are our literals), so no format_html per button.
    pressed = f' aria-pressed="{pressed}"' if pressed else ""
    return (
        f'<button type="submit" form="bulk" class="btn btn-icon" name="action" value="{action}"'
        f' formaction="{url}" hx-post="{url}" aria-label="{label}"{pressed}'
        f' data-tooltip="{tooltip or label}">{icon}</button>'
    )


def _mark(css_class: str, label: str, icon: SafeString) -> str:
    return format_html(
        '<span{} title="{}">{}<span class="visually-hidden">{}</span></span>',
        format_html(' class="{}"', css_class) if css_class else "",
        label,
        icon,
        label,
    )


def message_row(
    m, labels: RowLabels, icon, *, current_pk=None, current_thread=None, oob: bool = False
) -> SafeString:
    """The `<li>` of message `m` in a list. `icon(name, extra_class)` draws an icon
    from the sprite (mailbox.templatetags.ui); `current_pk` is the open message, and
    `current_thread` its conversation, whose row is current in conversation view even
    when an older message of it is open."""
    in_conversation = m.thread_size > 1
    current = (current_pk is not None and m.pk == current_pk) or (
        in_conversation and current_thread is not None and m.thread_id == current_thread
    )
    subject = m.subject or labels.no_subject  # escaped; format_html leaves it as it is
    read_url, action_url = m.read_url, escape(m.action_url)

    sender = format_html("<bdi>{}</bdi>", m.contact_name or m.sender)
    if m.thread_size > 1:
        count = ngettext(
            "%(count)s message in this conversation",
            "%(count)s messages in this conversation",
            m.thread_size,
        ) % {"count": m.thread_size}
        sender = format_html(
            '{} <span class="badge thread-count"><span aria-hidden="true">{}</span>'
            '<span class="visually-hidden">, {}</span></span>',
            sender,
            m.thread_size,
            count,
        )
    if not m.seen:
        sender = format_html('{}<span class="visually-hidden">, {}</span>', sender, labels.unread)

    if m.folder == Folder.SNOOZED and m.snoozed_until:
        when = format_html(
            '<time class="snoozed-until" datetime="{}"><span class="visually-hidden">{} </span>'
            "{}</time>",
            timezone.localtime(m.snoozed_until).isoformat(),
            labels.snoozed_until,
            wake_time(m.snoozed_until),
        )
    else:
        when = format_html(
            '<time datetime="{}">{}</time>',
            timezone.localtime(m.date).isoformat(),
            list_date(m.date),
        )

    marks = []
    if m.place_label:
        marks.append(format_html('<span class="badge row-folder">{}</span>', m.place_label))
    if m.flagged:
        marks.append(_mark("flagged", labels.flagged, icon("flag", "icon-sm")))
    if m.has_attachments:
        marks.append(_mark("", labels.attachments, icon("paperclip", "icon-sm")))
    if m.parse_error:
        marks.append(_mark("warning", labels.unreadable, icon("triangle-alert", "icon-sm")))

    actions = []
    if m.folder == Folder.TRASH:
        actions.append(_button(action_url, "restore", labels.restore, icon("rotate-ccw")))
    else:
        if m.folder != Folder.ARCHIVE:
            actions.append(_button(action_url, "archive", labels.archive, icon("archive")))
        actions.append(_button(action_url, "trash", labels.trash, icon("trash-2")))
    if m.seen:
        actions.append(_button(action_url, "mark_unread", labels.mark_unread, icon("mail")))
    else:
        actions.append(_button(action_url, "mark_read", labels.mark_read, icon("mail-open")))
    flag_action, flag_tooltip = ("unflag", labels.unflag) if m.flagged else ("flag", labels.flag)
    pressed = "true" if m.flagged else "false"
    actions.append(
        _button(action_url, flag_action, labels.flag, icon("flag"), flag_tooltip, pressed)
    )

    return format_html(
        '<li class="list-row{}{}" id="row-{}" data-id="{}"{}{}>\n'
        '  <input type="checkbox" name="ids" value="{}" form="bulk" aria-label="{}">\n'
        '  <a class="row-link row-main" href="{}" hx-get="{}" hx-target="#reading-pane"'
        ' hx-push-url="true" hx-swap="innerHTML show:#reading-pane:top"{}>\n'
        '    <span class="row-from">{}</span>\n'
        '    <span class="row-subject"><bdi>{}</bdi></span>\n'
        '    <span class="row-snippet"><bdi>{}</bdi></span>\n'
        "  </a>\n"
        '  <span class="row-meta">\n    {}\n    <span class="row-marks">{}</span>\n  </span>\n'
        '  <span class="row-actions">{}</span>\n'
        "</li>\n",
        "" if m.seen else " unread",
        " current" if current else "",
        m.pk,
        m.pk,
        format_html(' data-thread="{}"', m.thread_id) if in_conversation else "",
        _OOB if oob else "",
        m.pk,
        gettext("Select “%(subject)s”") % {"subject": m.subject or gettext("(no subject)")},
        read_url,
        read_url,
        _CURRENT if current else "",
        sender,
        subject,
        m.snippet,
        when,
        _joined(marks),
        _joined(actions),
    )
