"""Export: a folder, a search result, a selection or the whole account as mbox or .eml zip.

Every export is a lazy iterator of bytes for a streaming response or a file: messages
are read from the database in chunks (``.iterator(chunk_size=...)``) and each stored
original is read from storage only when its turn comes, so memory holds one message
(plus the zip writer's small buffers) however large the folder is. The bytes are the
stored originals, untouched: mboxrd quoting (mailcore.mbox) and zip members
(mailcore.emlzip) give them back byte for byte.

What is exported is decided here, scoped to the owner; the caller has checked nothing
but the request's shape. Anything that depends on the request (translations, the
user's time zone) is resolved before the iterator is returned, because a streaming
response is consumed after the view (and its middleware) has returned.

The whole account is one zip: with ``mbox``, one ``<folder>.mbox`` member per folder
(own folders nested as ``Parent/Child.mbox``), each streamed as it is written; with
``eml-zip``, one ``<folder>/…/<number> <date> <subject>.eml`` per message.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from urllib.parse import quote

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext, ngettext

from accounts.formatting import file_size
from mailcore.emlzip import EmlExport, NameAllocator, clean_name_part, write_eml_zip
from mailcore.mbox import write_mbox
from mailcore.mime import safe_filename
from mailcore.zipstream import ZipMember, stream_zip

from . import folders, storage_io
from .models import SYSTEM_FOLDERS, Folder, Message, UserFolder
from .search import filter_by_search

FORMATS = ("mbox", "eml-zip")
CHUNK_SIZE = 200  # rows fetched per database round trip
EXPORT_FIELDS = ("pk", "raw_file", "from_address", "date", "header_date", "received_at", "subject")


@dataclass(frozen=True)
class Export:
    """What a download sends: its file name, type and (lazy) content."""

    filename: str
    content_type: str
    chunks: Iterator[bytes]


# --------------------------------------------------------------------------- bounds


class TooLarge(Exception):
    """A download over WEBMAIL_MAX_EXPORT_BYTES / WEBMAIL_MAX_EXPORT_MESSAGES, refused
    before its first byte (a stream cannot say "too large" halfway through)."""

    def __init__(self, count: int, size: int, *, attachments: bool = False):
        super().__init__(count, size)
        self.count, self.size, self.attachments = count, size, attachments

    def text(self) -> str:
        """Why, in the active language."""
        if self.attachments:  # a message's "Download all"
            return gettext(
                "These attachments total %(size)s, more than one download may hold "
                "(%(limit)s). Download them one at a time."
            ) % {
                "size": file_size(self.size),
                "limit": file_size(settings.WEBMAIL_MAX_EXPORT_BYTES),
            }
        limits = ngettext(
            "at most %(count)s message or %(size)s",
            "at most %(count)s messages or %(size)s",
            settings.WEBMAIL_MAX_EXPORT_MESSAGES,
        ) % {
            "count": settings.WEBMAIL_MAX_EXPORT_MESSAGES,
            "size": file_size(settings.WEBMAIL_MAX_EXPORT_BYTES),
        }
        return ngettext(
            "This download would hold %(count)s message (%(size)s); one download holds "
            "%(limits)s. Download a folder, a search or a selection at a time.",
            "This download would hold %(count)s messages (%(size)s); one download holds "
            "%(limits)s. Download a folder, a search or a selection at a time.",
            self.count,
        ) % {"count": self.count, "size": file_size(self.size), "limits": limits}


def check_bounds(count: int, size: int, *, attachments: bool = False) -> None:
    """Refuse a download of ``count`` files of ``size`` bytes in all past the limits.

    Memory stays flat whatever the size (everything streams); what grows is the time a
    request holds a worker, and the zip's directory, spooled to disk at about 100 bytes a
    member (mailcore.zipstream): the message count bounds that."""
    if count > settings.WEBMAIL_MAX_EXPORT_MESSAGES or size > settings.WEBMAIL_MAX_EXPORT_BYTES:
        raise TooLarge(count, size, attachments=attachments)


def check_export(messages: QuerySet) -> None:
    """``check_bounds`` for ``messages``, from their stored sizes: one query."""
    found = messages.order_by().aggregate(count=Count("pk"), size=Coalesce(Sum("size"), 0))
    check_bounds(found["count"], found["size"])


# --------------------------------------------------------------------------- selecting


def folder_messages(owner, key: str) -> tuple[QuerySet, str] | None:
    """The owner's messages in the list ``key`` names ("inbox", "user:12") and its name,
    or None when ``key`` names none of the owner's folders."""
    parsed = folders.parse_key(key)
    if parsed is None:
        return None
    folder, pk = parsed
    if pk is None:
        return Message.objects.filter(owner=owner, folder=folder), str(Folder(folder).label)
    user_folder = folders.get(owner, pk)
    if user_folder is None:
        return None
    messages = Message.objects.filter(owner=owner, folder=Folder.USER, user_folder=user_folder)
    return messages, user_folder.name


def narrowed(messages: QuerySet, query: str = "", account: str = "", zone=None) -> QuerySet:
    """``messages`` narrowed as the list shows them: its search ``q`` (days of before:
    and after: in ``zone``, the user's) and ``account``."""
    if account.isdigit():
        messages = messages.filter(account_id=int(account))
    query = query.strip()
    return filter_by_search(messages, query, zone=zone) if query else messages


def selected_messages(owner, ids: Iterable[int]) -> QuerySet:
    """The owner's messages among ``ids``; others' ids are silently left out."""
    return Message.objects.filter(owner=owner, pk__in=list(ids))


