"""Durable local blob writes: on stable storage before the commit that refers to them.

A row that says "stored" (a Message, an Attachment, an Outgoing) is committed only
after its file is on disk for good, because in delete-after-download mode the server's
copy goes next. Every local blob is written like this:

1. the bytes go to a temporary name beside the final one (``<name>.<random>.tmp``);
2. that file is ``fsync``ed;
3. it is renamed into place (readers never see part of a file);
4. its directory is ``fsync``ed (the rename itself survives a power cut), and so is the
   parent of a directory that had to be created.

Only then does the caller commit. A poll writes many blobs at once, so it groups steps
2-4 (``deferred`` + ``make_durable``): the temporary files of several messages are
flushed together (the kernel merges the journal commits of fsyncs that are in flight
together: 0.4-0.9 ms a blob instead of 3.6 ms one by one, measured on ext4), each
directory is synced once per group, and the commit of those messages follows.

The same policy applies in leave-on-server mode: it is simplest to reason about, and
its cost is the one the ingest benchmark reports (bench/ingest.py, "no fsync" path).

``fault_point`` lets the crash tests kill the process between these steps.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import default_storage

from accounts import mail_errors

# Turned off only by the benchmark that measures what durability costs; never in the app.
FSYNC = True
_SYNC_THREADS = 8  # fsyncs in flight together (merged by the file system's journal)
TEMPORARY_SUFFIX = ".tmp"


# Fault points --------------------------------------------------------------------

FAULT_ENV = "WEBMAIL_FAULT_POINT"  # "<point>" or "<point>:<n>": SIGKILL at its n-th pass
_passes: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL here when the crash tests ask for it (else nothing).

    Points: "after-write" (temporary files written), "after-fsync" (blobs durable and
    in place, rows not committed), "before-commit" (a batch's rows written, not
    committed), "after-commit" (a message's rows committed, not DELEd), "after-dele"
    (DELEs sent, QUIT not).
    """
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


# Storage errors ----------------------------------------------------------------------

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


def storage_error_code(exc: OSError) -> str:
    """Why a blob could not be stored, as an accounts.mail_errors storage code."""
    if exc.errno in _FULL:
        return mail_errors.STORAGE_FULL
    if exc.errno in _READ_ONLY:
        return mail_errors.STORAGE_READ_ONLY
    return mail_errors.STORAGE_FAILED


# Writing --------------------------------------------------------------------------------


@dataclass
class Pending:
    """Blobs written to temporary files, not yet durable nor in place."""

    renames: list[tuple[str, str]] = field(default_factory=list)  # (temporary, final)
    directories: set[str] = field(default_factory=set)  # to fsync once renamed

    def extend(self, other: Pending) -> None:
        self.renames.extend(other.renames)
        self.directories |= other.directories

    def discard(self) -> None:
        """Forget them: unlink the temporary files (a failed or abandoned poll)."""
        for temporary, _ in self.renames:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        self.renames.clear()
        self.directories.clear()


_collecting = threading.local()


@contextlib.contextmanager
def deferred() -> Iterator[Pending]:
    """Within the block, this thread's blob writes stop at the temporary file; they are
    collected in the Pending it yields, for `make_durable` to finish before the commit."""
    pending = Pending()
    outer = getattr(_collecting, "pending", None)
    _collecting.pending = pending
    try:
        yield pending
    except BaseException:
        pending.discard()  # a message half written: none of its files are kept
        raise
    finally:
        _collecting.pending = outer


def store(path: str, data: bytes) -> None:
    """Make `path` hold `data` (a content-addressed blob): at once and durably, or, inside
    `deferred`, as a temporary file that `make_durable` puts in place.

    A file already there with the right size is kept (the same bytes, by its name; a
    shorter one is what a crash left under code that did not fsync, and is rewritten).
    Its directory is synced all the same: a concurrent writer may not have yet.
    """
    pending = getattr(_collecting, "pending", None)
    if _reuse(path, len(data)):
        if pending is not None:
            pending.directories.add(os.path.dirname(path))
        else:
            _sync_directories([os.path.dirname(path)])
        return
    own = Pending()
    _write_temporary(path, data, own)
    if pending is not None:
        pending.extend(own)
        return
    try:
        fault_point("after-write")
        make_durable(own)
    except BaseException:
        own.discard()
        raise


def save_upload(name: str, upload) -> None:
    """Store an uploaded file (Django's UploadedFile) under the content-addressed `name`,
    streamed in chunks, durably on local storage like every blob."""
    try:
        path = default_storage.path(name)
    except NotImplementedError:  # object storage (S3): mailbox.storage_io
        from . import storage_io

        storage_io.save_new(name, upload)
        return
    if _reuse(path, upload.size):
        _sync_directories([os.path.dirname(path)])
        return
    upload.seek(0)
    pending = Pending()
    _write_temporary(path, upload.chunks(), pending)
    try:
        make_durable(pending)
    except BaseException:
        pending.discard()
        raise


def _reuse(path: str, size: int) -> bool:
    """Whether the blob at `path` is there whole; if so its mtime is set to now, so that
    blob garbage collection (mailbox.blobs_gc), which only deletes blobs unreferenced
    and untouched for a grace period, keeps it until the row that reuses it commits."""
    try:
        if os.stat(path).st_size != size:
            return False
        os.utime(path)
    except FileNotFoundError:  # (or collected just now: written again)
        return False
    return True


def _write_temporary(path: str, data: bytes | Iterable[bytes], pending: Pending) -> None:
    directory = os.path.dirname(path)
    temporary = f"{path}.{secrets.token_hex(8)}{TEMPORARY_SUFFIX}"
    try:
        f = open(temporary, "xb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:  # the first blob in this directory
        pending.directories |= _make_directories(directory)
        f = open(temporary, "xb")  # noqa: SIM115
    try:
        with f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                for chunk in data:
                    f.write(chunk)
        if settings.FILE_UPLOAD_PERMISSIONS is not None:
            os.chmod(temporary, settings.FILE_UPLOAD_PERMISSIONS)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    pending.renames.append((temporary, path))
    pending.directories.add(directory)


def _make_directories(directory: str) -> set[str]:
    """Create `directory` and any missing parents; return the parents whose entries
    changed (to fsync)."""
    missing = []
    current = directory
    while current and not os.path.isdir(current):
        missing.append(current)
        current = os.path.dirname(current)
    os.makedirs(directory, exist_ok=True)
    return {os.path.dirname(d) for d in missing}


def make_durable(pending: Pending) -> None:
    """fsync the temporary files, rename them into place, fsync their directories.

    Raises OSError (disk full, read-only, I/O error) with the temporary files removed
    and nothing renamed that was not synced first.
    """
    if not pending.renames and not pending.directories:
        return
    try:
        if FSYNC:
            _parallel(_fsync_file, [temporary for temporary, _ in pending.renames])
        for temporary, final in pending.renames:
            os.replace(temporary, final)
        pending.renames.clear()
        _sync_directories(pending.directories)
        pending.directories.clear()
    except BaseException:
        pending.discard()
        raise


def _sync_directories(directories: Iterable[str]) -> None:
    if FSYNC:
        _parallel(_fsync_directory, sorted(set(directories)))


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _parallel(function, paths: list[str]) -> None:
    """Run `function` on every path, several at once when there are several."""
    if len(paths) <= 1:
        for path in paths:
            function(path)
        return
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="blob-fsync")
    for future in [_pool.submit(function, path) for path in paths]:
        future.result()  # the first failure is raised
