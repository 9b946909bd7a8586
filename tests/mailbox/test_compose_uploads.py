"""Attachments uploaded one at a time while composing (compose.js's background uploads)."""

from email import policy
from email.parser import BytesParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mailbox.models import Outgoing, OutgoingAttachment, OutgoingStatus
from tests.conftest import make_account
from tests.mailbox.test_send import compose_post, smtp_account

KOREAN_NAME = "견적서 2026.xlsx"
XLSX = bytes(range(256)) * 40


def upload(client, data: bytes, name: str, draft=None, *, size=None, **fields):
    url = (
        reverse("upload_attachment_to", args=[draft.pk]) if draft else reverse("upload_attachment")
    )
    payload = {
        "file": SimpleUploadedFile(name, data, "application/octet-stream"),
        "size": len(data) if size is None else size,
        **fields,
    }
    return client.post(url, payload, headers={"Accept": "application/json"})


def remove(client, attachment, **extra):
    url = reverse("remove_attachment", args=[attachment.outgoing_id, attachment.pk])
    return client.post(url, **extra)


@pytest.fixture
def account(alice):
    return make_account(alice)


@pytest.fixture
def draft(alice, account):
    return Outgoing.objects.create(owner=alice, account=account, subject="draft")


def test_upload_adds_the_file_to_the_draft_byte_exact_with_its_korean_name(alice_client, draft):
    response = upload(alice_client, XLSX, KOREAN_NAME, draft)
    assert response.status_code == 201
    [attachment] = draft.attachments.all()
    assert attachment.filename == KOREAN_NAME
    assert attachment.size == len(XLSX)
    with attachment.file.open("rb") as f:
        assert f.read() == XLSX
    answer = response.json()
    assert answer["draft"] == draft.pk
    assert answer["compose_url"] == reverse("compose_edit", args=[draft.pk])
    assert answer["attachment"]["name"] == KOREAN_NAME
    assert answer["attachment"]["remove_url"] == reverse(
        "remove_attachment", args=[draft.pk, attachment.pk]
    )


def test_first_upload_of_a_new_message_starts_a_draft_on_the_chosen_account(
    alice_client, alice, account
):
    other = make_account(alice, email="alice@work.example")
    response = upload(alice_client, b"notes", "notes.txt", account=other.pk)
    assert response.status_code == 201
    draft = Outgoing.objects.get(owner=alice)
    assert (draft.status, draft.account) == (OutgoingStatus.DRAFT, other)
    assert response.json()["draft"] == draft.pk
    assert response.json()["upload_url"] == reverse("upload_attachment_to", args=[draft.pk])
    assert [a.filename for a in draft.attachments.all()] == ["notes.txt"]
    # The compose page continues on that draft and lists the file.
    page = alice_client.get(response.json()["compose_url"]).content.decode()
    assert "notes.txt" in page


def test_a_new_draft_cannot_start_on_someone_elses_account(alice_client, alice, account, bob):
    response = upload(alice_client, b"notes", "notes.txt", account=make_account(bob).pk)
    assert response.status_code == 400
    assert not Outgoing.objects.exists()


def test_another_users_draft_is_404_for_upload_and_removal(client, bob, draft):
    attachment = OutgoingAttachment.objects.create(
        outgoing=draft, filename="a.txt", content_type="text/plain", size=1, sha256="0" * 64
    )
    client.force_login(bob)
    assert upload(client, b"x", "x.txt", draft).status_code == 404
    assert remove(client, attachment).status_code == 404
    assert list(draft.attachments.all()) == [attachment]


def test_an_attachment_of_another_draft_is_404(alice_client, alice, account, draft):
    other = Outgoing.objects.create(owner=alice, account=account)
    upload(alice_client, b"x", "x.txt", other)
    attachment = other.attachments.get()
    url = reverse("remove_attachment", args=[draft.pk, attachment.pk])
    assert alice_client.post(url).status_code == 404
    assert other.attachments.exists()


def test_a_file_over_the_limit_is_refused_with_its_name(alice_client, draft, settings):
    settings.WEBMAIL_MAX_ATTACHMENT_BYTES = 1000
    response = upload(alice_client, b"x" * 1001, KOREAN_NAME, draft)
    assert response.status_code == 400
    assert response.json()["error"] == f"“{KOREAN_NAME}” is larger than the 1000\xa0bytes limit."
    assert not draft.attachments.exists()


