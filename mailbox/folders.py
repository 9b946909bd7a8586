"""The user's own folders: create, rename, nest, reorder, delete, and the tree the sidebar
draws. Plain functions over UserFolder; every one takes the owner and looks folders up
by it, so someone else's folder id matches nothing.

A list is named by a *folder key*: a system folder's value ("inbox", "archive", …) or
"user:<id>" for an own folder. Forms, hidden inputs and Undo carry that key.

Deleting a folder never loses mail: its messages and its subfolders' go to Trash first,
remembered as coming from the Inbox (the folder they were in is gone), then the folders
are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import header_fields
from mailcore.header_text import hides_or_holds_controls

from .models import SYSTEM_FOLDERS, Folder, Message, UserFolder

USER_PREFIX = "user:"
NAME_MAX = UserFolder._meta.get_field("name").max_length
# System folders a message can be moved to with "Move to…" (Trash has its own button,
# Snoozed needs a time, Sent and Drafts are filled by sending and writing).
MOVE_TARGETS = [Folder.INBOX, Folder.ARCHIVE]


def user_key(folder_id: int) -> str:
    return f"{USER_PREFIX}{folder_id}"


def parse_key(key: str | None) -> tuple[str, int | None] | None:
    """("inbox", None), ("user", 12) for "user:12", or None if `key` names no folder."""
    key = key or ""
    if key.startswith(USER_PREFIX):
        digits = key[len(USER_PREFIX) :]
        return (Folder.USER, int(digits)) if digits.isdigit() else None
    return (key, None) if key in SYSTEM_FOLDERS else None


def key_of(message: Message) -> str:
    """The list a message is listed in."""
    if message.folder == Folder.USER and message.user_folder_id:
        return user_key(message.user_folder_id)
    return message.folder


@dataclass
class Node:
    folder: UserFolder
    depth: int  # 1 for a top-level folder
    children: list[Node] = field(default_factory=list)
    path: str = ""  # "Work / Clients", for menus
    delete_summary: str = ""  # what deleting it does, set by with_delete_summaries

    @property
    def pk(self) -> int:
        return self.folder.pk

    @property
    def key(self) -> str:
        return user_key(self.folder.pk)

    @property
    def name(self) -> str:
        return self.folder.name


def owned_folders(user) -> list[UserFolder]:
    """The user's folders (one query, remembered on the user object for this request)."""
    cached = getattr(user, "_own_folders", None)
    if cached is None:
        cached = list(UserFolder.objects.filter(owner=user).order_by("position", "name", "id"))
        user._own_folders = cached
    return cached


def forget(user) -> None:
    """After a change to the folders within a request."""
    try:
        del user._own_folders
    except AttributeError:
        pass


def tree(user) -> list[Node]:
    """The folders as a tree, siblings in their order."""
    folders = owned_folders(user)
    nodes = {f.pk: Node(folder=f, depth=1) for f in folders}
    roots: list[Node] = []
    for f in folders:
        parent = nodes.get(f.parent_id)
        (parent.children if parent else roots).append(nodes[f.pk])

    def walk(level: list[Node], depth: int, prefix: str) -> None:
        for node in level:
            node.depth = depth
            node.path = f"{prefix}{node.name}"
            walk(node.children, depth + 1, f"{node.path} / ")

    walk(roots, 1, "")
    return roots


def flat(user) -> list[Node]:
    """The tree in reading order (parents before their children)."""
    out: list[Node] = []

    def walk(level: list[Node]) -> None:
        for node in level:
            out.append(node)
            walk(node.children)

    walk(tree(user))
    return out


def move_choices(user) -> list[tuple[str, str]]:
    """(key, label) of every folder "Move to…" offers."""
    return [(f.value, f.label) for f in MOVE_TARGETS] + [(n.key, n.path) for n in flat(user)]


def get(user, folder_id) -> UserFolder | None:
    return next((f for f in owned_folders(user) if f.pk == folder_id), None)


# --- validation -------------------------------------------------------------------------


def clean_name(name: str) -> str:
    if hides_or_holds_controls(name or ""):
        # Folder names go into headers of exports: no line breaks, also none encoded.
        raise ValidationError({"name": header_fields.MESSAGE})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Enter a name for the folder.")})
    if len(name) > NAME_MAX:
        raise ValidationError(
            {"name": _("Keep the name under %(max)s characters.") % {"max": NAME_MAX + 1}}
        )
    # "/" separates a folder from its parent in menus and in search (in:Work/Clients).
    if "/" in name:
        raise ValidationError({"name": _("A folder name cannot contain “/”.")})
    return name


def _depth(folder: UserFolder | None, by_id: dict[int, UserFolder]) -> int:
    depth = 0
    while folder is not None:
        depth += 1
        folder = by_id.get(folder.parent_id)
    return depth


def _height(folder: UserFolder, folders: list[UserFolder]) -> int:
    """Levels from `folder` down to its deepest subfolder (1 for a folder without any)."""
    children = [f for f in folders if f.parent_id == folder.pk]
    return 1 + max((_height(c, folders) for c in children), default=0)


def _subtree_ids(folder: UserFolder, folders: list[UserFolder]) -> set[int]:
    ids, frontier = {folder.pk}, [folder.pk]
    while frontier:
        frontier = [f.pk for f in folders if f.parent_id in frontier and f.pk not in ids]
        ids.update(frontier)
    return ids


