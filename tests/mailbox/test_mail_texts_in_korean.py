"""What the mail pages and the mail we write say, in the user's language (Korean or English).

Outcomes recorded by background tasks (a delivery that gave up, a message left on the
server) are worded when a page shows them, around the server's own reply, which stays
as the server sent it. A read receipt's words for people follow the sender's language;
its machine-readable part never changes.
"""

from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation

from accounts import formatting
from mailbox import ingest, outbox, wording
from mailbox.models import Folder, Outgoing, OutgoingStatus
from testkit import mailfactory as mf
from tests.conftest import make_account
from tests.mailbox.test_send import send_now, smtp_account


@pytest.fixture
def korean_client(alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    return alice_client


def sent_folder(client) -> str:
    return client.get(reverse("folder", args=[Folder.SENT])).content.decode()


def test_a_delivery_that_gave_up_says_so_in_korean_around_the_servers_reply(
    korean_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(data_replies=["451 4.3.0 Try again later"] * 2)
    account = smtp_account(alice, server)
    outgoing = send_now(
        korean_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    Outgoing.objects.filter(pk=outgoing.pk).update(
        attempts=outbox.MAX_ATTEMPTS - 1, next_attempt_at=timezone.now()
    )
    outbox.deliver(outgoing.pk)
    page = sent_folder(korean_client)
    assert (
        "10번 시도한 끝에 발송을 포기했습니다. 마지막 서버 응답: 451 4.3.0 Try again later" in page
    )
    assert "Gave up" not in page


def test_the_same_failure_reads_in_english_for_an_english_viewer(alice, alice_client, db):
    account = make_account(alice)
    Outgoing.objects.create(
        owner=alice,
        account=account,
        status=OutgoingStatus.FAILED,
        to="bob@example.test",
        attempts=3,
        last_error=wording.record(wording.GAVE_UP, attempts=3, reply="421 4.7.0 Too busy"),
    )
    page = alice_client.get(reverse("folder", args=[Folder.SENT]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Gave up after 3 attempts. Last reply: 421 4.7.0 Too busy" in page.content.decode()


def test_delivery_status_unknown_is_explained_in_korean(korean_client, alice):
    account = make_account(alice)
    Outgoing.objects.create(
        owner=alice,
        account=account,
        status=OutgoingStatus.SENDING,
        to="bob@example.test",
        subject="분기 보고서",
        claimed_at=timezone.now() - timedelta(hours=1),
        data_started_at=timezone.now() - timedelta(hours=1),
    )
    outbox.due_for_delivery()
    page = sent_folder(korean_client)
    assert "전송 결과 알 수 없음" in page
    assert "서버가 메일을 받았을 수도 있습니다." in page
    assert "받는 사람에게 확인한 뒤 ‘다시 보내기’ 또는 ‘보낸 것으로 표시’를 선택하세요." in page
    assert "Delivery unknown" not in page


def test_a_failed_message_shows_a_plain_server_reply_as_it_was_stored(korean_client, alice):
    account = make_account(alice)
    Outgoing.objects.create(
        owner=alice,
        account=account,
        status=OutgoingStatus.FAILED,
        to="bob@example.test",
        last_error="554 5.7.1 Message rejected as spam",
    )
    assert "554 5.7.1 Message rejected as spam" in sent_folder(korean_client)


def test_a_message_too_large_to_download_is_explained_in_korean(
    korean_client, alice, fake_pop3, settings
):
    settings.WEBMAIL_MAX_MESSAGE_BYTES = 1000
    server = fake_pop3([mf.plain("huge", body="x" * 5000)], uidls=["huge-1"])
    account = make_account(
        alice,
        pop3_host=server.host,
        pop3_port=server.port,
        pop3_security="none",
        pop3_login=server.username,
        pop3_password=server.password,
    )
    assert ingest.poll_account(account.pk).skipped == 1
    page = korean_client.get(reverse("home")).content.decode()
    with translation.override("ko"):
        limit = formatting.file_size(1000)
    assert f"(제한 크기 {limit} 초과)" in page
    assert "larger than" not in page


def test_a_bulk_action_reports_its_count_in_korean(korean_client, alice_account):
    ids = [
        ingest.store_message(alice_account, mf.plain(f"message {i}"), f"uid-{i}").pk
        for i in range(3)
    ]
    response = korean_client.post(
        reverse("bulk_action"),
        {"action": "archive", "ids": ids, "folder": Folder.INBOX},
        follow=True,
    )
    assert "메일 3개를 보관했습니다." in response.content.decode()


def test_an_invalid_bulk_action_is_explained_in_korean(korean_client, alice_account):
    response = korean_client.post(
        reverse("bulk_action"), {"action": "archive", "folder": Folder.INBOX}, follow=True
    )
    assert "메일을 하나 이상 선택하세요." in response.content.decode()


# Read receipts -----------------------------------------------------------------------

ASKS_FOR_A_RECEIPT = (
    b"From: Kim Jihyun <jihyun@example.kr>\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: =?UTF-8?B?7ZqM7J2YIOyekOujjA==?=\r\n"
    b"Date: Thu, 26 Nov 2026 10:00:00 +0900\r\n"
    b"Message-ID: <ask-1@example.kr>\r\n"
    b"Disposition-Notification-To: jihyun@example.kr\r\n"
    b"\r\n"
    b"Please confirm.\r\n"
)


def send_receipt(client, account, language: str):
    message = ingest.store_message(account, ASKS_FOR_A_RECEIPT, f"ask-{language}")
    response = client.post(
        reverse("send_read_receipt", args=[message.pk]),
        HTTP_ACCEPT_LANGUAGE=language,
        follow=True,
    )
    receipt = Outgoing.objects.filter(owner=account.user, is_read_receipt=True).latest("id")
    with default_storage.open(receipt.raw_file.name, "rb") as f:
        built = BytesParser(policy=policy.default).parsebytes(f.read())
    return response.content.decode(), receipt, built


def machine_part(built) -> str:
    notification = built.get_payload()[1]
    assert notification.get_content_type() == "message/disposition-notification"
    return notification.get_payload()[0].as_string()


def test_a_read_receipt_is_written_in_the_korean_users_language(alice_client, alice_account):
    page, receipt, built = send_receipt(alice_client, alice_account, "ko")
    assert "jihyun@example.kr에게 보낼 읽음 확인을 발송 대기열에 추가했습니다." in page
    assert receipt.subject == "읽음: 회의 자료"
    assert built["Subject"] == "읽음: 회의 자료"
    human = built.get_payload()[0].get_content()
    assert "alice@example.test 주소로 보내신 메일의 읽음 확인입니다." in human
    assert "제목: 회의 자료" in human
    assert "에 열람되었습니다." in human
    assert "read receipt" not in human


def test_a_read_receipts_machine_readable_part_is_the_same_in_every_language(
    alice_client, alice_account
):
    _page, _receipt, korean = send_receipt(alice_client, alice_account, "ko")
    _page, _receipt, english = send_receipt(alice_client, alice_account, "en")
    assert "This is a read receipt for the message you sent to alice@example.test." in (
        english.get_payload()[0].get_content()
    )
    assert english["Subject"] == "Read: 회의 자료"
    assert machine_part(korean) == machine_part(english)
    assert "Disposition: manual-action/MDN-sent-manually; displayed" in machine_part(korean)
    assert "Final-Recipient: rfc822;alice@example.test" in machine_part(korean)
