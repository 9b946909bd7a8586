"""The import upload's size limit (WEBMAIL_IMPORT_MAX_BYTES): refused while the file
streams in, before more than the limit is kept anywhere; a form error on the file field
that says the limit in units people read; nothing saved, nothing imported. The operator's
``import_mail`` command has no limit."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.formatting import file_size
from mailbox import importing
from mailbox.models import Folder, MailImport, Message, UserFolder
from testkit import mailfactory as mf

pytestmark = pytest.mark.django_db

LIMIT = 100 * 1024  # "100 KB"


class Recording(FileUploadHandler):
    """Stands in for the handlers that keep an upload (memory, temporary file): records
    how many bytes reach them."""

    kept = 0

    def receive_data_chunk(self, raw_data, start):
        type(self).kept += len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.WEBMAIL_IMPORT_MAX_BYTES = LIMIT
    settings.FILE_UPLOAD_HANDLERS = [
        f"{__name__}.Recording",
        *settings.FILE_UPLOAD_HANDLERS,
    ]
    Recording.kept = 0


def mbox_of(size: int) -> bytes:
    """An mbox of about `size` bytes: one message with a long body."""
    head = b"From alice@example.test Mon Mar  2 10:00:00 2026\n"
    message = mf.plain("Big", "x" * size).replace(b"\r\n", b"\n")
    return (head + message)[:size]


def upload(client, data: bytes, name: str = "big.mbox", folder: str = "archive"):
    form = {"file": SimpleUploadedFile(name, data), "folder": folder}
    return client.post(reverse("import_export"), form)


def stored_imports() -> list[str]:
    try:
        return [name for name in default_storage.listdir("imports")[0]]
    except FileNotFoundError:
        return []


def test_a_file_over_the_limit_is_a_form_error_naming_the_field_and_the_limit(
    alice_client, alice_account
):
    response = upload(alice_client, mbox_of(LIMIT + 1))

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"file"}  # the other fields were still read
    [error] = form.errors["file"]
    assert file_size(LIMIT) in error
    assert error.startswith("The file is larger than 100\xa0KB, the most an import can take.")
    page = response.content.decode()
    assert "File: The file is larger than 100\xa0KB" in page  # the summary names the field
    assert form["folder"].value() == "archive"  # what the user chose is kept


def test_nothing_of_a_refused_file_is_saved_or_imported(alice, alice_client, alice_account):
    before = stored_imports()

    upload(alice_client, mbox_of(3 * LIMIT))

    assert not MailImport.objects.exists()
    assert not Message.objects.filter(owner=alice).exists()
    assert stored_imports() == before


def test_the_file_is_refused_while_it_streams_in(alice_client, alice_account):
    """The handlers that keep an upload get at most the limit of it, not the whole file
    (Django would otherwise spool all of it to a temporary file first)."""
    upload(alice_client, mbox_of(20 * LIMIT))

    assert 0 < Recording.kept <= LIMIT


def test_a_request_declared_too_large_is_refused_before_a_byte_is_kept(
    alice_client, alice_account, settings
):
    # A request body longer than the limit plus the most the other fields may take.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024
    response = upload(alice_client, mbox_of(2 * LIMIT))

    assert Recording.kept == 0
    assert set(response.context["form"].errors) == {"file"}


def test_a_file_of_exactly_the_limit_is_imported(
    alice, alice_client, alice_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice_client, mbox_of(LIMIT))

    imp = MailImport.objects.get(owner=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("import_status", args=[imp.pk])
    assert (imp.total_bytes, imp.imported) == (LIMIT, 1)
    assert Message.objects.get(owner=alice).folder == Folder.ARCHIVE


def test_the_page_says_the_limit_and_gives_it_to_the_script(alice_client, alice_account):
    page = alice_client.get(reverse("import_export")).content.decode()

    assert "An mbox file, an .eml file, or a zip of .eml files, up to 100\xa0KB." in page
    assert f'data-max-bytes="{LIMIT}"' in page
    assert 'data-too-large="The file is larger than 100\xa0KB' in page


def test_the_limit_is_said_in_korean(alice_client, alice_account):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"

    response = upload(alice_client, mbox_of(LIMIT + 1))

    [error] = response.context["form"].errors["file"]
    assert error.startswith("파일이 100KB보다 큽니다.")  # Korean sizes have no space


def test_csrf_is_still_checked(alice, alice_account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    assert upload(client, mbox_of(10)).status_code == 403
    assert upload(client, mbox_of(2 * LIMIT)).status_code == 403
    assert not MailImport.objects.exists()


def test_the_import_mail_command_has_no_limit(alice, alice_account, tmp_path):
    path = tmp_path / "big.mbox"
    path.write_bytes(mbox_of(3 * LIMIT))

    call_command("import_mail", "alice", str(path), stdout=io.StringIO())

    assert Message.objects.filter(owner=alice).count() == 1


def test_the_handler_counts_every_file_of_a_request():
    handler = importing.UploadLimit(10)
    handler.new_file("file", "a.eml", "message/rfc822", None)
    assert handler.receive_data_chunk(b"123456", 0) == b"123456"
    handler.new_file("file", "b.eml", "message/rfc822", None)
    with pytest.raises(importing.SkipFile):
        handler.receive_data_chunk(b"123456", 0)
    assert handler.refused


def test_an_own_folder_choice_survives_the_refusal(alice, alice_client, alice_account):
    work = UserFolder.objects.create(owner=alice, name="Work")

    response = upload(alice_client, mbox_of(LIMIT + 1), folder=f"user:{work.pk}")

    assert response.context["form"]["folder"].value() == f"user:{work.pk}"
