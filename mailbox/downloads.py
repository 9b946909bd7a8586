"""A poll's downloads: RETR, parse and write files in one thread, make the files durable
in a second, and hand batches to the storing thread (mailbox.ingest), which commits them.

Nothing reaches the storing thread (whose commit allows the DELE) before its files are
synced and in place. Download and storage overlap: the download thread RETRs the next
messages (pipelined when the server offers PIPELINING, so the server reads the next ones
meanwhile), parses them and writes their files; the syncing thread makes each group of
files durable while the next messages download; the caller's thread inserts the rows of
the previous ones. A queue bounded by count and bytes keeps memory flat.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from mailcore import pop3

from . import blobs

PREFETCH = 64  # messages downloaded ahead of the one being stored
PREFETCH_BYTES = 32 * 1024 * 1024  # and at most this many bytes of them
SYNC_GROUP = 16  # at most this many messages' blobs are made durable together
BATCH_MESSAGES = 50  # at most this many messages are committed together
BATCH_BYTES = 8 * 1024 * 1024  # and at most about this many bytes of them
BATCH_WAIT = 0.02  # seconds a batch waits for the next download before it is stored
SWITCH_INTERVAL = 0.0005  # seconds between GIL hand-overs while both threads run (see below)


_DONE = object()


class _ByteBudget:
    """Bounds the bytes downloaded ahead of storage, by the sizes LIST reported.

    A message always fits when nothing else is waiting, so one message larger
    than the budget still goes through, alone.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._changed = threading.Condition()

    def acquire(self, size: int, stop: threading.Event) -> None:
        with self._changed:
            while self.used and self.used + size > self.limit and not stop.is_set():
                self._changed.wait(0.05)
            self.used += size

    def would_wait(self, size: int) -> bool:
        with self._changed:
            return bool(self.used) and self.used + size > self.limit

    def release(self, size: int) -> None:
        with self._changed:
            self.used -= size
            self._changed.notify_all()


def _prefetch(
    prepare: Callable[[bytes], Any],
    session: pop3.POP3Session,
    entries: list[tuple[int, int]],
    out: queue.Queue,
    budget: _ByteBudget,
    stop: threading.Event,
) -> None:
    """Downloader thread: RETR and prepare each message, and hand them a group at a time
    to a syncing thread (_sync_groups) that makes their blobs durable (mailbox.blobs)
    and then queues them; errors travel too, after the groups before them.

    Nothing reaches the storing thread (whose commit allows the DELE) before its files
    are synced and in place. A group is handed over when the storing thread is about to
    run out of work, when it is full, or when the next download would wait for the byte
    budget: a busy storing thread gets large groups (fsyncs in flight together cost a
    fraction of one each), an idle one gets each message at once. The fsyncs of a group
    overlap the download and parsing of the next messages.
    """
    groups: queue.Queue = queue.Queue()  # bounded by the byte budget
    syncer = threading.Thread(
        target=_sync_groups, args=(groups, out, stop), name="pop3-sync", daemon=True
    )
    syncer.start()
    ready: list[tuple[int, int, Any]] = []
    pending = blobs.Pending()

    def flush() -> None:
        nonlocal pending, ready
        if ready:
            groups.put((pending, ready))
            pending, ready = blobs.Pending(), []

    end: object = _DONE
    # On a PIPELINING server the next RETRs are in flight while this one is prepared (the
    # server reads the next message as we parse); their replies wait in the socket, so
    # the byte budget bounds what is read from it, not what is asked for.
    downloads = session.retr_many(number for number, _ in entries)
    try:
        for number, size in entries:
            if ready and budget.would_wait(size):
                flush()
            budget.acquire(size, stop)
            if stop.is_set():
                pending.discard()
                end = None
                return
            _, raw = next(downloads)
            with blobs.deferred() as written:
                fetched = prepare(raw)
            del raw
            pending.extend(written)
            blobs.fault_point("after-write")
            ready.append((number, size, fetched))
            if len(ready) >= SYNC_GROUP or out.qsize() <= 1:
                flush()
        flush()
    except BaseException as exc:  # noqa: BLE001 - handed to the storing thread
        pending.discard()
        end = exc
    finally:
        downloads.close()  # RETRs still in flight (a stop): the connection is dropped
        groups.put((None, end))
        syncer.join()