def _in_order(messages: QuerySet) -> QuerySet:
    # Oldest first, as mail clients write mbox files; a stable order makes equal exports equal.
    return messages.order_by("date", "id").only(*EXPORT_FIELDS)


def read_raw(message: Message) -> bytes:
    """The stored original of ``message``, exactly."""
    with storage_io.open_stream(message.raw_file.name) as f:  # S3: no temporary copy
        return f.read()


def _rows(messages: QuerySet) -> Iterator[Message]:
    yield from _in_order(messages).iterator(chunk_size=CHUNK_SIZE)


# --------------------------------------------------------------------------- formats


def user_zone(owner) -> tzinfo:
    """The owner's time zone for names and zip times (UTC if unset or unknown)."""
    try:
        return zoneinfo.ZoneInfo(owner.time_zone) if owner.time_zone else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def _own_date(message: Message, zone: tzinfo):
    # The message's own date, also after waking from snooze moved its `date` (the list's).
    own = message.own_date
    return own.astimezone(zone) if own else None


def mbox_chunks(messages: QuerySet) -> Iterator[bytes]:
    """An mboxrd file of ``messages``, oldest first, one chunk per message."""
    return write_mbox(
        (read_raw(m), m.from_address, m.received_at or m.own_date) for m in _rows(messages)
    )


def eml_zip_chunks(messages: QuerySet, zone: tzinfo, untitled: str) -> Iterator[bytes]:
    """A zip of one .eml per message, named by number, date (in ``zone``) and subject."""
    return write_eml_zip(
        (EmlExport(read_raw(m), m.subject, _own_date(m, zone)) for m in _rows(messages)),
        untitled=untitled,
    )


def export(owner, messages: QuerySet, fmt: str, name: str) -> Export:
    """Download ``messages`` (already scoped to ``owner``) as ``name``.mbox or ``name``.zip;
    TooLarge past the export limits."""
    check_export(messages)
    stem = safe_filename(name, default="mail")
    if fmt == "mbox":
        return Export(f"{stem}.mbox", "application/mbox", mbox_chunks(messages))
    untitled = gettext("message")
    return Export(
        f"{stem}.zip", "application/zip", eml_zip_chunks(messages, user_zone(owner), untitled)
    )


# --------------------------------------------------------------------------- whole account


def folder_paths(owner) -> dict[int, list[str]]:
    """Each own folder's path from the top ("Parent", "Child"), by id, in one query."""
    rows = {f.pk: f for f in UserFolder.objects.filter(owner=owner).only("pk", "parent", "name")}
    paths: dict[int, list[str]] = {}

    def path(pk: int, depth: int = 0) -> list[str]:
        if pk not in paths:
            folder = rows[pk]
            parent = folder.parent_id
            above = path(parent, depth + 1) if parent in rows and depth < 20 else []
            paths[pk] = [*above, folder.name]
        return paths[pk]

    for pk in rows:
        path(pk)
    return paths


def _places(owner) -> list[tuple[str, int | None, list[str]]]:
    """(folder, user_folder id, path) of every place that holds mail, in sidebar order."""
    used = set(
        Message.objects.filter(owner=owner)
        .values_list("folder", "user_folder")
        .order_by()
        .distinct()
    )
    paths = folder_paths(owner)
    places: list[tuple[str, int | None, list[str]]] = []
    for folder in SYSTEM_FOLDERS:
        if any(f == folder for f, _ in used):
            places.append((folder, None, [str(Folder(folder).label)]))
    own = sorted({uf for f, uf in used if f == Folder.USER and uf is not None})
    for pk in sorted(own, key=lambda pk: [p.casefold() for p in paths.get(pk, [])]):
        places.append((Folder.USER, pk, paths.get(pk, [str(pk)])))
    if any(f == Folder.USER and uf is None for f, uf in used):  # should not happen; never lose it
        places.append((Folder.USER, None, [str(Folder.USER.label)]))
    return places


def _place_messages(owner, folder: str, user_folder_id: int | None) -> QuerySet:
    messages = Message.objects.filter(owner=owner, folder=folder)
    if folder == Folder.USER:
        messages = messages.filter(user_folder_id=user_folder_id)
    return messages


def account_export(owner, fmt: str) -> Export:
    """All of the owner's mail as one zip: one mbox per folder, or a tree of .eml files;
    TooLarge past the export limits."""
    check_export(Message.objects.filter(owner=owner))
    places = _places(owner)
    name = safe_filename(gettext("mail") + f" {owner.get_username()}", default="mail")
    if fmt == "mbox":
        names = NameAllocator()
        members = (
            ZipMember(
                names.allocate("/".join(clean_name_part(p) for p in path) + ".mbox"),
                mbox_chunks(_place_messages(owner, folder, pk)),
            )
            for folder, pk, path in places
        )
        return Export(f"{name}.zip", "application/zip", stream_zip(members))
    zone, untitled = user_zone(owner), gettext("message")

    def emls() -> Iterator[EmlExport]:
        for folder, pk, path in places:
            for m in _rows(_place_messages(owner, folder, pk)):
                yield EmlExport(read_raw(m), m.subject, _own_date(m, zone), path)

    return Export(f"{name}.zip", "application/zip", write_eml_zip(emls(), untitled=untitled))


# --------------------------------------------------------------------------- HTTP


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one as RFC 5987 ``filename*``."""
    fallback = filename.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    stem, dot, ext = fallback.rpartition(".")
    if not stem.strip(" ._-"):
        fallback = "mail" + (dot + ext if dot else "")
    if filename.isascii():
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=utf-8''{quote(filename, safe='')}"
