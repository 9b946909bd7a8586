"""Durable before DELE: every blob is synced and in place before the commit that makes
its message stored, the DELE comes after that commit, a poll killed at any step loses
and duplicates nothing, and a full or read-only disk leaves the mail on the server."""

import binascii
import errno
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import MailAccount
from mailbox import blobs, downloads, ingest, outbox, wording
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from testkit.mailfactory import mail
from tests.conftest import dovecot_account, make_account

ROOT = Path(__file__).resolve().parents[2]
STRACE = shutil.which("strace") or "/usr/bin/strace"

pytestmark = pytest.mark.dovecot


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Blobs of this test only (the same messages' blobs from another test would be
    reused, not written)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(name: str) -> bytes:
    with default_storage.open(name, "rb") as f:
        return f.read()


def deliver_three(pop3_user) -> list:
    pdf = b"%PDF-1.4 durable\x00\xff" * 300
    return [
        pop3_user.deliver(mail(subject="첫 번째 durable", body="하나\n")),
        pop3_user.deliver(
            mail(subject="second", attachments=[("보고서.pdf", "application/pdf", pdf)])
        ),
        pop3_user.deliver(mail(subject="third", body="셋\n")),
    ]


def assert_stored_exactly_once(account, delivered) -> None:
    """Every delivered message is stored once, byte-exact, attachments too."""
    messages = list(Message.objects.filter(account=account))
    assert len(messages) == len(delivered)
    by_uidl = {m.uidl: m for m in messages}
    for d in delivered:
        message = by_uidl[d.uid]
        assert read(message.raw_file.name) == d.wire
        for attachment in message.attachments.all():
            data = read(attachment.file.name)
            assert (len(data), sha256(data)) == (attachment.size, attachment.sha256)


