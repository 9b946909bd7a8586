"""Downloads of many messages are streamed and bounded (issue 18, abuse limits): past
WEBMAIL_MAX_EXPORT_MESSAGES or WEBMAIL_MAX_EXPORT_BYTES a folder, search, selection,
whole-account or "Download all" download is refused before its first byte, with a
message where it was asked for; under them, memory stays flat however many messages."""

import io
import tracemalloc
import zipfile

import pytest
from django.urls import reverse

from mailbox import ingest
from mailbox.models import Message
from testkit import mailfactory as mf

pytestmark = pytest.mark.django_db

REFUSED = "This download would hold 3 messages ("


def store(account, n: int, size: int = 0) -> list[Message]:
    out = []
    for i in range(n):
        if size:
            raw = mf.with_attachments(
                f"Big {i}.\n", [("data.bin", "application/octet-stream", mf.random_bytes(size, i))]
            ).replace(b"<test-1@example.com>", f"<big{i}@example.test>".encode())
        else:
            raw = mf.plain(f"회의 {i}", f"본문 {i}\n", message_id=f"<m{i}@example.test>")
        out.append(ingest.store_message(account, raw, f"uid-{i}"))
    return out


def followed(client, response) -> str:
    assert response.status_code == 302
    return client.get(response.url).content.decode()


def test_a_folder_past_the_message_limit_is_refused_with_a_message_where_it_was_asked(
    alice_client, alice_account, settings
):
    store(alice_account, 3)
    settings.WEBMAIL_MAX_EXPORT_MESSAGES = 2
    settings_page = reverse("import_export")
    response = alice_client.get(
        reverse("export_folder"),
        {"folder": "inbox", "format": "mbox"},
        headers={"referer": "http://testserver" + settings_page},
    )
    assert response.status_code == 302 and response.url == "http://testserver" + settings_page
    page = followed(alice_client, response)
    assert REFUSED in page
    assert "one download holds at most 2 messages or 10\xa0GB" in page

    # Without a Referer (or another site's): the folder's list.
    response = alice_client.get(
        reverse("export_folder"),
        {"folder": "inbox", "format": "eml-zip"},
        headers={"referer": "https://evil.example/"},
    )
    assert response.url == reverse("folder", args=["inbox"])
    assert REFUSED in followed(alice_client, response)

    settings.WEBMAIL_MAX_EXPORT_MESSAGES = 3
    response = alice_client.get(reverse("export_folder"), {"folder": "inbox", "format": "mbox"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).count(b"\nFrom ") == 2  # 3 messages


def test_the_whole_account_past_the_byte_limit_is_refused_on_the_settings_page(
    alice_client, alice_account, settings
):
    messages = store(alice_account, 3)
    settings.WEBMAIL_MAX_EXPORT_BYTES = sum(m.size for m in messages) - 1
    response = alice_client.get(reverse("export_account"), {"format": "mbox"})
    assert response.url == reverse("import_export")
    assert REFUSED in followed(alice_client, response)

    settings.WEBMAIL_MAX_EXPORT_BYTES = sum(m.size for m in messages)
    response = alice_client.get(reverse("export_account"), {"format": "eml-zip"})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert len(archive.namelist()) == 3


def test_a_selection_past_the_limit_goes_back_to_the_list(alice_client, alice_account, settings):
    messages = store(alice_account, 3)
    settings.WEBMAIL_MAX_EXPORT_MESSAGES = 2
    response = alice_client.post(
        reverse("export_selection"),
        {"ids": [m.pk for m in messages], "format": "mbox", "folder": "inbox"},
    )
    assert response.url == reverse("folder", args=["inbox"])
    assert REFUSED in followed(alice_client, response)


def test_the_limits_text_is_korean_for_a_korean_user(alice, alice_client, alice_account, settings):
    alice.language = "ko"
    alice.save(update_fields=["language"])
    store(alice_account, 3)
    settings.WEBMAIL_MAX_EXPORT_MESSAGES = 2
    response = alice_client.get(reverse("export_account"), {"format": "mbox"})
    assert "이 다운로드에는 메시지 3통" in followed(alice_client, response)


def test_download_all_past_the_byte_limit_is_refused_on_the_message(
    alice_client, client, bob, alice_account, settings
):
    raw = mf.with_attachments(
        "Two files.\n",
        [("a.bin", "application/octet-stream", b"a" * 600), ("b.txt", "text/plain", b"b" * 600)],
    )
    message = ingest.store_message(alice_account, raw, "uid-2files")
    settings.WEBMAIL_MAX_EXPORT_BYTES = 1000
    response = alice_client.get(reverse("download_all", args=[message.pk]))
    assert response.url == reverse("read_message", args=[message.pk])
    page = followed(alice_client, response)
    assert "These attachments total 1.2\xa0KB, more than one download may hold" in page
    assert "Download them one at a time." in page

    settings.WEBMAIL_MAX_EXPORT_BYTES = 2000
    response = alice_client.get(reverse("download_all", args=[message.pk]))
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist() == [
        "a.bin",
        "b.txt",
    ]
    client.force_login(bob)  # someone else's message: not found, limits or not
    assert client.get(reverse("download_all", args=[message.pk])).status_code == 404


def _export_peak(client, fmt: str) -> int:
    response = client.get(reverse("export_folder"), {"folder": "inbox", "format": fmt})
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 0
    return peak


@pytest.mark.parametrize("fmt", ["mbox", "eml-zip"])
def test_export_memory_stays_flat_as_the_folder_grows(alice_client, alice_account, fmt):
    """Four times the messages (1 MB each), about the same peak: one message at a time."""
    store(alice_account, 3, size=1_000_000)
    small = _export_peak(alice_client, fmt)
    for i in range(3, 12):
        raw = mf.with_attachments(
            f"Big {i}.\n",
            [("data.bin", "application/octet-stream", mf.random_bytes(1_000_000, i))],
        ).replace(b"<test-1@example.com>", f"<big{i}@example.test>".encode())
        ingest.store_message(alice_account, raw, f"uid-{i}")
    big = _export_peak(alice_client, fmt)
    assert big < small * 1.5 + 500_000, f"peak {small} bytes for 3 messages, {big} for 12"
