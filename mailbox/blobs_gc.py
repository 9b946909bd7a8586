"""Blob garbage collection and the storage check (manage.py gc_blobs, check_storage).

Blobs are content-addressed and shared: deleting a message or a draft never deletes its
files, because another row may use the same bytes. `collect_garbage` deletes the blobs
no row refers to any more, and only those untouched for a grace period: a poll or a
draft writes (or, for bytes already stored, touches: mailbox.blobs) a blob before it
commits the row that refers to it, so a blob younger than the grace period may belong
to a transaction still open. In order: list the blobs old enough, then read every
reference (after the listing, so a row committed meanwhile is seen), then check each
candidate's age again just before deleting it.

`check_storage` reads every row's file and compares its size and SHA-256 with the
row's; it reports and never deletes. Both use only the Storage API (listdir, exists,
size, open, delete, get_modified_time), so they work on local files and on S3 alike.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import SignatureImage

from .blobs import TEMPORARY_SUFFIX
from .models import Attachment, Message, Outgoing, OutgoingAttachment

log = logging.getLogger(__name__)

# Where blobs live (mailbox.ingest.store_blob's prefixes).
BLOB_PREFIXES = ("raw", "attachments")
GRACE = timedelta(days=1)

# (model, file field, size field or None, sha256 field or None)
REFERENCES = [
    (Message, "raw_file", "size", "raw_sha256"),
    (Attachment, "file", "size", "sha256"),
    (Outgoing, "raw_file", "size", None),
    (OutgoingAttachment, "file", "size", "sha256"),
    (SignatureImage, "file", "size", "sha256"),
]


def referenced_names() -> set[str]:
    names: set[str] = set()
    for model, file_field, _, _ in REFERENCES:
        names.update(model.objects.exclude(**{file_field: ""}).values_list(file_field, flat=True))
    return names


def walk(prefix: str) -> Iterator[str]:
    """Every file name under `prefix` in default_storage (none if it does not exist)."""
    try:
        directories, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for directory in directories:
        yield from walk(f"{prefix}/{directory}")


@dataclass
class GarbageResult:
    examined: int = 0
    deleted: int = 0
    deleted_bytes: int = 0
    young: int = 0  # unreferenced, but inside the grace period: kept
    dry_run: bool = False
    names: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"{self.examined} blobs examined, {verb} {self.deleted} unreferenced "
            f"({self.deleted_bytes} bytes), kept {self.young} younger than the grace period"
        )


def collect_garbage(
    *, grace: timedelta = GRACE, dry_run: bool = False, now: datetime | None = None
) -> GarbageResult:
    """Delete blobs (and stray temporary files) no row refers to and older than `grace`."""
    now = now or timezone.now()
    result = GarbageResult(dry_run=dry_run)
    old = []
    for prefix in BLOB_PREFIXES:
        for name in walk(prefix):
            result.examined += 1
            if now - default_storage.get_modified_time(name) >= grace:
                old.append(name)
            else:
                result.young += 1
    referenced = referenced_names()  # read after the listing: see the module's note
    for name in old:
        if name in referenced:
            continue
        try:
            if now - default_storage.get_modified_time(name) < grace:  # reused meanwhile
                result.young += 1
                continue
            size = default_storage.size(name)
            if not dry_run:
                default_storage.delete(name)
        except FileNotFoundError:
            continue
        result.deleted += 1
        result.deleted_bytes += size
        result.names.append(name)
    if not dry_run:
        log.info("blob garbage collection: %s", result)
    return result


@dataclass
class Problem:
    model: str
    pk: int
    name: str
    issue: str  # "missing", "size <stored> != <recorded>", "sha256 differs"

    def __str__(self) -> str:
        return f"{self.model} {self.pk}: {self.name}: {self.issue}"


@dataclass
class CheckResult:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    temporary: int = 0  # stray temporary files of interrupted writes (gc_blobs removes them)


def _digest(name: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_storage(*, hashes: bool = True) -> CheckResult:
    """Every row's file: there, of the recorded size, with the recorded SHA-256."""
    result = CheckResult()
    seen: dict[str, str | None] = {}  # name -> issue (shared blobs are read once)
    for model, file_field, size_field, sha_field in REFERENCES:
        columns = ["pk", file_field] + [f for f in (size_field, sha_field) if f]
        rows = model.objects.exclude(**{file_field: ""}).values_list(*columns)
        for row in rows.iterator(chunk_size=2000):
            values = dict(zip(columns, row, strict=True))
            name = values[file_field]
            result.checked += 1
            key = f"{name}\0{values.get(size_field)}\0{values.get(sha_field)}"
            if key not in seen:
                seen[key] = _check_one(name, values.get(size_field), values.get(sha_field), hashes)
            if seen[key]:
                result.problems.append(Problem(model.__name__, values["pk"], name, seen[key]))
    result.temporary = sum(
        name.endswith(TEMPORARY_SUFFIX) for prefix in BLOB_PREFIXES for name in walk(prefix)
    )
    return result


def _check_one(name: str, size: int | None, sha256: str | None, hashes: bool) -> str | None:
    if not default_storage.exists(name):
        return "missing"
    if size is not None:
        stored = default_storage.size(name)
        if stored != size:
            return f"size {stored} != recorded {size}"
    if hashes and sha256 and _digest(name) != sha256:
        return "sha256 differs from the recorded one"
    return None