def subprocess_env(**extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "WEBMAIL_TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    env.pop(blobs.FAULT_ENV, None)
    env.update(extra)
    return env


def poll_mail_process(username: str, *, prefix=(), **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "manage.py", "poll_mail", username],
        cwd=ROOT,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


# The order, as the kernel saw it ---------------------------------------------------

_CALL = re.compile(r"^(\d+)\s+(\w+)\((.*)$")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$")


def syscalls(trace: str) -> list[tuple[str, str]]:
    """(call, arguments) of each successful system call, in the order they returned
    (a call another thread interrupted is joined with its "resumed" line)."""
    unfinished: dict[str, tuple[str, str]] = {}
    calls = []
    for line in trace.splitlines():
        if match := _RESUMED.match(line):
            pid, call, rest = match.groups()
            name, start = unfinished.pop(pid, (call, ""))
            text = start + rest
        elif match := _CALL.match(line):
            pid, name, text = match.groups()
            if text.endswith("<unfinished ...>"):
                # strace writes "<args> <unfinished ...>" and later "<... resumed>) = 0".
                unfinished[pid] = (name, text[: -len("<unfinished ...>")].rstrip())
                continue
        else:
            continue
        if re.search(r"\)\s+= -1 ", text):
            continue  # failed
        calls.append((name, text))
    return calls


@pytest.mark.django_db(transaction=True)
def test_blobs_are_synced_and_renamed_before_the_commit_and_dele_comes_after(
    alice, dovecot, pop3_user, tmp_path
):
    delivered = deliver_three(pop3_user)
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    trace = tmp_path / "trace"
    strace = [
        STRACE,
        "-f",
        "-qq",
        "-yy",
        "-s",
        "65536",
        "-e",
        "signal=none",
        "-e",
        "trace=fsync,fdatasync,rename,renameat,renameat2,sendto,write,pwrite64",
        "-o",
        str(trace),
    ]

    run = poll_mail_process(alice.username, prefix=strace)

    assert run.returncode == 0, run.stdout + run.stderr
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0
    calls = syscalls(trace.read_text(errors="replace"))
    media = os.path.realpath(settings.MEDIA_ROOT)

    def index(predicate, what: str, after: int = -1) -> int:
        """The first call after `after` that `predicate(name, arguments)` accepts."""
        found = [i for i, call in enumerate(calls) if i > after and predicate(*call)]
        assert found, f"no {what} in the trace"
        return found[0]

    commits = [i for i, (name, text) in enumerate(calls) if name == "sendto" and "COMMIT" in text]
    database = connection.settings_dict["NAME"]

    def stored_at(message) -> int:
        """When the message's row became stored: on PostgreSQL the COMMIT after its
        INSERT; on SQLite the first write of its row into the database's files (WAL or
        journal): at its commit, or before it if SQLite spilled its cache."""
        if connection.vendor == "sqlite":
            return index(
                lambda n, t, m=message: (
                    n in {"write", "pwrite64"} and f"<{database}" in t and m.raw_file.name in t
                ),
                f"write of message {message.pk}'s row",
            )
        insert = index(
            lambda n, t, m=message: (
                n == "sendto" and 'INSERT INTO \\"mailbox_message\\"' in t and m.raw_file.name in t
            ),
            f"INSERT of message {message.pk}",
        )
        return next(i for i in commits if i > insert)

    deles = [i for i, (name, text) in enumerate(calls) if name == "sendto" and "DELE " in text]
    quit_at = index(lambda n, t: n == "sendto" and "QUIT\\r\\n" in t, "QUIT")
    assert len(deles) == 3
    for message in Message.objects.filter(account=account):
        commit = stored_at(message)
        names = [message.raw_file.name, *message.attachments.values_list("file", flat=True)]
        for name in names:
            final = os.path.join(media, name)
            rename = index(
                lambda n, t, f=final: n.startswith("rename") and f'"{f}")' in t,
                f"rename to {name}",
            )
            temporary = re.search(r'"([^"]+\.tmp)"', calls[rename][1]).group(1)
            file_sync = index(
                lambda n, t, p=temporary: n in {"fsync", "fdatasync"} and f"<{p}>" in t,
                f"fsync of {temporary}",
            )
            directory = os.path.dirname(final)
            directory_sync = index(
                lambda n, t, d=directory: n == "fsync" and f"<{d}>" in t,
                f"fsync of the directory of {name} after its rename",
                after=rename,
            )
            assert file_sync < rename < directory_sync < commit
        assert commit < min(deles)  # DELE only after every message's commit
    assert max(deles) < quit_at


# Killed at each step ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "point",
    ["after-write", "after-fsync", "before-commit", "after-commit", "after-commit:2", "after-dele"],
)
def test_a_poll_killed_at_any_step_loses_and_duplicates_nothing(point, alice, dovecot, pop3_user):
    delivered = deliver_three(pop3_user)
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)

    killed = poll_mail_process(alice.username, **{blobs.FAULT_ENV: point})

    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert pop3_user.server_message_count() == 3  # no QUIT: nothing was deleted
    # The dead poll's lease expires (15 minutes); then the next poll resumes.
    MailAccount.objects.filter(pk=account.pk).update(poll_lock_until=timezone.now())
    restarted = poll_mail_process(alice.username)

    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0
    assert Message.objects.filter(account=account).values("uidl").distinct().count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_poll_killed_inside_a_batch_refetches_its_uncommitted_messages_exactly_once(
    alice, dovecot, pop3_user
):
    # More than a batch holds (downloads.BATCH_MESSAGES), so a poll stores two at least.
    count = downloads.BATCH_MESSAGES + 10
    delivered = [pop3_user.deliver(mail(subject=f"batch {i}", body=f"{i}\n")) for i in range(count)]
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)

    # Killed as its second batch is about to commit: that batch's rows are written, the
    # first batch's are committed.
    killed = poll_mail_process(alice.username, **{blobs.FAULT_ENV: "before-commit:2"})

    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    committed = Message.objects.filter(account=account).count()
    assert 1 <= committed < len(delivered)
    assert pop3_user.server_message_count() == len(delivered)
    MailAccount.objects.filter(pk=account.pk).update(poll_lock_until=timezone.now())
    restarted = poll_mail_process(alice.username)

    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert f"{len(delivered) - committed} new" in restarted.stdout
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_before_its_commit_stores_none_of_its_messages(
    alice, dovecot, pop3_user, monkeypatch
):
    delivered = deliver_three(pop3_user)
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    with ingest.open_session(account) as session:
        fetched = [
            (ingest.prepare_message(session.retr(entry.number)), ingest.uid_key(entry.uid))
            for entry in session.listing()
        ]
        session.quit()

    def fail(point):
        if point == "before-commit":
            raise OSError(errno.EIO, "the batch dies before its commit")

    with monkeypatch.context() as patch:
        patch.setattr(blobs, "fault_point", fail)
        with pytest.raises(OSError):
            ingest.store_batch(account, fetched, on_arrival=True)
    assert not Message.objects.filter(account=account).exists()

    result = ingest.poll_account(account.pk)

    assert (result.new, result.deleted) == (3, 3)
    assert_stored_exactly_once(account, delivered)


