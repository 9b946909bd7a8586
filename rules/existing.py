"""Run one rule on mail already stored: count what it would change, then change it.

Each message's raw bytes are read and turned into facts as on arrival, so the rule
means exactly what it means for new mail. The newest MAX_MESSAGES of the chosen
folder are looked at, and the page says so when a folder holds more. Measured on the
2-core development machine while other test suites ran: 1.2-2.5 ms a message (1,000
messages in 1.2-2.5 s), most of it the standard library's header and address parsing;
rules that test neither the body nor attachments parse the header block only.

Forwards are never sent for old mail (as Gmail's "also apply to matching
conversations" does not forward): only moves, Trash, read and flag apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import transaction

from mailbox.models import Folder, Message, UserFolder
from mailcore.mime import parse_headers
from mailcore.mime.structure import header_end
from mailcore.rules import MessageFacts, Rule, message_facts, rule_matches

from . import destinations

MAX_MESSAGES = 1000
# Conditions that need the parsed body; the others read the header block alone.
BODY_FIELDS = frozenset({"body", "has_attachment"})
RUN_FOLDERS = (Folder.INBOX, Folder.ARCHIVE, Folder.JUNK)


@dataclass
class Scan:
    ids: list[int]
    scanned: int
    limited: bool  # the folder holds more than MAX_MESSAGES; only the newest were scanned


def folder_messages(owner, where: str):
    """The messages of ``where``: a system folder's value or ``"f<id>"`` for an own folder;
    None if ``where`` is not one of this user's folders."""
    if where in RUN_FOLDERS:
        return Message.objects.filter(owner=owner, folder=where)
    if where.startswith("f") and where[1:].isdigit():
        folder = UserFolder.objects.filter(owner=owner, pk=int(where[1:])).first()
        if folder is not None:
            return Message.objects.filter(owner=owner, folder=Folder.USER, user_folder=folder)
    return None


def scan(rule: Rule, messages) -> Scan:
    """Which of ``messages`` (newest first, at most MAX_MESSAGES) ``rule`` matches."""
    rows = list(
        messages.select_related("account")
        .order_by("-date", "-id")
        .only("pk", "raw_file", "account__email")[: MAX_MESSAGES + 1]
    )
    limited = len(rows) > MAX_MESSAGES
    ids = []
    for message in rows[:MAX_MESSAGES]:
        try:
            with default_storage.open(message.raw_file.name, "rb") as f:
                raw = f.read()
        except OSError:  # a missing file: the message cannot be tested
            continue
        if rule_matches(rule, _facts(rule, raw, message.account.email)):
            ids.append(message.pk)
    return Scan(ids, min(len(rows), MAX_MESSAGES), limited)


def _facts(rule: Rule, raw: bytes, account: str) -> MessageFacts:
    if any(condition.field in BODY_FIELDS for condition in rule.conditions):
        return message_facts(raw, account)
    head = raw[: header_end(raw)]
    facts = message_facts(head, account, parsed=parse_headers(head))
    facts.size = len(raw)
    return facts


@transaction.atomic
def apply(owner, rule: Rule, ids: list[int]) -> int:
    """Apply ``rule``'s actions (not its forwards) to the user's messages ``ids``."""
    messages = Message.objects.filter(owner=owner, pk__in=ids).exclude(folder=Folder.TRASH)
    count = messages.count()
    kinds = {action.kind: action for action in rule.actions}
    if "mark_read" in kinds:
        messages.update(seen=True)
    if "flag" in kinds:
        messages.update(flagged=True)
    if "trash" in kinds:
        for origin in list(messages.values_list("folder", flat=True).distinct()):
            messages.filter(folder=origin).update(folder=Folder.TRASH, trashed_from=origin)
    elif "move" in kinds:
        destination = destinations.resolve(owner.pk, kinds["move"].argument or "")
        if destination is not None:
            messages.update(
                folder=destination.folder,
                user_folder_id=destination.user_folder_id,
                snoozed_until=None,
            )
    return count
