"""Compose and send through a real SMTP server (aiosmtpd), exactly once."""

from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from mailbox import ingest, outbox, reports
from mailbox.models import Folder, Message, Outgoing, OutgoingStatus
from testkit import mailfactory as mf
from tests.conftest import make_account


def smtp_account(user, server, **fields):
    defaults = {
        "email": f"{user.username}@example.test",
        "display_name": "앨리스 Kim",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": "none",
        "smtp_login": "",
        "smtp_password": "",
    }
    return make_account(user, **{**defaults, **fields})


def compose_post(client, data, files=(), url=None, action="send", **extra):
    payload = {"to": "", "cc": "", "bcc": "", "subject": "", "body": "", "action": action, **data}
    if files:
        payload["attachments"] = list(files)
    return client.post(url or reverse("compose"), payload, **extra)


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def send_now(client, account, capture, **data):
    with capture(execute=True):
        response = compose_post(client, {"account": account.pk, **data})
    assert response.status_code == 302, response.content.decode()[:3000]
    return Outgoing.objects.filter(owner=account.user).latest("id")


def test_send_with_cc_bcc_and_korean_attachments(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 50
    files = [
        SimpleUploadedFile("보고서 2026.pdf", pdf, "application/pdf"),
        SimpleUploadedFile("notes.txt", b".leading dot\r\nline\r\n", "text/plain"),
    ]
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="Bob <bob@example.test>",
        cc="carol@example.test",
        bcc="dave@example.test",
        subject="회의 자료",
        body="안녕하세요\n.a line with a dot\n",
        attachments=files,
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    [received] = server.messages
    assert sorted(received.rcpt_tos) == [
        "bob@example.test",
        "carol@example.test",
        "dave@example.test",
    ]
    assert received.mail_from == "alice@example.test"
    msg = parse(received.data)
    assert msg["Subject"] == "회의 자료"
    assert "Bcc" not in msg and b"dave@example.test" not in received.data
    assert msg["From"].addresses[0].display_name == "앨리스 Kim"
    assert msg["Message-ID"].strip("<>") == outgoing.message_id
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "안녕하세요\n.a line with a dot" in text
    parts = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert parts["보고서 2026.pdf"] == pdf
    # The Sent folder holds exactly the bytes the server received.
    sent = outgoing.sent_message
    assert sent.folder == Folder.SENT
    with sent.raw_file.open("rb") as f:
        assert f.read() == received.data


def test_redelivered_task_never_sends_twice(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="once",
    )
    assert outbox.deliver(outgoing.pk) == "nothing to do"
    from mailbox.tasks import send_outgoing

    send_outgoing.delay(outgoing.pk)
    assert len(server.messages) == 1


def test_temporary_failure_retries_with_backoff_then_delivers_once(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(data_replies=["451 4.3.0 Try again later", "250 2.0.0 OK"])
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="retry me",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.RETRYING
    assert "451 4.3.0 Try again later" in outgoing.last_error
    assert outgoing.next_attempt_at > timezone.now()
    assert outbox.due_for_delivery() == []  # not yet due
    assert outbox.deliver(outgoing.pk) == "nothing to do"
    Outgoing.objects.filter(pk=outgoing.pk).update(next_attempt_at=timezone.now())
    assert outbox.due_for_delivery() == [outgoing.pk]
    assert outbox.deliver(outgoing.pk) == "sent"
    delivered = [m for m in server.messages if m.accepted]
    assert len(delivered) == 1
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == (OutgoingStatus.SENT, 2)


def test_backoff_doubles():
    assert [outbox.retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]


def test_permanent_failure_fails_at_once_and_shows_the_reply(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(data_replies=["554 5.7.1 Message rejected as spam"])
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="spammy",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    assert outgoing.last_error == "554 5.7.1 Message rejected as spam"
    html = alice_client.get(reverse("folder", args=["sent"])).content.decode()
    assert "554 5.7.1 Message rejected as spam" in html


def test_one_refused_recipient_does_not_stop_the_others(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(rcpt_replies={"nobody@example.test": "550 5.1.1 No such user"})
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test, nobody@example.test",
        subject="partial",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    assert server.messages[-1].rcpt_tos == ["bob@example.test"]
    assert outgoing.refused["nobody@example.test"]["reply"] == "550 5.1.1 No such user"
    page = alice_client.get(reverse("read_message", args=[outgoing.sent_message_id]))
    assert "Refused for nobody@example.test: 550 5.1.1 No such user" in page.content.decode()


def test_a_temporarily_refused_recipient_is_retried_alone(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(rcpt_replies={"later@example.test": "452 4.2.2 Mailbox full"})
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test, later@example.test",
        subject="partial temp",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.RETRYING
    server.rcpt_replies.clear()
    Outgoing.objects.filter(pk=outgoing.pk).update(next_attempt_at=timezone.now())
    outbox.deliver(outgoing.pk)
    assert [m.rcpt_tos for m in server.messages] == [["bob@example.test"], ["later@example.test"]]
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    assert Message.objects.filter(owner=alice, folder=Folder.SENT).count() == 1


def test_unreachable_server_retries(
    alice_client, alice, unused_port, django_capture_on_commit_callbacks
):
    account = make_account(alice, smtp_port=unused_port, smtp_security="none")
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="nobody home",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.RETRYING
    with translation.override("en"):
        assert "refused" in outgoing.last_error_text.lower()


def test_gives_up_after_the_retry_limit(alice, unused_port, db):
    account = make_account(alice, smtp_port=unused_port, smtp_security="none")
    outgoing = Outgoing.objects.create(owner=alice, account=account, to="bob@example.test")
    outbox.queue_for_sending(outgoing)
    Outgoing.objects.filter(pk=outgoing.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)
    outbox.deliver(outgoing.pk)
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    assert outgoing.last_error_text.startswith(f"Gave up after {outbox.MAX_ATTEMPTS} attempts")


def test_starttls_and_auth(
    alice_client, alice, smtp_server, monkeypatch, django_capture_on_commit_callbacks
):
    server = smtp_server(tls="starttls", auth={"alice": "s3cret"})
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cert_path))
    account = smtp_account(
        alice, server, smtp_security="starttls", smtp_login="alice", smtp_password="s3cret"
    )
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="secure",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    assert server.messages[0].auth_login == "alice"


def test_wrong_smtp_password_fails_with_the_servers_reply(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(auth={"alice": "s3cret"})
    account = smtp_account(alice, server, smtp_login="alice", smtp_password="wrong")
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="bad auth",
    )
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.FAILED
    assert "535" in outgoing.last_error and "wrong" not in outgoing.last_error


def test_stuck_sending_after_the_dot_is_delivery_unknown_instead_of_resending(alice, db):
    account = make_account(alice)
    outgoing = Outgoing.objects.create(
        owner=alice,
        account=account,
        status=OutgoingStatus.SENDING,
        to="bob@example.test",
        claimed_at=timezone.now() - timedelta(hours=1),
        data_started_at=timezone.now() - timedelta(hours=1),
    )
    never_started = Outgoing.objects.create(
        owner=alice,
        account=account,
        status=OutgoingStatus.SENDING,
        to="bob@example.test",
        claimed_at=timezone.now() - timedelta(hours=1),
    )
    due = outbox.due_for_delivery()
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.UNKNOWN
    assert "The server may have accepted it" in outgoing.last_error_text
    assert due == [never_started.pk]


def test_queued_message_left_by_a_down_broker_is_swept(alice, db):
    account = make_account(alice)
    outgoing = Outgoing.objects.create(
        owner=alice,
        account=account,
        status=OutgoingStatus.QUEUED,
        to="bob@example.test",
        queued_at=timezone.now() - timedelta(minutes=5),
    )
    assert outbox.due_for_delivery() == [outgoing.pk]


def test_cancel_returns_a_queued_message_to_drafts(alice_client, alice, db):
    account = make_account(alice)
    outgoing = Outgoing.objects.create(
        owner=alice, account=account, to="bob@example.test", status=OutgoingStatus.RETRYING
    )
    alice_client.post(reverse("cancel_outgoing", args=[outgoing.pk]))
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.DRAFT


# Compose form --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "to",
            "bob@example.test, not an address",
            "“not an address” is not a valid email address.",
        ),
        ("cc", "carol@", "“carol@” is not a valid email address."),
        ("subject", "Hi\r\nBcc: victim@example.test", "The subject cannot contain line breaks."),
    ],
)
def test_compose_errors_name_the_field_and_the_bad_value(
    alice_client, alice, field, value, message
):
    account = make_account(alice)
    response = compose_post(
        alice_client, {"account": account.pk, "to": "bob@example.test", field: value}
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert not Outgoing.objects.exists()


def test_send_needs_a_recipient(alice_client, alice):
    account = make_account(alice)
    response = compose_post(alice_client, {"account": account.pk, "subject": "x"})
    assert "Add at least one recipient" in response.content.decode()


def test_attachment_limit_is_checked(alice_client, alice, settings):
    settings.WEBMAIL_MAX_ATTACHMENT_BYTES = 1000
    account = make_account(alice)
    response = compose_post(
        alice_client,
        {"account": account.pk, "to": "bob@example.test"},
        files=[SimpleUploadedFile("big.bin", b"x" * 1001)],
    )
    assert "“big.bin” is larger than" in response.content.decode()
    response = compose_post(
        alice_client,
        {"account": account.pk, "to": "bob@example.test"},
        files=[SimpleUploadedFile("a.bin", b"x" * 600), SimpleUploadedFile("b.bin", b"x" * 600)],
    )
    assert "Attachments total" in response.content.decode()


def test_cannot_send_from_another_users_account(alice_client, alice_account, bob_account):
    response = compose_post(alice_client, {"account": bob_account.pk, "to": "x@example.test"})
    assert "account" in response.context["form"].errors


def test_draft_round_trip_restores_every_field_and_attachment(alice_client, alice):
    account = make_account(alice)
    response = compose_post(
        alice_client,
        {
            "account": account.pk,
            "to": "Bob <bob@example.test>",
            "cc": "c@example.test",
            "bcc": "d@example.test",
            "subject": "초안",
            "body": "draft body",
            "request_dsn": "on",
            "request_read_receipt": "on",
        },
        files=[SimpleUploadedFile("견적서.xlsx", b"xlsx-bytes")],
        action="save",
    )
    draft = Outgoing.objects.get(owner=alice)
    assert response.url == reverse("compose_edit", args=[draft.pk])
    form = alice_client.get(response.url).context["form"]
    assert {k: form[k].value() for k in ("to", "cc", "bcc", "subject", "body")} == {
        "to": "Bob <bob@example.test>",
        "cc": "c@example.test",
        "bcc": "d@example.test",
        "subject": "초안",
        "body": "draft body",
    }
    assert form["request_dsn"].value() and form["request_read_receipt"].value()
    assert [a.filename for a in draft.attachments.all()] == ["견적서.xlsx"]
    drafts_page = alice_client.get(reverse("folder", args=["drafts"])).content.decode()
    assert "초안" in drafts_page
    # Remove the attachment on the next save.
    compose_post(
        alice_client,
        {
            "account": account.pk,
            "to": "bob@example.test",
            "remove_attachments": [draft.attachments.get().pk],
        },
        url=response.url,
        action="save",
    )
    assert not draft.attachments.exists()


def test_another_users_draft_is_404(client, alice, bob):
    draft = Outgoing.objects.create(owner=alice, account=make_account(alice))
    client.force_login(bob)
    assert client.get(reverse("compose_edit", args=[draft.pk])).status_code == 404
    assert client.post(reverse("cancel_outgoing", args=[draft.pk])).status_code == 404


# Reply, forward, notifications -------------------------------------------------


def draft_from(response) -> Outgoing:
    """The draft a reply/forward view redirected to (its id ends the URL)."""
    return Outgoing.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))


