"""What a user does to messages: flags, moves, deletes. Plain functions over models.

Every function takes the owner and filters by it, so a forged id of someone
else's message simply matches nothing. Nothing here touches the POP3 server:
whether mail stays there is the account's download mode.
"""

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet

from . import folders
from .models import Attachment, Folder, Message, Outgoing, OutgoingAttachment, UserFolder


def owned(owner, ids) -> QuerySet:
    """The owner's messages among `ids`: a list of ids, or a queryset of messages (a
    "select all" of a whole list, mailbox.selection), used as a subquery so that one
    UPDATE acts on all of them however many they are."""
    if isinstance(ids, QuerySet):
        return Message.objects.filter(owner=owner, pk__in=ids.values("pk"))
    return Message.objects.filter(owner=owner, pk__in=list(ids))


def set_seen(owner, ids, seen: bool) -> int:
    return owned(owner, ids).update(seen=seen)


def set_flagged(owner, ids, flagged: bool) -> int:
    return owned(owner, ids).update(flagged=flagged)


def move_to(owner, ids, folder: str) -> int:
    """Move to a system folder (Inbox, Archive, …) or to an own folder ("user:<id>", the
    owner's only: another's matches nothing); moving to Trash remembers where from."""
    if folder == Folder.TRASH:
        return move_to_trash(owner, ids)
    messages = owned(owner, ids).exclude(folder=Folder.TRASH)
    if folder.startswith(folders.USER_PREFIX):
        parsed = folders.parse_key(folder)
        target = parsed and UserFolder.objects.filter(owner=owner, pk=parsed[1]).first()
        if not target:
            return 0
        return messages.update(folder=Folder.USER, user_folder=target)
    return messages.update(folder=folder, user_folder=None)


def move_to_trash(owner, ids) -> int:
    """To Trash, remembering where from; a message from an own folder keeps its
    user_folder (trashed_from "user") so Restore puts it back there."""
    moved = 0
    messages = owned(owner, ids).exclude(folder=Folder.TRASH)
    for folder in messages.values_list("folder", flat=True).distinct():
        moved += messages.filter(folder=folder).update(folder=Folder.TRASH, trashed_from=folder)
    return moved


def restore(owner, ids) -> int:
    """Back where each message came from; from an own folder deleted meanwhile (its
    user_folder nulled), to the Inbox."""
    restored = 0
    messages = owned(owner, ids).filter(folder=Folder.TRASH)
    restored += messages.filter(trashed_from=Folder.USER, user_folder__isnull=True).update(
        folder=Folder.INBOX, trashed_from=""
    )
    for origin in messages.values_list("trashed_from", flat=True).distinct():
        restored += messages.filter(trashed_from=origin).update(
            folder=origin or Folder.INBOX, trashed_from=""
        )
    return restored


# The folders whose mail can be deleted forever, one by one or all at once.
DELETABLE = (Folder.TRASH, Folder.JUNK)


def delete_forever(owner, ids) -> int:
    """Delete messages that are in Trash or Junk (only there), with their files when
    unshared."""
    return _delete(owned(owner, ids).filter(folder__in=DELETABLE))


def empty_folder(owner, folder: str) -> int:
    """Delete every message of Trash or Junk forever."""
    if folder not in DELETABLE:
        raise ValueError(f"{folder} cannot be emptied")
    return _delete(Message.objects.filter(owner=owner, folder=folder))


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
