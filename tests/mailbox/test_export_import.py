"""Export (mbox, zip of .eml, whole account) and import (upload, task, command): byte-exact
both ways, deduplicated by the raw bytes, streamed, scoped to the owner."""

import hashlib
import io
import types
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from mailbox import export, importing, ingest
from mailbox.models import Folder, ImportStatus, MailImport, Message, UserFolder
from mailcore.mbox import read_mbox
from testkit import mailfactory as mf
from tests.conftest import make_account

pytestmark = pytest.mark.django_db


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def corpus(n: int) -> list[bytes]:
    """n distinct messages: CRLF and LF, "From " lines in bodies, Korean subjects,
    an attachment, one without a final line break, and one that is not mail at all."""
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            raw = mf.plain(
                f"회의 안내 {i}", f"안녕하세요 {i}.\n", message_id=f"<k{i}@example.test>"
            )
        elif kind == 1:
            raw = mf.plain(f"LF {i}", f"line {i}\n", message_id=f"<lf{i}@example.test>")
            raw = raw.replace(b"\r\n", b"\n")
        elif kind == 2:
            body = f"From the desk of {i}\n>From quoted\n>>From twice\nFrom \n"
            raw = mf.plain(f"From lines {i}", body, message_id=f"<from{i}@example.test>")
        elif kind == 3:
            raw = mf.mail(f"Standard library {i}", f"From here {i}\n")
        else:
            raw = mf.with_attachments(
                f"See attached {i}.\n", [("견적서.txt", "text/plain", f"data {i}".encode())]
            ).replace(b"<test-1@example.com>", f"<att{i}@example.test>".encode())
        out.append(raw)
    if n > 7:
        out[7] = out[7].rstrip(b"\r\n")  # no final line break
    if n > 11:
        out[11] = mf.random_bytes(2000, seed=11)  # not a message: stored and flagged
    return out


def store_all(account, raws: list[bytes], folder: str = Folder.INBOX) -> None:
    for number, raw in enumerate(raws):
        ingest.store_message(account, raw, f"uid-{number}", folder=folder)


def stored_hashes(user) -> list[str]:
    return sorted(Message.objects.filter(owner=user).values_list("raw_sha256", flat=True))


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def upload(client, data: bytes, name: str, **fields):
    form = {"file": SimpleUploadedFile(name, data), "folder": "inbox", **fields}
    return client.post(reverse("import_export"), form)


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


# --------------------------------------------------------------------------- round trips


@pytest.mark.slow
def test_a_thousand_messages_go_out_and_back_in_byte_exact_with_no_duplicates_the_second_time(
    alice, alice_account, bob, bob_account, charlie, client, django_capture_on_commit_callbacks
):
    raws = corpus(1000)
    store_all(alice_account, raws)
    make_account(charlie)
    client.force_login(alice)
    exports = {
        fmt: body_of(client.get(reverse("export_folder"), {"folder": "inbox", "format": fmt}))
        for fmt in ("mbox", "eml-zip")
    }

    for user, fmt, name in [(bob, "mbox", "inbox.mbox"), (charlie, "eml-zip", "inbox.zip")]:
        client.force_login(user)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                upload(client, exports[fmt], name)

        assert stored_hashes(user) == sorted(sha(raw) for raw in raws), fmt
        first, second = MailImport.objects.filter(owner=user).order_by("pk")
        assert (first.status, first.imported, first.duplicates) == (ImportStatus.DONE, 1000, 0)
        assert (first.malformed, second.imported, second.duplicates) == (1, 0, 1000)
        for message in Message.objects.filter(owner=user).only("raw_file", "raw_sha256"):
            with default_storage.open(message.raw_file.name, "rb") as f:
                assert sha(f.read()) == message.raw_sha256


def test_mbox_export_quotes_from_lines_and_reads_back_to_the_same_bytes(alice, alice_account):
    raws = corpus(10)
    store_all(alice_account, raws)
    messages, _ = export.folder_messages(alice, "inbox")

    data = b"".join(export.export(alice, messages, "mbox", "Inbox").chunks)

    assert b"\n>From the desk of 2" in data.replace(b"\r\n", b"\n")
    assert sorted(sha(m.raw) for m in read_mbox(io.BytesIO(data))) == sorted(map(sha, raws))