def received(account, raw) -> Message:
    return ingest.store_message(account, raw, f"r-{len(raw)}-{hash(raw)}")


def test_reply_threads_and_injection_in_the_original_is_cleaned(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    original = received(account, mf.crlf_injection_subject())
    response = alice_client.post(reverse("reply", args=[original.pk]))
    draft = draft_from(response)
    assert "\r" not in draft.subject and "\n" not in draft.subject
    assert draft.subject.startswith("Re: ")
    assert draft.in_reply_to == original.message_id
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {"account": account.pk, "to": draft.to, "subject": draft.subject, "body": draft.body},
            url=response.url,
        )
    msg = parse(server.messages[0].data)
    assert msg["In-Reply-To"] == f"<{original.message_id}>"
    assert f"<{original.message_id}>" in msg["References"]
    assert "Bcc" not in msg
    assert len(msg.get_all("Subject")) == 1


def test_reply_all_leaves_out_the_users_own_address(alice_client, alice):
    account = make_account(alice)
    raw = mf.plain(
        "Team",
        "hi\n",
        from_="Bob <bob@example.test>",
        to="alice@example.test, carol@example.test",
        headers=[("Cc", "dave@example.test")],
    )
    original = received(account, raw)
    response = alice_client.post(reverse("reply", args=[original.pk]), {"all": "1"})
    draft = draft_from(response)
    assert "bob@example.test" in draft.to
    assert "alice@example.test" not in draft.to + draft.cc
    assert "carol@example.test" in draft.cc and "dave@example.test" in draft.cc