def _check(owner, name: str, parent: UserFolder | None, folder: UserFolder | None = None):
    folders = list(UserFolder.objects.filter(owner=owner))
    by_id = {f.pk: f for f in folders}
    if parent is not None and parent.pk not in by_id:
        raise ValidationError({"parent": _("Choose one of your folders.")})
    if folder is not None and parent is not None and parent.pk in _subtree_ids(folder, folders):
        raise ValidationError({"parent": _("A folder cannot go inside itself or its subfolders.")})
    height = _height(folder, folders) if folder is not None else 1
    if _depth(parent, by_id) + height > UserFolder.MAX_DEPTH:
        raise ValidationError(
            {
                "parent": _("Folders nest at most %(max)s levels deep.")
                % {"max": UserFolder.MAX_DEPTH}
            }
        )
    parent_id = parent.pk if parent is not None else None
    taken = {
        f.name.casefold()
        for f in folders
        if f.parent_id == parent_id and (folder is None or f.pk != folder.pk)
    }
    if name.casefold() in taken:
        raise ValidationError(
            {"name": _("There is already a folder named “%(name)s” there.") % {"name": name}}
        )


def _next_position(owner, parent: UserFolder | None) -> int:
    top = UserFolder.objects.filter(owner=owner, parent=parent).aggregate(m=Max("position"))["m"]
    return 0 if top is None else top + 1


# --- changes ------------------------------------------------------------------------------


@transaction.atomic
def create(owner, name: str, parent: UserFolder | None = None) -> UserFolder:
    name = clean_name(name)
    _check(owner, name, parent)
    folder = UserFolder.objects.create(
        owner=owner, parent=parent, name=name, position=_next_position(owner, parent)
    )
    forget(owner)
    return folder


@transaction.atomic
def update(owner, folder: UserFolder, name: str, parent: UserFolder | None) -> UserFolder:
    """Rename and/or move under another parent (None: top level)."""
    name = clean_name(name)
    _check(owner, name, parent, folder)
    if (parent.pk if parent else None) != folder.parent_id:
        folder.position = _next_position(owner, parent)
    folder.name, folder.parent = name, parent
    folder.save(update_fields=["name", "parent", "position"])
    forget(owner)
    return folder


@transaction.atomic
def reorder(owner, folder: UserFolder, step: int) -> bool:
    """Move a folder one place up (-1) or down (+1) among its siblings."""
    siblings = list(
        UserFolder.objects.select_for_update()
        .filter(owner=owner, parent_id=folder.parent_id)
        .order_by("position", "name", "id")
    )
    index = next(i for i, f in enumerate(siblings) if f.pk == folder.pk)
    other = index + step
    if not 0 <= other < len(siblings):
        return False
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position
            sibling.save(update_fields=["position"])
    forget(owner)
    return True


def subtree(owner, folder: UserFolder) -> set[int]:
    return _subtree_ids(folder, list(UserFolder.objects.filter(owner=owner)))


def mail_count(owner, folder: UserFolder) -> int:
    """Messages that deleting `folder` would move to Trash (its and its subfolders')."""
    return Message.objects.filter(
        owner=owner, folder=Folder.USER, user_folder_id__in=subtree(owner, folder)
    ).count()


def delete_summary(name: str, messages: int, subfolders: int) -> str:
    """What deleting the folder `name` does, in the active language: "Its 2 subfolders
    are deleted too. 12 messages in “Projects” and its 2 subfolders will move to Trash. …"."""
    if subfolders:
        where = ngettext(
            "“%(name)s” and its %(count)s subfolder",
            "“%(name)s” and its %(count)s subfolders",
            subfolders,
        ) % {"name": name, "count": subfolders}
    else:
        where = _("“%(name)s”") % {"name": name}
    sentences = []
    if subfolders:
        sentences.append(
            ngettext(
                "Its %(counter)s subfolder is deleted too.",
                "Its %(counter)s subfolders are deleted too.",
                subfolders,
            )
            % {"counter": subfolders}
        )
    if not messages:
        sentences.append(_("There is no mail in %(where)s.") % {"where": where})
    else:
        sentences.append(
            ngettext(
                "%(count)s message in %(where)s will move to Trash.",
                "%(count)s messages in %(where)s will move to Trash.",
                messages,
            )
            % {"count": messages, "where": where}
        )
        sentences.append(
            ngettext(
                "You can restore it from Trash to the Inbox.",
                "You can restore them from Trash to the Inbox.",
                messages,
            )
        )
    return " ".join(sentences)


def with_delete_summaries(owner, roots: list[Node]) -> list[Node]:
    """Set every node's delete_summary (its and its subfolders' mail: one query)."""
    own = dict(
        Message.objects.filter(owner=owner, folder=Folder.USER)
        .values_list("user_folder")
        .annotate(n=Count("pk"))
        .order_by()
    )

    def walk(node: Node) -> tuple[int, int]:
        messages, subfolders = own.get(node.pk, 0), 0
        for child in node.children:
            child_messages, child_subfolders = walk(child)
            messages += child_messages
            subfolders += 1 + child_subfolders
        node.delete_summary = delete_summary(node.name, messages, subfolders)
        return messages, subfolders

    for root in roots:
        walk(root)
    return roots


@transaction.atomic
def delete(owner, folder: UserFolder) -> int:
    """Delete a folder and its subfolders; their mail goes to Trash. Returns how many
    messages were moved there."""
    ids = subtree(owner, folder)
    moved = Message.objects.filter(owner=owner, folder=Folder.USER, user_folder_id__in=ids).update(
        folder=Folder.TRASH, trashed_from=Folder.INBOX, user_folder=None
    )
    # Already in Trash from one of these folders: Restore now puts them in the Inbox.
    Message.objects.filter(
        owner=owner, folder=Folder.TRASH, trashed_from=Folder.USER, user_folder_id__in=ids
    ).update(trashed_from=Folder.INBOX, user_folder=None)
    UserFolder.objects.filter(owner=owner, pk__in=ids).delete()
    forget(owner)
    return moved
