"""Request sizes: compose takes a whole message text; everything beyond a limit gets a
readable 413 page in the app's layout and language, naming the limit."""

from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mailbox.models import Outgoing, OutgoingStatus
from tests.conftest import PASSWORD
from tests.mailbox.test_send import compose_post, parse, send_now, smtp_account

KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"}
LINE = "The quick brown fox jumps over the lazy dog, 0123456789 — 한글도 조금.\n"


def long_text(size: int) -> str:
    return LINE * (size // len(LINE.encode()) + 1)


def assert_413(response, *words, lang="en"):
    html = response.content.decode()
    assert response.status_code == 413
    assert f'<html lang="{lang}"' in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    assert 'class="btn btn-primary" href="/"' in html  # a way back
    for word in words:
        assert word in html, word
    return html


def test_a_3_mb_draft_saves_whole(alice_client, alice, smtp_server):
    account = smtp_account(alice, smtp_server())
    body = long_text(3 * 1024 * 1024)
    response = compose_post(
        alice_client, {"account": account.pk, "subject": "long", "body": body}, action="save"
    )
    assert response.status_code == 302, response.status_code
    assert Outgoing.objects.get(owner=alice).body == body


def test_a_3_mb_autosave_keeps_the_whole_text(alice_client, alice, smtp_server):
    account = smtp_account(alice, smtp_server())
    body = long_text(3 * 1024 * 1024)
    data = urlencode({"account": account.pk, "subject": "auto", "body": body, "to": ""})
    response = alice_client.post(
        reverse("autosave_draft"), data, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content[:500]
    assert Outgoing.objects.get(owner=alice).body == body


def test_a_3_mb_body_sends_byte_exact(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    body = long_text(3 * 1024 * 1024)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="long",
        body=body,
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    [received] = server.messages
    text = parse(received.data).get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.rstrip("\n") == body.rstrip("\n")


def test_another_users_draft_is_not_found_even_when_large(alice, bob, client, alice_account):
    draft = Outgoing.objects.create(owner=alice, account=alice_account, subject="mine")
    client.force_login(bob)
    body = long_text(3 * 1024 * 1024)
    response = client.post(reverse("compose_edit", args=[draft.pk]), {"body": body})
    assert response.status_code == 404


def test_a_large_text_to_another_page_is_refused_readably(alice_client):
    data = urlencode({"display_name": "x" * (3 * 1024 * 1024)})
    response = alice_client.post(
        reverse("preferences"), data, content_type="application/x-www-form-urlencoded"
    )
    assert_413(response, "The request is larger than 2.5\xa0MB", "Too much at once")


def test_a_visitor_cannot_send_a_large_body(client, db):
    data = urlencode({"username": "x" * (3 * 1024 * 1024), "password": "y"})
    response = client.post(
        reverse("login"), data, content_type="application/x-www-form-urlencoded", **KOREAN
    )
    assert_413(response, "413", lang="ko")


def test_a_text_larger_than_a_message_may_be_is_refused(alice_client, alice_account, settings):
    settings.WEBMAIL_MAX_MESSAGE_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
    response = compose_post(alice_client, {"body": long_text(5 * 1024 * 1024)}, action="save")
    assert_413(response, "The request is larger than 4\xa0MB")
    assert not Outgoing.objects.exists()


def test_too_many_fields_get_a_page_naming_the_limit(alice_client, settings):
    ids = [str(i) for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5)]
    response = alice_client.post(reverse("bulk_action"), {"action": "mark_read", "ids": ids})
    assert_413(response, f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields")


@pytest.mark.parametrize("lang, headers, words", [("ko", KOREAN, "파일")])
def test_too_many_files_get_a_page_naming_the_limit_in_korean(
    alice_client, alice_account, settings, lang, headers, words
):
    files = [
        SimpleUploadedFile(f"f{i}.txt", b"x", "text/plain")
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]
    response = compose_post(alice_client, {}, files=files, action="save", **headers)
    assert_413(response, str(settings.DATA_UPLOAD_MAX_NUMBER_FILES), words, lang=lang)


def test_an_ordinary_login_still_works(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302


def test_forwarding_a_long_message_attaches_it_instead_of_quoting_it(
    alice_client, alice, alice_account, settings
):
    from mailbox import ingest
    from testkit import mailfactory as mf

    settings.WEBMAIL_FORWARD_INLINE_MAX_BYTES = 64 * 1024
    original = ingest.store_message(alice_account, mf.plain("long", long_text(100 * 1024)), "u1")
    response = alice_client.post(reverse("forward", args=[original.pk]), follow=True)
    draft = Outgoing.objects.get(owner=alice)
    assert len(draft.body.encode()) < 64 * 1024
    [attached] = draft.attachments.all()
    assert attached.content_type == "message/rfc822"
    assert attached.sha256 == original.raw_sha256
    assert "too long to quote in the text (more than 64\xa0KB)" in response.content.decode()


def test_forwarding_a_short_message_still_quotes_it(alice_client, alice, alice_account):
    from mailbox import ingest
    from testkit import mailfactory as mf

    original = ingest.store_message(alice_account, mf.plain("short", "see below\n"), "u1")
    alice_client.post(reverse("forward", args=[original.pk]))
    draft = Outgoing.objects.get(owner=alice)
    assert "see below" in draft.body
    assert not draft.attachments.exists()


def test_another_users_message_cannot_be_forwarded(client, bob, alice_account):
    from mailbox import ingest
    from testkit import mailfactory as mf

    original = ingest.store_message(alice_account, mf.plain("mine", "x\n"), "u1")
    client.force_login(bob)
    assert client.post(reverse("forward", args=[original.pk])).status_code == 404