def test_forward_inline_keeps_attachments_and_forward_as_attachment_attaches_eml(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    raw = mf.with_attachments(
        attachments=[("보고서.pdf", "application/pdf", b"%PDF-x")], subject="Quarterly"
    )
    original = received(account, raw)
    response = alice_client.post(reverse("forward", args=[original.pk]))
    draft = draft_from(response)
    assert draft.subject == "Fwd: Quarterly"
    assert "Forwarded message" in draft.body
    assert [a.filename for a in draft.attachments.all()] == ["보고서.pdf"]

    response = alice_client.post(reverse("forward", args=[original.pk]), {"as": "attachment"})
    draft = draft_from(response)
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {"account": account.pk, "to": "bob@example.test", "subject": draft.subject},
            url=response.url,
        )
    msg = parse(server.messages[-1].data)
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == "message/rfc822"


def test_dsn_requested_when_supported(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(dsn=True)
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="dsn",
        request_dsn="on",
    )
    outgoing.refresh_from_db()
    assert outgoing.dsn_supported is True
    received_msg = server.messages[0]
    assert "RET=HDRS" in received_msg.mail_options
    assert any("NOTIFY=SUCCESS,FAILURE" in o for o in received_msg.rcpt_options)


def test_dsn_not_supported_is_said_on_the_sent_message(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server(dsn=False)
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="no dsn",
        request_dsn="on",
    )
    outgoing.refresh_from_db()
    assert outgoing.dsn_supported is False
    page = alice_client.get(reverse("read_message", args=[outgoing.sent_message_id]))
    assert "does not support delivery status notifications" in page.content.decode()


