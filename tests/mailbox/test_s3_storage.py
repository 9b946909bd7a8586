"""WEBMAIL_MEDIA_STORAGE=s3: receive, read, send, export, blob GC and /healthz against a
real S3 API server.

The server is moto's standalone server on a loopback port (testkit.s3_server); the app
talks to it through django-storages' S3 backend, configured as settings.py does. Mail
comes from a real Dovecot and goes out through a real SMTP server (aiosmtpd).
"""

import base64
import hashlib
import io
import json
import logging
import os
import time
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts import mail_errors
from mailbox import ingest, outbox
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from mailcore import pop3
from testkit import mailfactory as mf
from testkit.mailfactory import mail
from testkit.s3_server import use_s3
from tests.conftest import dovecot_account, make_account

MB = 1024 * 1024
PDF = b"%PDF-1.4 S3 stored bytes\x00\xff" * 4000


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def local_files() -> list[Path]:
    """Every file in the local media folder (MEDIA_ROOT), which S3 mode must not use."""
    return [p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def received(alice, dovecot, pop3_user, raw: bytes, **fields) -> Message:
    pop3_user.deliver(raw)
    account = dovecot_account(alice, dovecot, pop3_user, **fields)
    result = ingest.poll_account(account.pk)
    assert (result.new, result.error) == (1, "")
    return Message.objects.get(account=account)


# Receive -------------------------------------------------------------------------------


@pytest.mark.dovecot
def test_poll_stores_raw_message_and_attachments_as_content_addressed_objects(
    alice, dovecot, pop3_user, s3_media
):
    delivered = pop3_user.deliver(
        mail(subject="S3 보고서", attachments=[("보고서.pdf", "application/pdf", PDF)])
    )
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    before = set(local_files())

    result = ingest.poll_account(account.pk)

    assert (result.new, result.error, result.deleted) == (1, "", 1)
    message = Message.objects.get(account=account)
    digest = hashlib.sha256(delivered.wire).hexdigest()
    assert message.raw_file.name == f"raw/{digest[:2]}/{digest}.eml"
    assert s3_media.object_bytes(message.raw_file.name) == delivered.wire
    attachment = message.attachments.get()
    pdf_digest = hashlib.sha256(PDF).hexdigest()
    assert attachment.file.name == f"attachments/{pdf_digest[:2]}/{pdf_digest}"
    assert s3_media.object_bytes(attachment.file.name) == PDF
    assert s3_media.keys() == sorted([message.raw_file.name, attachment.file.name])
    assert set(local_files()) == before  # nothing went to the local media folder
    assert pop3_user.server_message_count() == 0


@pytest.mark.dovecot
def test_objects_are_complete_before_the_commit_and_the_commit_before_dele(
    alice, dovecot, pop3_user, s3_media, monkeypatch
):
    delivered = pop3_user.deliver(mail(subject="order", attachments=[("a.pdf", "x/y", PDF)]))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    digest = hashlib.sha256(delivered.wire).hexdigest()
    raw_name = f"raw/{digest[:2]}/{digest}.eml"
    seen = []

    real_assign = ingest.assign_threads

    def assign_inside_the_transaction(messages, *args, **kwargs):
        # Runs inside the transaction that stores the rows: the objects must be whole.
        seen.append(("commit", s3_media.object_bytes(raw_name) == delivered.wire))
        return real_assign(messages, *args, **kwargs)

    real_dele = pop3.POP3Session.dele

    def dele(session, number):
        seen.append(("dele", Message.objects.filter(account=account, uidl=delivered.uid).exists()))
        return real_dele(session, number)

    monkeypatch.setattr(ingest, "assign_threads", assign_inside_the_transaction)
    monkeypatch.setattr(pop3.POP3Session, "dele", dele)

    assert ingest.poll_account(account.pk).new == 1
    assert seen == [("commit", True), ("dele", True)]


@pytest.mark.dovecot
def test_s3_endpoint_down_leaves_the_message_on_the_server_for_the_next_poll(
    alice, dovecot, pop3_user, s3_media, settings, unused_port
):
    delivered = pop3_user.deliver(mail(subject="kept while S3 is down"))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    server = s3_media.server
    down = f"http://127.0.0.1:{unused_port}"  # nothing listens there: connection refused
    use_s3(settings, down, s3_media.bucket, server.access_key, server.secret_key)

    failed = ingest.poll_account(account.pk)

    assert failed.new == 0
    assert json.loads(failed.error) == {"code": mail_errors.STORAGE_FAILED}
    assert not Message.objects.filter(account=account).exists()
    assert pop3_user.server_message_count() == 1  # nothing DELEd
    account.refresh_from_db()
    assert "left on the server" in account.last_poll_error_text

    use_s3(settings, server.endpoint, s3_media.bucket, server.access_key, server.secret_key)
    retried = ingest.poll_account(account.pk)

    assert (retried.new, retried.error, retried.deleted) == (1, "", 1)
    message = Message.objects.get(account=account)
    assert message.uidl == delivered.uid
    assert s3_media.object_bytes(message.raw_file.name) == delivered.wire
    assert pop3_user.server_message_count() == 0


# Read ----------------------------------------------------------------------------------


@pytest.mark.dovecot
def test_attachment_download_streams_the_object_with_the_safe_headers(
    alice, bob, client, dovecot, pop3_user, s3_media
):
    message = received(
        alice, dovecot, pop3_user, mail(attachments=[("보고서 2026.pdf", "application/pdf", PDF)])
    )
    attachment = message.attachments.get()
    url = reverse("download_attachment", args=[message.pk, attachment.pk])

    client.force_login(alice)
    response = client.get(url)

    assert response.status_code == 200
    assert response.streaming
    assert body(response) == PDF
    assert response["Content-Length"] == str(len(PDF))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=utf-8''%EB%B3%B4%EA%B3%A0%EC%84%9C%202026.pdf"
        in (response["Content-Disposition"])
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Referrer-Policy"] == "no-referrer"

    preview = client.get(url + "?preview=1")
    assert preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"].startswith("inline")
    assert body(preview) == PDF

    client.force_login(bob)
    assert client.get(url).status_code == 404


@pytest.mark.dovecot
def test_original_source_zip_and_inline_images_are_read_from_s3(
    alice, bob, client, dovecot, pop3_user, s3_media
):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    raw = mf.message(
        mf.multipart(
            "mixed",
            mf.multipart(
                "related",
                mf.text_part('<p>사진 <img src="cid:logo@x"></p>', "html"),
                mf.attachment_part(
                    png, "logo.png", "image/png", disposition=None, content_id="logo@x"
                ),
            ),
            mf.attachment_part(PDF, "보고서.pdf", "application/pdf"),
            mf.attachment_part(b"second file", "notes.txt", "text/plain"),
        ),
        subject="S3 읽기",
    )
    message = received(alice, dovecot, pop3_user, raw)
    stored = s3_media.object_bytes(message.raw_file.name)
    client.force_login(alice)

    eml = client.get(reverse("download_eml", args=[message.pk]))
    assert body(eml) == stored
    assert eml["Content-Length"] == str(len(stored))
    assert eml["Content-Disposition"].startswith("attachment;")
    assert eml["Content-Security-Policy"].startswith("sandbox")

    source = client.get(reverse("view_source", args=[message.pk]))
    assert source["Content-Type"] == "text/plain; charset=utf-8"
    assert body(source) == stored.decode("utf-8", "replace").encode()

    archive = client.get(reverse("download_all", args=[message.pk]))
    assert archive.streaming
    assert archive["Content-Type"] == "application/zip"
    assert archive["Content-Security-Policy"].startswith("sandbox")
    zipped = zipfile.ZipFile(io.BytesIO(body(archive)))
    assert zipped.namelist() == ["보고서.pdf", "notes.txt"]
    assert zipped.read("보고서.pdf") == PDF
    assert zipped.testzip() is None

    frame = client.get(reverse("message_body", args=[message.pk]))
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in frame.content.decode()

    client.force_login(bob)
    for name in ("download_eml", "view_source", "download_all", "message_body"):
        assert client.get(reverse(name, args=[message.pk])).status_code == 404, name


def test_a_25_mb_download_streams_with_flat_memory(alice, alice_account, client, s3_media):
    data = os.urandom(25 * MB)
    message = ingest.store_message(
        alice_account, mail(attachments=[("big.bin", "application/octet-stream", data)]), "u1"
    )
    attachment = message.attachments.get()
    client.force_login(alice)
    response = client.get(reverse("download_attachment", args=[message.pk, attachment.pk]))
    digest = hashlib.sha256()
    del data
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
    assert digest.hexdigest() == attachment.sha256
    assert peak < 4 * MB, f"peak {peak / MB:.1f} MB while streaming 25 MB"


# Send ----------------------------------------------------------------------------------


def test_sent_bytes_and_uploaded_attachment_are_stored_in_s3(
    alice_client, alice, smtp_server, s3_media, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = make_account(
        alice,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        smtp_login="",
        smtp_password="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("compose"),
            {
                "account": account.pk,
                "to": "bob@example.test",
                "cc": "",
                "bcc": "",
                "subject": "S3 보내기",
                "body": "첨부합니다\n",
                "action": "send",
                "attachments": [io.BytesIO(PDF)],
            },
        )
    assert response.status_code == 302
    outgoing = Outgoing.objects.get(owner=alice)
    assert outgoing.status == OutgoingStatus.SENT
    [delivered] = server.messages
    assert s3_media.object_bytes(outgoing.raw_file.name) == delivered.data
    sent = outgoing.sent_message
    assert sent.folder == Folder.SENT
    assert s3_media.object_bytes(sent.raw_file.name) == delivered.data
    [part] = outgoing.attachments.all()
    assert s3_media.object_bytes(part.file.name) == PDF


def test_a_25_mb_upload_goes_to_s3_with_flat_memory(alice, alice_account, s3_media):
    outgoing = Outgoing.objects.create(owner=alice, account=alice_account)
    upload = TemporaryUploadedFile("big.bin", "application/octet-stream", 25 * MB, None)
    block = os.urandom(MB)
    for _ in range(25):
        upload.write(block)
    upload.seek(0)
    default_storage.exists("warm-up")  # boto3 loads its S3 model once (~10 MB), not per file
    tracemalloc.start()
    try:
        attachment = outbox.add_upload(outgoing, upload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        upload.close()
    assert attachment.size == 25 * MB
    assert hashlib.sha256(s3_media.object_bytes(attachment.file.name)).hexdigest() == (
        attachment.sha256
    )
    # One PUT that reads the file as it sends it (webmail.object_storage): ~3 MB measured.
    assert peak < 6 * MB, f"peak {peak / MB:.1f} MB while uploading 25 MB"


# Export --------------------------------------------------------------------------------


def test_export_reads_the_originals_from_s3(alice, alice_account, bob, client, s3_media):
    raws = [mail(subject=f"export {i}", body=f"본문 {i}\n") for i in range(3)]
    for i, raw in enumerate(raws):
        ingest.store_message(alice_account, raw, f"uid-{i}")
    client.force_login(alice)

    response = client.get(reverse("export_folder"), {"folder": "inbox", "format": "eml-zip"})

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert sorted(archive.read(n) for n in archive.namelist()) == sorted(raws)
    client.force_login(bob)
    bob_export = client.get(reverse("export_folder"), {"folder": "inbox", "format": "eml-zip"})
    assert zipfile.ZipFile(io.BytesIO(body(bob_export))).namelist() == []


# Secrets -------------------------------------------------------------------------------


@pytest.mark.dovecot
def test_the_secret_key_is_never_logged(alice, client, dovecot, pop3_user, s3_media, caplog):
    caplog.set_level(logging.DEBUG)
    message = received(alice, dovecot, pop3_user, mail(attachments=[("a.pdf", "x/y", PDF)]))
    client.force_login(alice)
    attachment = message.attachments.get()
    body(client.get(reverse("download_attachment", args=[message.pk, attachment.pk])))
    assert "botocore" in caplog.text  # the S3 client did log, at DEBUG
    assert s3_media.server.secret_key not in caplog.text


def test_a_missing_object_is_a_file_not_found(s3_media):
    from mailbox import storage_io

    with pytest.raises(FileNotFoundError):
        storage_io.open_stream("raw/00/missing.eml")
    assert not default_storage.exists("raw/00/missing.eml")


# Reuse and garbage collection -------------------------------------------------------------


def test_reusing_a_stored_object_refreshes_its_age_instead_of_uploading_again(
    s3_media, monkeypatch
):
    from mailbox import storage_io

    name, _ = ingest.store_blob("attachments", PDF)
    client, key = s3_media.server.client(), name
    first = client.head_object(Bucket=s3_media.bucket, Key=key)["LastModified"]
    puts = []
    s3 = default_storage.connection.meta.client
    s3.meta.events.register("before-call.s3.PutObject", lambda **kw: puts.append(kw))
    time.sleep(1.1)  # Last-Modified has one-second resolution

    assert ingest.store_blob("attachments", PDF) == (name, hashlib.sha256(PDF).hexdigest())
    assert client.head_object(Bucket=s3_media.bucket, Key=key)["LastModified"] == first

    monkeypatch.setattr(storage_io, "TOUCH_AFTER", timedelta(0))
    ingest.store_blob("attachments", PDF)
    touched = client.head_object(Bucket=s3_media.bucket, Key=key)["LastModified"]
    assert touched > first  # blob GC's grace period starts again
    assert puts == []  # reused both times, never sent again
    assert s3_media.object_bytes(name) == PDF


def test_gc_blobs_and_check_storage_work_on_s3(alice_account, s3_media):
    message = ingest.store_message(
        alice_account, mail(attachments=[("a.pdf", "application/pdf", PDF)]), "kept"
    )
    attachment = message.attachments.get()
    client = s3_media.server.client()
    orphan = "attachments/00/" + "0" * 64
    client.put_object(Bucket=s3_media.bucket, Key=orphan, Body=b"no row refers to me")

    out = io.StringIO()
    call_command("gc_blobs", "--grace-hours", "0", stdout=out)

    assert "deleted 1 unreferenced" in out.getvalue()
    assert s3_media.keys() == sorted([message.raw_file.name, attachment.file.name])
    out = io.StringIO()
    call_command("check_storage", stdout=out)
    assert "2 files checked, 0 problems" in out.getvalue()

    client.put_object(Bucket=s3_media.bucket, Key=attachment.file.name, Body=PDF[:-1] + b"!")
    client.delete_object(Bucket=s3_media.bucket, Key=message.raw_file.name)
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 stored files"):
        call_command("check_storage", stdout=out)
    assert f"Message {message.pk}: {message.raw_file.name}: missing" in out.getvalue()
    assert f"Attachment {attachment.pk}: {attachment.file.name}: sha256 differs" in (out.getvalue())


def test_healthz_checks_the_bucket(client, s3_media, settings, unused_port):
    assert json.loads(client.get("/healthz").content)["checks"]["storage"] == "ok"
    assert s3_media.keys() == []  # the probe object was deleted
    server = s3_media.server
    down = f"http://127.0.0.1:{unused_port}"
    use_s3(settings, down, s3_media.bucket, server.access_key, server.secret_key)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["storage"] == "fail: EndpointConnectionError"
    assert server.secret_key not in response.content.decode()


@pytest.mark.dovecot
def test_a_poll_reuses_the_s3_client_across_its_threads(
    alice, dovecot, pop3_user, s3_media, monkeypatch
):
    """A poll downloads and stores in a new thread each time; a boto3 client of its own
    there would cost ~140 ms a poll. The bucket's client (thread-safe) serves them all."""
    from storages.backends.s3 import S3Storage

    pop3_user.deliver(mail(subject="first", attachments=[("a.pdf", "x/y", PDF)]))
    account = dovecot_account(alice, dovecot, pop3_user)
    assert ingest.poll_account(account.pk).new == 1
    sessions = []
    real = S3Storage._create_session
    monkeypatch.setattr(S3Storage, "_create_session", lambda s: sessions.append(1) or real(s))
    pop3_user.deliver(mail(subject="second", attachments=[("b.pdf", "x/y", PDF + b"2")]))

    assert ingest.poll_account(account.pk).new == 1
    assert sessions == []
