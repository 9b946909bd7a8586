"""What a user does to messages: flags, moves, deletes. Plain functions over models.

Every function takes the owner and filters by it, so a forged id of someone
else's message simply matches nothing. Nothing here touches the POP3 server:
whether mail stays there is the account's download mode.
"""

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet

from .models import Attachment, Folder, Message, Outgoing, OutgoingAttachment


def owned(owner, ids) -> QuerySet:
    return Message.objects.filter(owner=owner, pk__in=list(ids))


def set_seen(owner, ids, seen: bool) -> int:
    return owned(owner, ids).update(seen=seen)


def set_flagged(owner, ids, flagged: bool) -> int:
    return owned(owner, ids).update(flagged=flagged)


def move_to(owner, ids, folder: str) -> int:
    """Move to Inbox/Archive/Sent/Drafts; moving to Trash remembers where from."""
    if folder == Folder.TRASH:
        return move_to_trash(owner, ids)
    return owned(owner, ids).exclude(folder=Folder.TRASH).update(folder=folder)


def move_to_trash(owner, ids) -> int:
    moved = 0
    messages = owned(owner, ids).exclude(folder=Folder.TRASH)
    for folder in messages.values_list("folder", flat=True).distinct():
        moved += messages.filter(folder=folder).update(folder=Folder.TRASH, trashed_from=folder)
    return moved


def restore(owner, ids) -> int:
    restored = 0
    messages = owned(owner, ids).filter(folder=Folder.TRASH)
    for origin in messages.values_list("trashed_from", flat=True).distinct():
        restored += messages.filter(trashed_from=origin).update(
            folder=origin or Folder.INBOX, trashed_from=""
        )
    return restored


def delete_forever(owner, ids) -> int:
    """Delete messages that are in Trash (only there), with their files when unshared."""
    return _delete(owned(owner, ids).filter(folder=Folder.TRASH))


def empty_trash(owner) -> int:
    return _delete(Message.objects.filter(owner=owner, folder=Folder.TRASH))


def _delete(messages: QuerySet) -> int:
    with transaction.atomic():
        ids = list(messages.values_list("pk", flat=True))
        raw = set(messages.values_list("raw_file", flat=True))
        parts = set(Attachment.objects.filter(message_id__in=ids).values_list("file", flat=True))
        Message.objects.filter(pk__in=ids).delete()
        orphans = (raw | parts) - _still_referenced(raw | parts)
        transaction.on_commit(lambda: [default_storage.delete(name) for name in orphans])
    return len(ids)


def _still_referenced(names: set[str]) -> set[str]:
    """Which of these files a row still points at.

    Files are content-addressed, so other messages share them, and so do drafts
    and outgoing mail: a forwarded attachment, the frozen bytes of a sent message
    (the same file as its Sent copy).
    """
    columns = [
        (Message, "raw_file"),
        (Attachment, "file"),
        (Outgoing, "raw_file"),
        (OutgoingAttachment, "file"),
    ]
    referenced: set[str] = set()
    for model, column in columns:
        found = model.objects.filter(**{f"{column}__in": names}).values_list(column, flat=True)
        referenced.update(found)
    return referenced