def test_eml_zip_names_messages_by_number_date_and_subject(alice, alice_account):
    store_all(alice_account, [mf.plain("회의 안내", message_id="<a@x>")])

    messages, _ = export.folder_messages(alice, "inbox")
    data = b"".join(export.export(alice, messages, "eml-zip", "Inbox").chunks)

    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["000001 2024-03-05 010000 회의 안내.eml"]


# --------------------------------------------------------------------------- downloads


def test_folder_download_is_a_stream_with_a_safe_korean_file_name(alice_client, alice_account):
    store_all(alice_account, corpus(3))

    response = alice_client.get(reverse("export_folder"), {"folder": "inbox", "format": "mbox"})

    assert response.streaming
    assert isinstance(response.streaming_content, types.GeneratorType | map)
    assert response["Content-Type"] == "application/mbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Inbox.mbox"')
    assert len(list(read_mbox(io.BytesIO(body_of(response))))) == 3


def test_folder_download_in_korean_names_the_file_with_rfc_5987(alice, alice_account, client):
    alice.language = "ko"
    alice.save()
    client.force_login(alice)
    store_all(alice_account, corpus(1))

    response = client.get(reverse("export_folder"), {"folder": "inbox"})

    quoted = "%EB%B0%9B%EC%9D%80%ED%8E%B8%EC%A7%80%ED%95%A8.mbox"  # 받은편지함.mbox
    assert response["Content-Disposition"].endswith(f"filename*=utf-8''{quoted}")


def test_export_reads_the_messages_lazily(alice, alice_account, monkeypatch):
    store_all(alice_account, corpus(5))
    reads = []
    real = export.read_raw
    monkeypatch.setattr(export, "read_raw", lambda m: reads.append(m.pk) or real(m))
    messages, _ = export.folder_messages(alice, "inbox")

    chunks = export.export(alice, messages, "mbox", "Inbox").chunks
    assert reads == []
    next(chunks)
    assert len(reads) == 1


def test_search_download_holds_only_what_the_search_finds(alice_client, alice_account):
    store_all(alice_account, corpus(10))

    response = alice_client.get(reverse("export_folder"), {"folder": "inbox", "q": "Standard"})

    subjects = [m.raw for m in read_mbox(io.BytesIO(body_of(response)))]
    assert len(subjects) == 2
    assert all(b"Standard library" in raw for raw in subjects)


def test_own_folder_downloads_its_messages(alice, alice_client, alice_account):
    work = UserFolder.objects.create(owner=alice, name="Work")
    store_all(alice_account, corpus(3))
    Message.objects.filter(owner=alice).update(folder=Folder.USER, user_folder=work)

    response = alice_client.get(reverse("export_folder"), {"folder": f"user:{work.pk}"})

    assert 'filename="Work.mbox"' in response["Content-Disposition"]
    assert len(list(read_mbox(io.BytesIO(body_of(response))))) == 3


def test_selection_download_holds_the_owners_ticked_messages_only(
    alice, alice_client, alice_account, bob_account
):
    store_all(alice_account, corpus(4))
    ingest.store_message(bob_account, mf.plain("Bob's secret", message_id="<b@x>"), "b1")
    mine = list(Message.objects.filter(owner=alice).values_list("pk", flat=True)[:2])
    theirs = Message.objects.get(subject="Bob's secret").pk

    response = alice_client.post(
        reverse("export_selection"), {"ids": [*mine, theirs], "format": "eml-zip"}
    )

    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    assert len(archive.namelist()) == 2
    assert not any(b"Bob's secret" in archive.read(n) for n in archive.namelist())


def test_selection_download_without_a_selection_goes_back_with_a_message(alice_client):
    response = alice_client.post(reverse("export_selection"), {"folder": "inbox"}, follow=True)

    assert "Select at least one message." in response.content.decode()


def test_someone_elses_folder_is_not_found(alice_client, bob):
    theirs = UserFolder.objects.create(owner=bob, name="Private")

    response = alice_client.get(reverse("export_folder"), {"folder": f"user:{theirs.pk}"})

    assert response.status_code == 404


def test_downloads_need_a_login(client):
    response = client.get(reverse("export_folder"), {"folder": "inbox"})

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_whole_account_mbox_archive_has_one_mbox_per_folder(alice, alice_client, alice_account):
    work = UserFolder.objects.create(owner=alice, name="Work")
    clients = UserFolder.objects.create(owner=alice, name="Clients", parent=work)
    raws = corpus(6)
    store_all(alice_account, raws[:3])
    for number, raw in enumerate(raws[3:]):
        ingest.store_message(alice_account, raw, f"o{number}", folder=Folder.ARCHIVE)
    Message.objects.filter(owner=alice, folder=Folder.ARCHIVE, uidl="o0").update(
        folder=Folder.USER, user_folder=clients
    )

    response = alice_client.get(reverse("export_account"), {"format": "mbox"})
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))

    assert archive.namelist() == ["Inbox.mbox", "Archive.mbox", "Work/Clients.mbox"]
    counts = [len(list(read_mbox(archive.open(n)))) for n in archive.namelist()]
    assert counts == [3, 2, 1]