def test_read_receipt_is_requested_and_offered_never_automatic(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test",
        subject="please confirm",
        request_read_receipt="on",
    )
    sent_bytes = server.messages[0].data
    assert parse(sent_bytes)["Disposition-Notification-To"]
    # Bob's side: the message arrives asking for a receipt.
    incoming = received(account, sent_bytes)
    assert incoming.read_receipt_to == "alice@example.test"
    page = alice_client.get(reverse("read_message", args=[incoming.pk])).content.decode()
    assert "Send read receipt" in page
    assert len(server.messages) == 1  # opening did not send anything
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("send_read_receipt", args=[incoming.pk]))
    mdn = server.messages[1]
    assert mdn.rcpt_tos == ["alice@example.test"]
    assert b"disposition-notification" in mdn.data
    # The receipt comes back and is shown on the sent message.
    reports.record_report(alice.pk, mdn.data)
    outgoing.refresh_from_db()
    assert outgoing.reports[0]["kind"] == "mdn"
    page = alice_client.get(reverse("read_message", args=[outgoing.sent_message_id]))
    assert "Read by" in page.content.decode()


def test_incoming_bounce_is_matched_to_the_sent_message(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    outgoing = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="ghost@example.test",
        subject="to a ghost",
    )
    bounce = mf.message(
        mf.multipart(
            "report",
            mf.text_part("Delivery failed.\n"),
            mf.part(
                b"Reporting-MTA: dns; mx.example.test\r\n\r\n"
                b"Final-Recipient: rfc822; ghost@example.test\r\n"
                b"Action: failed\r\nStatus: 5.1.1\r\n"
                b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n",
                "message/delivery-status",
            ),
            mf.part(
                f"Message-ID: <{outgoing.message_id}>\r\nSubject: to a ghost\r\n".encode(),
                "text/rfc822-headers",
            ),
        ).replace(b"multipart/report;", b"multipart/report; report-type=delivery-status;"),
        subject="Undelivered Mail Returned to Sender",
        from_="MAILER-DAEMON@example.test",
    )
    ingest.store_message(account, bounce, "bounce-1")
    outgoing.refresh_from_db()
    assert outgoing.reports[0]["action"] == "failed"
    page = alice_client.get(reverse("read_message", args=[outgoing.sent_message_id]))
    assert "Failed for ghost@example.test: smtp; 550 5.1.1 User unknown" in page.content.decode()


