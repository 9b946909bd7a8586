"""Where a rule's "move to" path leads: a system folder or one of the user's own folders.

A path names folders from the top, "/" between levels ("Clients/ACME"). The system
folders a rule may file into are named as a Sieve server names them ("INBOX",
"Archive", "Junk"; any case). Everything else is an own folder, matched by name
(ASCII case ignored) level by level.

A path that names no existing folder is created on first use, as Gmail creates a
label a filter names: mail is never left in the Inbox because a folder was renamed or
an imported script names one we do not have yet. Levels beyond UserFolder.MAX_DEPTH
are dropped (the form refuses such paths; an imported script may still hold one).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from mailbox.models import Folder, UserFolder

SYSTEM_PATHS = {"inbox": Folder.INBOX, "archive": Folder.ARCHIVE, "junk": Folder.JUNK}
NAME_MAX = UserFolder._meta.get_field("name").max_length


@dataclass(frozen=True)
class Destination:
    folder: str  # a Folder value; Folder.USER with user_folder_id
    user_folder_id: int | None = None


def split_path(path: str) -> list[str]:
    return [part.strip() for part in path.split("/")]


def system_folder(path: str) -> str | None:
    return SYSTEM_PATHS.get(path.strip().lower())


def path_problem(path: str) -> str | None:
    """Why a path cannot name a folder here ("depth", "long"), or None."""
    if system_folder(path):
        return None
    parts = split_path(path)
    if len(parts) > UserFolder.MAX_DEPTH:
        return "depth"
    if any(len(part) > NAME_MAX for part in parts):
        return "long"
    return None


def resolve(owner_id: int, path: str, *, create: bool = True) -> Destination | None:
    """The destination of ``path`` for this user; None if it is missing and not created."""
    system = system_folder(path)
    if system:
        return Destination(system)
    parent: UserFolder | None = None
    for name in split_path(path)[: UserFolder.MAX_DEPTH]:
        name = name[:NAME_MAX]
        found = (
            UserFolder.objects.filter(owner_id=owner_id, parent=parent, name__iexact=name)
            .order_by("id")
            .first()
        )
        if found is None:
            if not create:
                return None
            found = _create(owner_id, parent, name)
        parent = found
    assert parent is not None  # a path has at least one part
    return Destination(Folder.USER, parent.pk)


def _create(owner_id: int, parent: UserFolder | None, name: str) -> UserFolder:
    last = UserFolder.objects.filter(owner_id=owner_id, parent=parent).order_by("-position").first()
    try:
        with transaction.atomic():  # a savepoint: the storing transaction survives a race
            return UserFolder.objects.create(
                owner_id=owner_id,
                parent=parent,
                name=name,
                position=(last.position + 1) if last else 0,
            )
    except IntegrityError:  # a concurrent poll made it first
        return UserFolder.objects.get(owner_id=owner_id, parent=parent, name=name)


def own_folders(owner_id: int) -> list[tuple[int, str]]:
    """(id, path) of every own folder, parents before children, in sidebar order."""
    folders = list(UserFolder.objects.filter(owner_id=owner_id).order_by("position", "name", "id"))
    children: dict[int | None, list[UserFolder]] = {}
    for folder in folders:
        children.setdefault(folder.parent_id, []).append(folder)
    found: list[tuple[int, str]] = []

    def walk(parent_id: int | None, prefix: str) -> None:
        for folder in children.get(parent_id, []):
            path = prefix + folder.name
            found.append((folder.pk, path))
            walk(folder.pk, path + "/")

    walk(None, "")
    return found
