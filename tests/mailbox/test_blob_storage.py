"""Content-addressed blobs: written once, atomically, with the configured permissions."""

import hashlib
import os
import stat

import pytest

from mailbox import blobs, ingest


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def test_blob_is_named_by_its_sha256_and_holds_the_bytes(media):
    data = "첨부 파일 bytes".encode() * 1000
    name, digest = ingest.store_blob("attachments", data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert name == f"attachments/{digest[:2]}/{digest}"
    assert (media / name).read_bytes() == data


def test_the_same_bytes_are_stored_once_and_not_rewritten(media):
    first, _ = ingest.store_blob("raw", b"same message", ".eml")
    path = media / first
    inode = path.stat().st_ino
    os.utime(path, (1_000_000, 1_000_000))
    second, _ = ingest.store_blob("raw", b"same message", ".eml")
    assert second == first
    assert path.stat().st_ino == inode  # the existing file was not rewritten,
    assert path.stat().st_mtime > 1_000_000  # only touched: garbage collection keeps it
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_failed_write_leaves_neither_a_blob_nor_a_temporary_file(media, monkeypatch):
    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(blobs.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        ingest.store_blob("raw", b"lost in the crash", ".eml")
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_blobs_get_the_configured_file_permissions(media, settings):
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    name, _ = ingest.store_blob("raw", b"private mail", ".eml")
    assert stat.S_IMODE((media / name).stat().st_mode) == 0o640