def test_the_limit_counts_the_files_already_on_the_draft(alice_client, draft, settings):
    settings.WEBMAIL_MAX_ATTACHMENT_BYTES = 1000
    assert upload(alice_client, b"a" * 600, "first.bin", draft).status_code == 201
    response = upload(alice_client, b"b" * 600, "second.bin", draft)
    assert response.status_code == 400
    assert response.json()["error"] == (
        "“second.bin” would bring the attachments to 1.2\xa0KB, over the 1000\xa0bytes limit."
    )
    assert [a.filename for a in draft.attachments.all()] == ["first.bin"]


def test_a_cut_off_upload_is_refused_not_stored_truncated(alice_client, draft):
    missing = upload(alice_client, b"half", "cut.bin", draft, size="")
    assert missing.status_code == 400
    assert "“cut.bin” did not arrive whole." in missing.json()["error"]
    short = upload(alice_client, b"half", "cut.bin", draft, size=8)
    assert short.status_code == 400
    assert not draft.attachments.exists()


def test_an_empty_file_is_refused_with_its_name(alice_client, draft):
    response = upload(alice_client, b"", "empty.txt", draft)
    assert response.status_code == 400
    assert response.json()["error"] == "“empty.txt” is empty."


def test_a_queued_message_takes_no_more_files(alice_client, draft):
    Outgoing.objects.filter(pk=draft.pk).update(status=OutgoingStatus.QUEUED)
    response = upload(alice_client, b"late", "late.txt", draft)
    assert response.status_code == 409
    assert not draft.attachments.exists()


def test_upload_and_removal_need_the_csrf_token(alice, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert upload(client, b"x", "x.txt", draft).status_code == 403
    assert not draft.attachments.exists()
    attachment = OutgoingAttachment.objects.create(
        outgoing=draft, filename="a.txt", content_type="text/plain", size=1, sha256="0" * 64
    )
    assert remove(client, attachment).status_code == 403
    assert draft.attachments.exists()


def test_upload_and_removal_are_post_only(alice_client, draft):
    assert alice_client.get(reverse("upload_attachment_to", args=[draft.pk])).status_code == 405


def test_removal_takes_one_file_off_the_draft(alice_client, draft):
    upload(alice_client, b"keep", "keep.txt", draft)
    upload(alice_client, b"drop", "drop.txt", draft)
    dropped = draft.attachments.get(filename="drop.txt")
    response = remove(alice_client, dropped, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"removed": dropped.pk}
    assert [a.filename for a in draft.attachments.all()] == ["keep.txt"]


def test_removal_without_javascript_returns_to_the_draft(alice_client, draft):
    upload(alice_client, b"drop", "drop.txt", draft)
    response = remove(alice_client, draft.attachments.get())
    assert response.status_code == 302
    assert response.url == reverse("compose_edit", args=[draft.pk])
    assert not draft.attachments.exists()


def test_compose_page_lists_the_drafts_files_with_a_remove_control(alice_client, draft):
    upload(alice_client, XLSX, KOREAN_NAME, draft)
    attachment = draft.attachments.get()
    page = alice_client.get(reverse("compose_edit", args=[draft.pk])).content.decode()
    assert KOREAN_NAME in page
    assert reverse("remove_attachment", args=[draft.pk, attachment.pk]) in page
    assert f'name="remove_attachments" value="{attachment.pk}"' in page
    assert f'data-attached-bytes="{len(XLSX)}"' in page


def test_a_sent_message_carries_the_uploaded_files(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    started = upload(alice_client, XLSX, KOREAN_NAME, account=account.pk).json()
    draft = Outgoing.objects.get(pk=started["draft"])
    upload(alice_client, b"notes\r\n", "notes.txt", draft)
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {"account": account.pk, "to": "bob@example.test", "subject": "견적"},
            url=started["compose_url"],
        )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == OutgoingStatus.SENT
    [received] = server.messages
    msg = BytesParser(policy=policy.default).parsebytes(received.data)
    parts = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert parts == {KOREAN_NAME: XLSX, "notes.txt": b"notes\r\n"}
