"""Real winmail.dat files (tnefparse 1.4.0's own test data, tests/data/tnefparse/ with
its licence) sent as Outlook sends them, ingested, and compared with what tnefparse
itself extracts: every file inside, by name and byte for byte; the original winmail.dat
still downloadable; a body that exists only inside it shown as the message's body; a
damaged one keeps the message, says so, and loses nothing (issue 24)."""

import itertools
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from tnefparse import TNEF

from mailbox import ingest
from mailbox.models import Attachment, Message
from testkit import mailfactory as mf

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "tnefparse"
NOTE = "See the attached files.\n"
_uidls = itertools.count(1)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def outlook_message(data: bytes, *, note: str | None = NOTE) -> bytes:
    """A message as Outlook sends one: a text part (or none) and winmail.dat."""
    parts = [mf.text_part(note)] if note is not None else []
    winmail = mf.attachment_part(data, "winmail.dat", "application/ms-tnef")
    return mf.message(mf.multipart("mixed", *parts, winmail), subject="Outlook")


def store(account, raw: bytes) -> Message:
    return ingest.store_message(account, raw, f"tnef-{next(_uidls)}")


def read(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.file.name, "rb") as f:
        return f.read()


def download(client, attachment: Attachment) -> bytes:
    response = client.get(
        reverse("download_attachment", args=[attachment.message_id, attachment.pk])
    )
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    return b"".join(response.streaming_content) if response.streaming else response.content


def what_tnefparse_extracts(data: bytes) -> list[tuple[str, bytes]]:
    """(long file name, bytes) of every file inside, as tnefparse reads them."""
    return [(a.long_filename(), a.data) for a in TNEF(data).attachments]


@pytest.mark.parametrize(
    ("name", "expected_names"),
    [
        ("one-file.tnef", ["AUTHORS"]),
        ("two-files.tnef", ["AUTHORS", "README"]),
        ("long-filename.tnef", ["allproductsmar2000.dat"]),
        (
            "missing-filenames.tnef",
            ["generpts.src", "TechlibDEC99.doc", "TechlibDEC99-JAN00.doc", "TechlibNOV99.doc"],
        ),
        ("umlaut.tnef", ["TBZ PARIV GmbH.jpg", "image003.jpg", "UmlautAnhang-äüö.txt"]),
        ("unicode-mapi-attr.tnef", ["example.dat"]),
        (
            "unicode-mapi-attr-name.tnef",
            ["spaconsole2.cfg", "image001.png", "image002.png", "image003.png"],
        ),
        ("bad_checksum.tnef", ["image001.png"]),
    ],
)
def test_the_files_inside_are_stored_byte_exact_as_tnefparse_reads_them(
    alice_client, alice_account, name, expected_names
):
    data = sample(name)
    message = store(alice_account, outlook_message(data))
    original, *inside = message.attachments.order_by("id")
    assert (original.filename, original.derived, read(original)) == ("winmail.dat", False, data)
    assert download(alice_client, original) == data  # the original stays downloadable
    extracted = what_tnefparse_extracts(data)
    assert [n for n, _ in extracted] == expected_names
    assert [(a.filename, read(a)) for a in inside] == extracted
    assert all(a.derived and a.size == len(read(a)) for a in inside)
    for attachment, (_, payload) in zip(inside, extracted, strict=True):
        assert download(alice_client, attachment) == payload
    assert message.text_body == NOTE  # the sender's own body stays the body
    assert message.has_attachments
    page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    for expected in ["winmail.dat", *expected_names]:
        assert expected.replace("&", "&amp;") in page


@pytest.mark.parametrize(
    ("name", "kind", "words"),
    [
        ("body.tnef", "html", "THE BILL OF RIGHTS"),
        ("unicode-mapi-attr-name.tnef", "html", "Przesyłam poprawiony plik"),
        ("rtf.tnef", "text", "gallen@numega.com"),
        ("missing-filenames.tnef", "text", "Sue has encountered a Date problem"),
        ("umlaut.tnef", "text", "TEST äöü"),
    ],
)
def test_a_body_only_inside_winmail_dat_is_the_messages_body(
    alice_client, alice_account, name, kind, words
):
    message = store(alice_account, outlook_message(sample(name), note=None))
    if kind == "html":
        assert words in message.html_body
        body = alice_client.get(reverse("message_body", args=[message.pk])).content.decode()
        assert words in body  # through the sanitizer, into the sandboxed frame
        assert "<script" not in body
    else:
        assert words in message.text_body
        page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
        assert words in page
    assert message.snippet.strip()  # the list shows its first words, not nothing
    assert message.defects == []


def test_a_winmail_dat_with_garbage_at_the_end_keeps_the_message_and_says_so(
    alice_client, alice_account
):
    data = sample("garbage-at-end.tnef")
    assert what_tnefparse_extracts(data) == []  # tnefparse finds nothing in it either
    message = store(alice_account, outlook_message(data))
    assert message.subject == "Outlook" and message.text_body == NOTE
    [original] = message.attachments.all()
    assert (original.filename, original.derived, read(original)) == ("winmail.dat", False, data)
    assert download(alice_client, original) == data  # nothing lost
    assert any("winmail.dat could not be read" in d for d in message.defects)
    page = alice_client.get(reverse("read_message", args=[message.pk])).content.decode()
    assert "This message is malformed" in page


def test_a_winmail_dat_with_a_bad_checksum_is_read_and_the_damage_recorded(alice_account):
    data = sample("bad_checksum.tnef")
    message = store(alice_account, outlook_message(data, note=None))
    original, picture = message.attachments.order_by("id")
    assert read(original) == data
    assert [(picture.filename, read(picture))] == what_tnefparse_extracts(data)
    assert message.html_body  # its body, from inside
    assert any("wrong checksum" in d for d in message.defects)


def test_the_samples_keep_their_licence_and_source():
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in (SAMPLES / "LICENSE").read_text()
    readme = (SAMPLES / "README.md").read_text()
    assert "tnefparse 1.4.0" in readme
    for path in SAMPLES.glob("*.tnef"):
        assert path.name in readme