def test_broker_down_at_send_leaves_the_message_queued_for_the_sweeper(
    alice_client, alice, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from mailbox import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_outgoing, "delay", broker_down)
    account = make_account(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {
                "account": account.pk,
                "to": "bob@example.test",
                "subject": "while the broker is down",
            },
        )
    assert response.status_code == 302
    outgoing = Outgoing.objects.get(owner=alice)
    assert outgoing.status == OutgoingStatus.QUEUED
    assert "Queued" in alice_client.get(reverse("folder", args=["sent"])).content.decode()
    Outgoing.objects.filter(pk=outgoing.pk).update(queued_at=timezone.now() - timedelta(minutes=2))
    assert outbox.due_for_delivery() == [outgoing.pk]


def test_data_start_is_recorded_only_when_data_begins(alice, smtp_server, monkeypatch, db):
    from mailcore import smtp

    server = smtp_server(rcpt_replies={"bob@example.test": "451 4.7.1 Greylisted"})
    account = smtp_account(alice, server)
    outgoing = Outgoing.objects.create(owner=alice, account=account, to="bob@example.test")
    outbox.queue_for_sending(outgoing)
    outbox.deliver(outgoing.pk)  # every RCPT refused: DATA never started
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.RETRYING
    assert outgoing.data_started_at is None

    # A worker that dies after writing the final dot leaves data_started_at behind.
    server.rcpt_replies.clear()
    Outgoing.objects.filter(pk=outgoing.pk).update(next_attempt_at=timezone.now())
    real_send = smtp.send_message

    def die_after_the_dot(*args, before_dot, **kwargs):
        before_dot()
        raise SystemExit("worker killed")

    monkeypatch.setattr(smtp, "send_message", die_after_the_dot)
    with pytest.raises(SystemExit):
        outbox.deliver(outgoing.pk)
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENDING and outgoing.data_started_at
    monkeypatch.setattr(smtp, "send_message", real_send)
    expired = timezone.now() - timedelta(seconds=1)  # the lease ran out
    Outgoing.objects.filter(pk=outgoing.pk).update(lease_until=expired)
    assert outbox.due_for_delivery() == []
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.UNKNOWN
    assert server.delivered == []


def _delete_forever(client, message, capture) -> None:
    client.post(reverse("bulk_action"), {"action": "trash", "ids": [message.pk]})
    with capture(execute=True):
        client.post(
            reverse("bulk_action"),
            {"action": "delete_forever", "ids": [message.pk], "folder": "trash", "confirm": "on"},
        )
    assert not Message.objects.filter(pk=message.pk).exists()


def test_deleting_the_original_keeps_the_attachment_a_forward_draft_uses(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    raw = mf.with_attachments(attachments=[("계약서.pdf", "application/pdf", b"%PDF-shared")])
    original = received(account, raw)
    response = alice_client.post(reverse("forward", args=[original.pk]))
    draft = draft_from(response)
    [attachment] = draft.attachments.all()
    assert attachment.file.name == original.attachments.get().file.name  # one shared file

    _delete_forever(alice_client, original, django_capture_on_commit_callbacks)
    with attachment.file.open("rb") as f:
        assert f.read() == b"%PDF-shared"


def test_deleting_the_sent_copy_keeps_the_bytes_of_the_outgoing_message(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    outgoing = send_now(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )
    outgoing.refresh_from_db()
    sent = outgoing.sent_message
    assert sent.raw_file.name == outgoing.raw_file.name  # the Sent copy is the same file

    _delete_forever(alice_client, sent, django_capture_on_commit_callbacks)
    with outgoing.raw_file.open("rb") as f:
        assert f.read().startswith(b"Date: ")


def test_forward_as_attachment_survives_deleting_the_original(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    raw = mf.with_attachments(attachments=[("a.pdf", "application/pdf", b"%PDF-1")])
    original = received(account, raw)
    response = alice_client.post(reverse("forward", args=[original.pk]), {"as": "attachment"})
    draft = draft_from(response)
    [attachment] = draft.attachments.all()  # listed, and removable, like any attachment
    assert attachment.content_type == "message/rfc822"

    _delete_forever(alice_client, original, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {"account": account.pk, "to": "bob@example.test", "subject": draft.subject},
            url=response.url,
        )
    sent = server.messages[-1].data
    [part] = list(parse(sent).iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    assert raw in sent  # the original's bytes, verbatim