# Disk full, read-only media ----------------------------------------------------------------


def fail_writes(monkeypatch, code: int) -> None:
    """Every blob write (new file or reuse of one already there) fails with `code`."""

    def failing(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(blobs, "_write_temporary", failing)
    monkeypatch.setattr(blobs, "_reuse", failing)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("code", "english", "korean"),
    [
        (errno.ENOSPC, "Storage full", "저장 공간이 가득"),
        (errno.EROFS, "Storage is read-only", "읽기 전용"),
    ],
)
def test_storage_failure_during_a_poll_deletes_nothing_and_the_next_poll_resumes(
    code, english, korean, alice, dovecot, pop3_user, monkeypatch
):
    delivered = deliver_three(pop3_user)
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    with monkeypatch.context() as patch:
        fail_writes(patch, code)
        result = ingest.poll_account(account.pk)

    assert result.new == 0 and result.deleted == 0
    assert pop3_user.server_message_count() == 3
    account.refresh_from_db()
    assert account.last_poll_error_text.startswith(english)
    with translation.override("ko"):
        assert korean in account.last_poll_error_text
    assert account.poll_lock_until is None  # the next poll may start at once

    result = ingest.poll_account(account.pk)  # space is back

    assert (result.new, result.error) == (3, "")
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0
    account.refresh_from_db()
    assert account.last_poll_error == ""


@pytest.mark.django_db(transaction=True)
def test_disk_full_after_some_messages_keeps_them_and_deletes_none(
    alice, dovecot, pop3_user, monkeypatch
):
    delivered = deliver_three(pop3_user)
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    real = blobs._write_temporary
    writes = []

    def full_after_the_first_message(path, data, pending):
        writes.append(path)
        if "/raw/" in path and len([w for w in writes if "/raw/" in w]) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, pending)

    monkeypatch.setattr(blobs, "_write_temporary", full_after_the_first_message)
    result = ingest.poll_account(account.pk)
    monkeypatch.setattr(blobs, "_write_temporary", real)

    assert result.new == 1 and result.deleted == 0
    assert pop3_user.server_message_count() == 3
    assert ingest.poll_account(account.pk).new == 2
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0
    leftovers = [
        p for p in Path(settings.MEDIA_ROOT).rglob(f"*{blobs.TEMPORARY_SUFFIX}") if p.is_file()
    ]
    assert leftovers == []  # the failed write cleaned up after itself


def sending_account(user, server) -> MailAccount:
    """`user`'s account sending through `server` (plain SMTP), with no undo window."""
    user.undo_send_seconds = 0
    user.save()
    return make_account(
        user,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )


@pytest.mark.django_db
def test_a_sent_message_whose_sent_copy_cannot_be_stored_is_not_sent_again(
    alice, smtp_server, monkeypatch
):
    server = smtp_server()
    account = sending_account(alice, server)
    # A part the parser finds in the text (uuencoded) is a file of the Sent copy's own,
    # which the queued message does not have: it must be written, and cannot be.
    uuencoded = binascii.b2a_uu(b"hello uu world\n" * 3).decode()
    body = f"본문\nbegin 644 note.txt\n{uuencoded}`\nend\n"
    draft = Outgoing.objects.create(
        owner=alice, account=account, to="bob@example.test", subject="보존", body=body
    )
    queued = outbox.queue_for_sending(draft)
    with monkeypatch.context() as patch:
        fail_writes(patch, errno.EROFS)
        outbox.deliver(queued.pk)

    sent = Outgoing.objects.get(pk=queued.pk)
    assert sent.status == OutgoingStatus.SENT and sent.sent_at is not None
    assert sent.sent_message is None
    assert "read-only" in sent.last_error_text
    assert len(server.messages) == 1
    assert outbox.deliver(queued.pk) == "nothing to do"  # never sent again
    assert outbox.due_for_delivery() == []
    assert len(server.messages) == 1
    assert not Message.objects.filter(folder=Folder.SENT).exists()

    assert outbox.store_missing_sent_copies() == 1  # the sweep, storage writable again

    sent.refresh_from_db()
    assert sent.sent_message is not None and sent.last_error == ""
    assert sent.sent_message.folder == Folder.SENT
    assert sent.sent_message.raw_file.name == sent.raw_file.name  # the exact bytes sent
    assert outbox.store_missing_sent_copies() == 0