def test_whole_account_eml_archive_puts_each_message_under_its_folder(
    alice, alice_client, alice_account
):
    store_all(alice_account, [mf.plain("One", message_id="<1@x>")])
    ingest.store_message(alice_account, mf.plain("Two", message_id="<2@x>"), "s", folder="sent")

    response = alice_client.get(reverse("export_account"), {"format": "eml-zip"})

    names = zipfile.ZipFile(io.BytesIO(body_of(response))).namelist()
    assert [n.split("/")[0] for n in names] == ["Inbox", "Sent"]


# --------------------------------------------------------------------------- import


def test_import_page_shows_the_form_with_the_users_account(alice_client, alice_account):
    response = alice_client.get(reverse("import_export"))

    assert response.status_code == 200
    assert alice_account.email in response.content.decode()


def test_import_without_an_account_asks_for_one_first(alice_client):
    response = alice_client.get(reverse("import_export"))

    assert "Add a mail account" in response.content.decode()


def test_upload_runs_the_task_and_shows_the_summary(
    alice, alice_client, alice_account, django_capture_on_commit_callbacks
):
    data = b"".join(
        b"From a@example.test Tue Mar  5 01:00:00 2024\n" + raw + b"\n"
        for raw in [mf.plain("A", message_id="<a@x>"), mf.plain("B", message_id="<b@x>")] * 2
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice_client, data, "old.mbox")
    page = alice_client.get(response["Location"])

    mail_import = MailImport.objects.get(owner=alice)
    assert response["Location"] == reverse("import_status", args=[mail_import.pk])
    assert (mail_import.imported, mail_import.duplicates) == (2, 2)
    assert mail_import.done_bytes == mail_import.total_bytes == len(data)
    assert not mail_import.file  # the upload is removed once imported
    text = page.content.decode()
    assert 'data-count="imported">2<' in text
    assert 'data-count="duplicates">2<' in text
    assert "hx-trigger" not in text  # finished: the page stops asking


def test_import_status_polls_while_the_import_runs(alice, alice_client, alice_account):
    mail_import = MailImport.objects.create(
        owner=alice, account=alice_account, filename="x.mbox", total_bytes=100, done_bytes=40
    )

    response = alice_client.get(
        reverse("import_status", args=[mail_import.pk]), HTTP_HX_REQUEST="true"
    )

    text = response.content.decode()
    assert 'hx-trigger="every 1s"' in text
    assert '<progress id="import-progress" max="100" value="40"' in text


def test_someone_elses_import_is_not_found(alice_client, bob, bob_account):
    theirs = MailImport.objects.create(owner=bob, account=bob_account, filename="x.mbox")

    response = alice_client.get(reverse("import_status", args=[theirs.pk]))

    assert response.status_code == 404


def test_import_into_someone_elses_folder_or_account_is_refused(
    alice, alice_client, alice_account, bob, bob_account
):
    theirs = UserFolder.objects.create(owner=bob, name="Private")

    into_folder = upload(alice_client, mf.plain(), "a.eml", folder=f"user:{theirs.pk}")
    into_account = upload(alice_client, mf.plain(), "a.eml", account=bob_account.pk)

    assert into_folder.status_code == into_account.status_code == 200  # the form, with errors
    assert not MailImport.objects.exists()


def test_import_into_an_own_folder(alice, alice_account, tmp_path):
    work = UserFolder.objects.create(owner=alice, name="Work")
    path = tmp_path / "one.eml"
    path.write_bytes(mf.plain("Into Work"))

    importing.import_path(alice, alice_account, str(path), user_folder=work)

    message = Message.objects.get(owner=alice)
    assert (message.folder, message.user_folder) == (Folder.USER, work)
    assert message.seen


