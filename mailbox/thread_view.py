"""The reading pane's cards: one message's (:func:`card_context`), and in conversation
view the opened message's whole conversation (:func:`thread_items`).

Each message gets what the reading pane's card needs (mailbox/_message_card.html): its
attachments, its text or sanitized-HTML facts, its delivery record; the single-message
page (views._message_context) and every card of a conversation build it with the one
function :func:`card_context`. A conversation costs a constant number of queries
whatever its length or its folders: which messages, those with accounts, own folders
and delivery records, the attachments and trusted senders of its two open cards. The
others are collapsed and fetched one by one when expanded (:func:`collapsed_card`).
"""

from __future__ import annotations

from django.db.models import Prefetch, prefetch_related_objects
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from mailcore import sanitize

from . import invitations, row_urls, threading
from .models import Attachment, Folder, Message, TrustedSender

# What the card of a message needs beside it (card_context's keys).
CARD_KEYS = (
    "message",
    "attachments",
    "text_html",
    "show_remote",
    "remote_blocked",
    "body_on_dark",
    "delivery",
    "invitations",
)


def thread_labels() -> dict[str, str]:
    """The labels of each card's actions, translated once per page, not once per card."""
    return {
        "open": gettext("Open"),
        "reply": gettext("Reply"),
        "reply_all": gettext("Reply all"),
        "forward": gettext("Forward"),
        "trash": gettext("Move to Trash"),
    }


class Thread(list):
    """The reading pane's entries of a conversation; `truncated`: older ones left out."""

    def __init__(self, items: list[dict], truncated: bool) -> None:
        super().__init__(items)
        self.truncated = truncated
        self.limit = threading.MAX_SHOWN
        self.labels = thread_labels()


def _folder_label(message: Message) -> str:
    if message.folder == Folder.USER:
        return message.user_folder.name if message.user_folder else Folder.USER.label
    return Folder(message.folder).label


def card_context(message: Message, *, attachments, show_remote: bool) -> dict:
    """What the reading pane's card (mailbox/_message_card.html) needs of `message`
    (the keys of CARD_KEYS): `attachments` its listed (not inline) attachments, and
    whether its remote images are shown (the caller knows who is trusted and what was
    asked for)."""
    remote_blocked = body_on_dark = False
    if message.html_body:
        clean = sanitize.sanitize_email_html(message.html_body, allow_remote=show_remote)
        remote_blocked = clean.remote_blocked and not show_remote
        body_on_dark = not clean.sets_colours
    return {
        "message": message,
        "attachments": attachments,
        # Calendar attachments read as event cards (mailbox.invitations).
        "invitations": invitations.events_of(a for a in attachments if invitations.is_calendar(a)),
        # render_plain_text escapes everything it does not generate itself.
        "text_html": mark_safe(sanitize.render_plain_text(message.text_body))  # noqa: S308
        if message.text_body and not message.html_body
        else "",
        "show_remote": show_remote,
        "remote_blocked": remote_blocked,
        "body_on_dark": body_on_dark,
        "delivery": getattr(message, "outgoing", None),
    }


def _member_card(message: Message, trusted: set[str]) -> dict:
    """The card of a message of the conversation other than the opened one."""
    # As on the single-message page: Junk often forges a trusted sender, so its images
    # load only when asked for (on that message's own page).
    show_remote = (
        message.folder != Folder.JUNK
        and bool(message.from_address)
        and message.from_address.lower() in trusted
    )
    return card_context(message, attachments=message.listed_attachments, show_remote=show_remote)


def _listed_attachments(messages: list[Message]) -> None:
    prefetch_related_objects(
        messages,
        Prefetch(
            "attachments",
            queryset=Attachment.objects.filter(inline=False),
            to_attr="listed_attachments",
        ),
    )


def _trusted_senders(user, messages: list[Message]) -> set[str]:
    senders = {m.from_address.lower() for m in messages if m.from_address and m.html_body}
    if not senders:
        return set()
    return set(
        TrustedSender.objects.filter(owner=user, address__in=senders).values_list(
            "address", flat=True
        )
    )


def collapsed_card(user, message: Message) -> dict:
    """The card of a collapsed message of a conversation, fetched when it is expanded
    (mailbox/_thread_card.html): the same card the conversation would have drawn."""
    _listed_attachments([message])
    item = _member_card(message, _trusted_senders(user, [message]))
    item["current"] = False
    return item


def thread_items(user, message: Message, opened: dict) -> Thread | None:
    """The conversation of `message` as the reading pane lists it, oldest first, or None
    when the user reads message by message or the conversation is this message alone.
    `opened` is the opened message's own card context (it keeps its choices, such as
    images shown on request)."""
    if not user.conversation_view or message.thread_id is None:
        return None
    members, more = threading.conversation(message)
    if len(members) < 2:
        return None
    # The list row the page redraws for this message keeps its count.
    if more:
        threading.conversation_sizes(user, [message], message.folder)
    else:
        message.thread_size = len(members)
    # Only the opened and the newest message come with their bodies; the others are
    # collapsed, and their cards are fetched when expanded (a link without JavaScript):
    # a 50-message conversation costs what a two-message one does.
    with_body = [m for m in members if m.pk in {message.pk, members[-1].pk}]
    _listed_attachments(with_body)
    trusted = _trusted_senders(user, with_body)
    items = []
    for member in members:
        if member.pk == message.pk:
            item = {key: opened[key] for key in CARD_KEYS}
            item["message"] = message
        elif member.pk == members[-1].pk:
            item = _member_card(member, trusted)
        else:
            item = {
                "message": member,
                "collapsed": True,
                "card_url": row_urls.message_url("thread_card", member.pk),
            }
        item["current"] = member.pk == message.pk
        item["open"] = not item.get("collapsed")
        item["folder_label"] = _folder_label(member)
        items.append(item)
    return Thread(items, more)
