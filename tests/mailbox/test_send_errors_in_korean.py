"""Why sending failed reads in the viewer's language; the SMTP server's own reply is
quoted as it was sent. The failures are real: a closed loopback port, a server that
offers no STARTTLS."""

import pytest
from django.urls import reverse
from django.utils import timezone

from mailbox import outbox
from mailbox.models import Folder, Outgoing, OutgoingStatus
from tests.mailbox.test_send import send_now, smtp_account


@pytest.fixture
def korean_client(alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    return alice_client


def sent_folder(client, language: str) -> str:
    url = reverse("folder", args=[Folder.SENT])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


class _Closed:
    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port


@pytest.fixture
def outgoing_to_a_closed_port(alice, alice_client, unused_port, django_capture_on_commit_callbacks):
    account = smtp_account(alice, _Closed(unused_port))
    return send_now(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )


def test_a_refused_connection_is_explained_in_korean_and_english(
    alice_client, outgoing_to_a_closed_port, unused_port
):
    outgoing_to_a_closed_port.refresh_from_db()
    assert outgoing_to_a_closed_port.status == OutgoingStatus.RETRYING
    korean = sent_folder(alice_client, "ko")
    assert f"서버(127.0.0.1:{unused_port})가 연결을 거부했습니다." in korean
    assert "refused" not in korean.lower()
    english = sent_folder(alice_client, "en")
    assert f"The server 127.0.0.1:{unused_port} refused the connection." in english


def test_giving_up_after_refused_connections_is_explained_in_korean(
    korean_client, outgoing_to_a_closed_port, unused_port
):
    Outgoing.objects.filter(pk=outgoing_to_a_closed_port.pk).update(
        attempts=outbox.MAX_ATTEMPTS - 1, next_attempt_at=timezone.now()
    )
    outbox.deliver(outgoing_to_a_closed_port.pk)
    page = korean_client.get(
        reverse("compose_edit", args=[outgoing_to_a_closed_port.pk])
    ).content.decode()
    assert (
        f"10번 시도한 끝에 발송을 포기했습니다. 마지막 오류: "
        f"서버(127.0.0.1:{unused_port})가 연결을 거부했습니다."
    ) in page
    assert "Gave up" not in page


def test_a_server_without_starttls_is_explained_in_korean(
    korean_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server(), smtp_security="starttls")
    send_now(korean_client, account, django_capture_on_commit_callbacks, to="bob@example.test")
    page = sent_folder(korean_client, "ko")
    assert "서버가 STARTTLS를 지원하지 않습니다." in page
    assert "does not offer" not in page


def test_a_refusal_quotes_the_smtp_servers_reply_verbatim_in_korean(
    korean_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    reply = "553 5.7.1 <alice@example.test>: Sender address rejected"
    server = smtp_server(mail_replies={"alice@example.test": reply})
    account = smtp_account(alice, server)
    outgoing = send_now(
        korean_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    page = sent_folder(korean_client, "ko")
    assert "553 5.7.1 &lt;alice@example.test&gt;: Sender address rejected" in page
