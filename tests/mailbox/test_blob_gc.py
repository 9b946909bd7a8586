"""gc_blobs deletes only unreferenced blobs past the grace period; check_storage reports
every row whose file is missing, of another size or other bytes, and deletes nothing."""

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import SignatureImage
from mailbox import blobs, blobs_gc, ingest
from mailbox.models import Message, Outgoing, OutgoingAttachment
from testkit.mailfactory import mail

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def age(media: Path, name: str, seconds: float) -> None:
    """Make a blob look `seconds` old."""
    then = time.time() - seconds
    os.utime(media / name, (then, then))


def stored_message(account, subject: str, attachment: bytes | None = None) -> Message:
    raw = mail(
        subject=subject,
        attachments=[("a.bin", "application/octet-stream", attachment)] if attachment else [],
    )
    return ingest.store_message(account, raw, uidl=f"uid-{subject}")


def test_gc_deletes_old_unreferenced_blobs_and_keeps_referenced_and_young_ones(
    alice_account, media, capsys
):
    kept = stored_message(alice_account, "kept", b"kept attachment" * 50)
    gone = stored_message(alice_account, "gone", b"gone attachment" * 50)
    gone_names = [gone.raw_file.name, gone.attachments.get().file.name]
    gone_bytes = sum((media / n).stat().st_size for n in gone_names)
    kept_names = [kept.raw_file.name, kept.attachments.get().file.name]
    gone.delete()  # its blobs stay: content-addressed files may be shared
    young, _ = ingest.store_blob("raw", b"written by a poll whose row is not committed yet")
    stray = media / "raw" / "ab" / f"ab{'0' * 62}.eml.1234{blobs.TEMPORARY_SUFFIX}"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half a message from a killed poll")
    for name in [*kept_names, *gone_names, stray.relative_to(media).as_posix()]:
        age(media, name, 2 * DAY)

    call_command("gc_blobs", "--dry-run")
    assert "would delete 3 unreferenced" in capsys.readouterr().out
    assert all((media / n).exists() for n in gone_names) and stray.exists()

    result = blobs_gc.collect_garbage()

    assert result.deleted == 3
    assert result.deleted_bytes == gone_bytes + len(b"half a message from a killed poll")
    assert not any((media / n).exists() for n in gone_names) and not stray.exists()
    assert all((media / n).exists() for n in kept_names)
    assert (media / young).exists() and result.young == 1


def test_gc_keeps_a_blob_that_a_new_row_reuses_during_the_grace_period(alice_account, media):
    first = stored_message(alice_account, "again")
    name = first.raw_file.name
    first.delete()
    age(media, name, 30 * DAY)
    # The same bytes arrive again: the poll finds the file and touches it before its
    # row commits, so a collection that runs now keeps it.
    ingest.store_blob("raw", (media / name).read_bytes(), ".eml")

    assert blobs_gc.collect_garbage().deleted == 0
    assert (media / name).exists()


def test_gc_keeps_blobs_of_drafts_outgoing_and_signature_images(alice, alice_account, media):
    draft = Outgoing.objects.create(owner=alice, account=alice_account, subject="draft")
    attachment_name, digest = ingest.store_blob("attachments", b"draft attachment")
    OutgoingAttachment.objects.create(
        outgoing=draft, filename="a.txt", size=16, sha256=digest, file=attachment_name
    )
    raw_name, _ = ingest.store_blob("raw", b"queued bytes", ".eml")
    Outgoing.objects.filter(pk=draft.pk).update(raw_file=raw_name, size=12)
    image_name, image_digest = ingest.store_blob("attachments", b"\x89PNG signature")
    SignatureImage.objects.create(
        account=alice_account,
        filename="s.png",
        content_type="image/png",
        size=15,
        sha256=image_digest,
        file=image_name,
    )
    for name in (attachment_name, raw_name, image_name):
        age(media, name, 10 * DAY)

    assert blobs_gc.collect_garbage().deleted == 0


def test_beat_runs_blob_gc_weekly_through_a_registered_task():
    from webmail.celery import app

    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("gc_blobs")]
    assert entry["schedule"] == 7 * DAY
    assert entry["task"] in app.tasks


def test_check_storage_reports_missing_short_and_altered_files_and_deletes_nothing(
    alice_account, media, capsys
):
    good = stored_message(alice_account, "good", b"good attachment" * 10)
    missing = stored_message(alice_account, "missing")
    short = stored_message(alice_account, "short")
    altered = stored_message(alice_account, "altered", b"original attachment bytes")
    call_command("check_storage")
    assert "0 problems" in capsys.readouterr().out

    (media / missing.raw_file.name).unlink()
    path = media / short.raw_file.name
    path.write_bytes(path.read_bytes()[:10])  # what a power cut without fsync could leave
    attachment = altered.attachments.get()
    data = (media / attachment.file.name).read_bytes()
    (media / attachment.file.name).write_bytes(data[::-1])  # same size, other bytes

    with pytest.raises(CommandError):
        call_command("check_storage")
    out = capsys.readouterr().out
    assert f"Message {missing.pk}: {missing.raw_file.name}: missing" in out
    assert f"Message {short.pk}: {short.raw_file.name}: size 10 != recorded {short.size}" in out
    assert f"Attachment {attachment.pk}: {attachment.file.name}: sha256 differs" in out
    assert good.raw_file.name not in out
    assert "3 problems" in out
    assert path.exists() and (media / attachment.file.name).exists()  # reported, not deleted
    quick = blobs_gc.check_storage(hashes=False)  # sizes only: the altered one passes
    assert {(p.model, p.pk) for p in quick.problems} == {
        ("Message", missing.pk),
        ("Message", short.pk),
    }