def test_text_before_the_first_from_line_is_stored_and_flagged(alice, alice_account, tmp_path):
    path = tmp_path / "odd.mbox"
    path.write_bytes(
        b"garbage that is no mail\n\nFrom x Tue Mar  5 01:00:00 2024\n" + mf.plain() + b"\n"
    )

    result = importing.import_path(alice, alice_account, str(path))

    assert (result.imported, result.malformed) == (2, 1)
    flagged = Message.objects.get(owner=alice, parse_error=True)
    with default_storage.open(flagged.raw_file.name, "rb") as f:
        assert f.read() == b"garbage that is no mail\n\n"


def test_zip_members_that_are_not_mail_are_skipped_with_their_reason(
    alice, alice_account, tmp_path
):
    path = tmp_path / "mail.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.eml", mf.plain("A", message_id="<a@x>"))
        archive.writestr("notes.txt", b"hello")
        archive.writestr("__MACOSX/._a.eml", b"\x00")

    result = importing.import_path(alice, alice_account, str(path))

    assert result.imported == 1
    assert [(s["name"], importing.skip_reason_text(s["reason"])) for s in result.skipped] == [
        ("notes.txt", "not an .eml file"),
        ("__MACOSX/._a.eml", "macOS metadata"),
    ]


def test_a_file_that_claims_to_be_a_zip_but_is_not_fails_with_a_reason(
    alice, alice_account, tmp_path
):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 not really")

    result = importing.import_path(alice, alice_account, str(path))

    assert result.status == ImportStatus.FAILED
    assert importing.error_text(result.error) == "The file is not a zip archive that can be read."


def test_import_task_is_idempotent_when_redelivered(alice, alice_account):
    mail_import = importing.create_import(
        alice, alice_account, io.BytesIO(mf.plain()), "one.eml", len(mf.plain())
    )
    MailImport.objects.filter(pk=mail_import.pk).update(status=ImportStatus.RUNNING)
    path = mail_import.file.name
    with default_storage.open(path, "rb") as f:
        copy = f.read()

    importing.run_import(mail_import.pk)
    default_storage.save(path, io.BytesIO(copy))  # the same upload, delivered again
    MailImport.objects.filter(pk=mail_import.pk).update(status=ImportStatus.RUNNING, file=path)
    importing.run_import(mail_import.pk)

    assert Message.objects.filter(owner=alice).count() == 1


def test_imported_mail_asks_for_no_read_receipt(alice, alice_account, tmp_path):
    path = tmp_path / "receipt.eml"
    path.write_bytes(mf.plain(headers=[("Disposition-Notification-To", "a@example.test")]))

    importing.import_path(alice, alice_account, str(path))

    assert Message.objects.get(owner=alice).read_receipt_to == ""


# --------------------------------------------------------------------------- commands


def test_export_and_import_commands_move_a_folder_between_users(
    alice, alice_account, bob, bob_account, tmp_path
):
    raws = corpus(20)
    store_all(alice_account, raws)
    out = tmp_path / "inbox.mbox"

    call_command("export_mail", "alice", "--folder", "Inbox", "--format", "mbox", "-o", str(out))
    printed = io.StringIO()
    call_command("import_mail", "bob", str(out), "--folder", "archive", stdout=printed)

    assert stored_hashes(bob) == sorted(map(sha, raws))
    assert set(Message.objects.filter(owner=bob).values_list("folder", flat=True)) == {"archive"}
    assert "inbox.mbox: 20 imported (1 malformed), 0 duplicates, 0 skipped" in printed.getvalue()


def test_import_command_chooses_the_account_by_address(bob, bob_account, tmp_path):
    second = make_account(bob, email="second@example.test")
    path = tmp_path / "one.eml"
    path.write_bytes(mf.plain())

    call_command("import_mail", "bob", str(path), "--account", "SECOND@example.test")

    assert Message.objects.get(owner=bob).account == second


def test_commands_refuse_unknown_users_and_folders(alice, alice_account, tmp_path):
    with pytest.raises(CommandError, match="no user"):
        call_command("export_mail", "nobody", "--format", "mbox", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="no folder"):
        call_command(
            "export_mail", "alice", "--folder", "Nope", "--format", "mbox", "-o", "/dev/null"
        )
    with pytest.raises(CommandError, match="cannot import into"):
        call_command("import_mail", "alice", "/dev/null", "--folder", "trash")


def test_export_command_writes_the_whole_account_as_a_zip(alice, alice_account, tmp_path):
    store_all(alice_account, corpus(3))
    out = tmp_path / "all.zip"

    call_command("export_mail", "alice", "--format", "eml-zip", "-o", str(out))

    assert len(zipfile.ZipFile(out).namelist()) == 3