def _sync_groups(groups: queue.Queue, out: queue.Queue, stop: threading.Event) -> None:
    """Syncing thread: make each group's blobs durable, then queue its messages for the
    storing thread; the groups that queued up meanwhile are synced together. The end
    (done, or the download's error) is queued after the last group; a failed sync is
    queued instead of its group, and the groups after it are discarded."""
    failed = False
    while True:
        taken = [groups.get()]
        while taken[-1][0] is not None:
            try:
                taken.append(groups.get_nowait())
            except queue.Empty:
                break
        merged = blobs.Pending()
        items: list[tuple[int, int, Any]] = []
        for pending, ready in taken:
            if pending is not None:
                merged.extend(pending)
                items.extend(ready)
        if failed or stop.is_set():  # the poll is over: nothing more is stored
            merged.discard()
        elif items:
            try:
                blobs.make_durable(merged)
                blobs.fault_point("after-fsync")
            except BaseException as exc:  # noqa: BLE001 - handed to the storing thread
                failed = True  # (make_durable removed the group's temporary files)
                out.put((None, 0, exc))
            else:
                for item in items:
                    out.put(item)
        pending, end = taken[-1]
        if pending is None:
            if not failed and end is not None:
                out.put((None, 0, end))
            return


_switching = threading.Lock()
_switching_users = 0
_switching_saved = 0.0


@contextlib.contextmanager
def _quick_gil_handover() -> Iterator[None]:
    """A shorter GIL switch interval while a poll's two threads run.

    The download thread releases the GIL for every socket read, command, file write,
    hash and fsync; when the storing thread is running Python meanwhile, getting the GIL
    back waits for that thread's switch interval, 5 ms by default (the "convoy effect"
    of a thread doing I/O beside one doing CPU work). Thousands of those waits a poll
    made the download thread, the poll's bottleneck, wait more than it worked. A shorter
    interval costs a few more hand-overs of the storing thread. Process-wide, so it is
    counted: concurrent polls in one process restore the default only when the last
    one ends.
    """
    global _switching_users, _switching_saved
    with _switching:
        if not _switching_users:
            _switching_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH_INTERVAL, _switching_saved))
        _switching_users += 1
    try:
        yield
    finally:
        with _switching:
            _switching_users -= 1
            if not _switching_users:
                sys.setswitchinterval(_switching_saved)


def batches(
    session: pop3.POP3Session,
    entries: list[tuple[int, int]],
    prepare: Callable[[bytes], Any],
) -> Iterator[list[tuple[int, Any]]]:
    """Batches of (number, prepare(message)) for the (number, size) entries (`prepare`:
    ingest.prepare_message, which parses and writes the files), downloaded ahead in a
    second thread: up to BATCH_MESSAGES or BATCH_BYTES of them, each arriving within
    BATCH_WAIT of the one before (the last one and a failed download end a batch at
    once). Each statement costs the storing thread a wait for the GIL while the download
    thread parses, so fewer, larger ones: about 0.5 queries per message instead of 6."""
    if not entries:
        return
    items: queue.Queue = queue.Queue(maxsize=PREFETCH)
    budget = _ByteBudget(PREFETCH_BYTES)
    stop = threading.Event()
    worker = threading.Thread(
        target=_prefetch,
        args=(prepare, session, entries, items, budget, stop),
        name="pop3-prefetch",
        daemon=True,
    )
    with _quick_gil_handover():
        worker.start()
        try:
            ended: BaseException | None = None
            done = False
            while not done:
                batch: list[tuple[int, Any]] = []
                sizes = 0
                number, size, payload = items.get()
                while True:
                    if number is None:
                        done = True
                        if payload is not _DONE:
                            ended = payload
                        break
                    batch.append((number, payload))
                    sizes += size
                    if len(batch) >= BATCH_MESSAGES or sizes >= BATCH_BYTES:
                        break
                    try:  # a moment for the next one: a commit per batch, not per message
                        number, size, payload = items.get(timeout=BATCH_WAIT)
                    except queue.Empty:
                        break
                if batch:  # downloaded and durable: stored even when the download then failed
                    yield batch
                    del batch, payload  # stored by now: let the budget admit the next downloads
                    budget.release(sizes)
            if ended is not None:
                raise ended
        finally:
            stop.set()
            # Unblock a producer waiting on a full queue, then wait for it to finish its RETR.
            while worker.is_alive():
                try:
                    items.get(timeout=0.05)
                except queue.Empty:
                    pass
            worker.join()