@pytest.mark.django_db
def test_the_sent_copy_reuses_the_queued_files_without_writing_or_syncing_them(
    alice, smtp_server, monkeypatch
):
    server = smtp_server()
    account = sending_account(alice, server)
    draft = Outgoing.objects.create(
        owner=alice, account=account, to="bob@example.test", subject="사본", body="본문\n"
    )
    outbox.add_upload(draft, SimpleUploadedFile("보고서.pdf", b"%PDF-1.7 " * 500))
    queued = outbox.queue_for_sending(draft)
    synced = []
    monkeypatch.setattr(blobs, "_fsync_directory", synced.append)
    monkeypatch.setattr(blobs, "_fsync_file", synced.append)
    with monkeypatch.context() as patch:
        fail_writes(patch, errno.EROFS)  # any write or reuse of a file would fail
        outbox.deliver(queued.pk)

    sent = Outgoing.objects.get(pk=queued.pk)
    assert sent.status == OutgoingStatus.SENT and sent.last_error == ""
    copy = sent.sent_message
    assert copy.folder == Folder.SENT and copy.raw_file.name == sent.raw_file.name
    assert read(copy.raw_file.name) == server.messages[0].data  # the exact bytes sent
    [part] = copy.attachments.all()
    assert part.filename == "보고서.pdf" and part.file.name == sent.attachments.get().file.name
    assert synced == []  # made durable before the queued rows were committed


def test_the_sent_page_shows_a_sent_message_whose_copy_is_missing_to_its_owner_only(
    alice_client, client, alice, bob, alice_account
):
    Outgoing.objects.create(
        owner=alice,
        account=alice_account,
        to="bob@example.test",
        subject="copy missing",
        status=OutgoingStatus.SENT,
        sent_at=timezone.now(),
        last_error=wording.record(wording.SENT_COPY_NOT_STORED, storage="storage-full"),
    )
    page = alice_client.get(reverse("folder", args=["sent"])).content.decode()
    assert "copy missing" in page
    assert "Sent, but storage is full" in page
    assert "cancel" not in page.split("copy missing")[1].split("</li>")[0].lower()

    client.force_login(bob)
    assert "copy missing" not in client.get(reverse("folder", args=["sent"])).content.decode()


@pytest.mark.django_db
def test_uploads_and_outgoing_bytes_are_synced_and_in_place_before_their_rows(
    alice, alice_account, monkeypatch
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection as db

    events = []
    real_fsync, real_replace = blobs.os.fsync, blobs.os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(source, target):
        events.append(("rename", target))
        return real_replace(source, target)

    def statements(execute, sql, params, many, context):
        if sql.startswith(("INSERT", "UPDATE")):
            events.append(("sql", sql.split(" SET ")[0].split(" (")[0]))
        return execute(sql, params, many, context)

    monkeypatch.setattr(blobs.os, "fsync", fsync)
    monkeypatch.setattr(blobs.os, "replace", replace)
    alice.undo_send_seconds = 0
    alice.save()
    with db.execute_wrapper(statements):
        attachment = outbox.attach_upload(
            alice,
            None,
            SimpleUploadedFile("계약서.pdf", b"%PDF upload bytes" * 100, "application/pdf"),
            account=alice_account,
        )
        draft = attachment.outgoing
        Outgoing.objects.filter(pk=draft.pk).update(to="bob@example.test", subject="s")
        queued = outbox.queue_for_sending(draft)

    media = os.path.realpath(settings.MEDIA_ROOT)
    for name, row in [
        (attachment.file.name, 'INSERT INTO "mailbox_outgoingattachment"'),
        (queued.raw_file.name, 'UPDATE "mailbox_outgoing"'),
    ]:
        final = os.path.join(media, name)
        synced = events.index(
            next(e for e in events if e[0] == "fsync" and e[1].startswith(final + "."))
        )
        renamed = events.index(("rename", final))
        directory = events.index(("fsync", os.path.dirname(final)), renamed)
        stored = max(i for i, e in enumerate(events) if e == ("sql", row))
        assert synced < renamed < directory < stored
        assert read(name)  # in place
