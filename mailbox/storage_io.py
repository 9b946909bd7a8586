"""Stored files read and written in chunks, on a local folder or in an S3 bucket.

``Storage.open`` on django-storages' S3 backend first copies the whole object into a
temporary file: right for code that parses a message, wrong for a download, whose
first byte would wait for the last. ``open_stream`` reads an object as the GET
response arrives, so a 25 MB attachment reaches the browser at once and memory holds
one chunk; a local file is opened as it is.

``save_new`` stores content-addressed content through the Storage API: it returns
when the file (or the object's PUT) is complete, so the caller's commit comes after.
"""

from __future__ import annotations

import errno
import io
from collections.abc import Iterator
from datetime import timedelta

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.utils import timezone

CHUNK = 256 * 1024
# An object reused less than this long after it was written or last reused is not
# touched again (a copy per reuse of a popular attachment would be waste); far below
# blob garbage collection's grace period (a day).
TOUCH_AFTER = timedelta(minutes=10)


class StorageUnavailable(OSError):
    """The object storage could not be reached or refused the request."""


def _bucket_storage():
    """The default storage if it keeps its files in a bucket (django-storages' S3)."""
    return default_storage if getattr(default_storage, "bucket_name", None) else None


def _is_backend_error(exc: Exception) -> bool:
    """botocore's and boto3's errors (unreachable, refused, timed out, failed upload)."""
    if _bucket_storage() is None:
        return False
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError | Boto3Error)


def _key(storage, name: str) -> str:
    """The object key of a stored file's name, as the backend itself computes it."""
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def _client(storage):
    """The boto3 client of the storage's bucket: one for every thread (clients are
    thread-safe). `storage.connection` is per thread, and a poll's download thread is
    new each time: a client of its own would cost ~140 ms to build, every poll."""
    return storage.bucket.meta.client


class ObjectReader(io.RawIOBase):
    """An S3 GET response body as a read-only file; ``size`` is the object's length."""

    def __init__(self, body, size: int) -> None:
        self._body = body
        self.size = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_stream(name: str):
    """A stored file opened for reading from its start, in chunks.

    FileNotFoundError if there is no such file, as for a local one.
    """
    storage = _bucket_storage()
    if storage is None:
        return default_storage.open(name, "rb")
    from botocore.exceptions import ClientError

    key = _key(storage, name)
    try:
        response = _client(storage).get_object(Bucket=storage.bucket_name, Key=key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            raise FileNotFoundError(f"No stored file {name}") from err
        raise
    return io.BufferedReader(ObjectReader(response["Body"], response["ContentLength"]), CHUNK)


def stream_size(handle) -> int | None:
    """The length of a file `open_stream` returned, if known without reading it."""
    raw = getattr(handle, "raw", None)
    return raw.size if isinstance(raw, ObjectReader) else None


def chunks(name: str, size: int = CHUNK) -> Iterator[bytes]:
    """A stored file's bytes, chunk by chunk, the file open only while they are read."""
    with open_stream(name) as handle:
        while chunk := handle.read(size):
            yield chunk


def save_new(name: str, content: File) -> None:
    """Store `content` under the content-addressed `name` in a storage without local
    files (S3); local files go through mailbox.blobs (fsync, rename).

    The same name always holds the same bytes, so an object already there whole is
    reused rather than sent again, and two writers of the same bytes both succeed.
    Returns when the object is complete: its PUT (or multipart upload) has returned,
    and S3 shows an object whole or not at all. Backend errors (the endpoint down,
    refused, timed out) are raised as StorageUnavailable, an OSError, as a disk's are.
    """
    storage = _bucket_storage()
    try:
        if storage is not None and _reuse_object(storage, name, content.size):
            return
        if storage is None and default_storage.exists(name):
            return
        content.seek(0)
        saved = default_storage.save(name, content)
    except Exception as exc:
        if not _is_backend_error(exc):
            raise
        raise StorageUnavailable(errno.EIO, f"object storage: {exc}") from exc
    if saved != name:  # a storage that renames instead of overwriting kept the other copy
        default_storage.delete(saved)


def _reuse_object(storage, name: str, size: int) -> bool:
    """Whether the object `name` is there with `size` bytes; if so, its Last-Modified
    is made recent (S3 has no touch: a copy onto itself), so that blob garbage collection
    (mailbox.blobs_gc), which deletes only blobs unreferenced and untouched for a grace
    period, keeps it until the row that reuses it commits, as mailbox.blobs does locally.
    """
    from botocore.exceptions import ClientError

    client = _client(storage)
    key = _key(storage, name)
    try:
        head = client.head_object(Bucket=storage.bucket_name, Key=key)
    except ClientError as err:
        if err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise
    if head["ContentLength"] != size:
        return False  # not what this name must hold: written again
    if timezone.now() - head["LastModified"] >= TOUCH_AFTER:
        client.copy_object(
            Bucket=storage.bucket_name,
            Key=key,
            CopySource={"Bucket": storage.bucket_name, "Key": key},
            MetadataDirective="REPLACE",  # S3 refuses a copy onto itself that changes nothing
            ContentType=head.get("ContentType") or "application/octet-stream",
            Metadata=head.get("Metadata") or {},
        )
    return True
