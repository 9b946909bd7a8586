"""Polling real POP3 servers into the database: exactly once, byte-exact, never stuck."""

import hashlib
import threading

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from mailbox import arrival, downloads, ingest
from mailbox.models import Attachment, Message, SkippedMessage
from testkit.mailfactory import mail
from tests.conftest import dovecot_account, make_account

pytestmark = pytest.mark.dovecot


def wire_mails(prefix: str, count: int) -> list[bytes]:
    """Messages with CRLF line endings, as a POP3 server sends them."""
    return [
        mail(subject=f"{prefix} {i}").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for i in range(count)
    ]


def fake_pop3_account(user, server):
    return make_account(
        user,
        pop3_host=server.host,
        pop3_port=server.port,
        pop3_security="none",
        pop3_login=server.username,
        pop3_password=server.password,
    )


def stored_raw(message: Message) -> bytes:
    with default_storage.open(message.raw_file.name, "rb") as f:
        return f.read()


def test_poll_stores_each_message_byte_exact_with_decoded_fields(alice, dovecot, pop3_user):
    pdf = b"%PDF-1.4 fake pdf bytes\x00\xff" * 100
    delivered = pop3_user.deliver(
        mail(
            subject="회의 자료 — meeting notes",
            body="안녕하세요, 자료 첨부합니다.\n",
            sender="김철수 <chulsoo@example.kr>",
            attachments=[("보고서 2026.pdf", "application/pdf", pdf)],
        )
    )
    account = dovecot_account(alice, dovecot, pop3_user)

    result = ingest.poll_account(account.pk)

    assert (result.new, result.error) == (1, "")
    message = Message.objects.get(account=account)
    assert stored_raw(message) == delivered.wire
    assert message.raw_sha256 == hashlib.sha256(delivered.wire).hexdigest()
    assert message.size == len(delivered.wire)
    assert message.uidl == delivered.uid
    assert message.owner == alice
    assert message.subject == "회의 자료 — meeting notes"
    assert (message.from_name, message.from_address) == ("김철수", "chulsoo@example.kr")
    assert "안녕하세요" in message.text_body
    assert message.has_attachments
    attachment = message.attachments.get()
    assert attachment.filename == "보고서 2026.pdf"
    assert attachment.content_type == "application/pdf"
    with default_storage.open(attachment.file.name, "rb") as f:
        assert f.read() == pdf
    assert attachment.sha256 == hashlib.sha256(pdf).hexdigest()


def test_second_poll_stores_nothing_new(alice, dovecot, pop3_user):
    for i in range(3):
        pop3_user.deliver(mail(subject=f"message {i}"))
    account = dovecot_account(alice, dovecot, pop3_user)
    assert ingest.poll_account(account.pk).new == 3
    assert ingest.poll_account(account.pk).new == 0
    pop3_user.deliver(mail(subject="a later one"))
    assert ingest.poll_account(account.pk).new == 1
    assert Message.objects.filter(account=account).count() == 4


def test_leave_on_server_keeps_messages_on_the_server(alice, dovecot, pop3_user):
    pop3_user.deliver(mail(subject="keep me"))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=True)
    assert ingest.poll_account(account.pk).new == 1
    assert pop3_user.server_message_count() == 1


def test_delete_after_download_removes_messages_once_stored(alice, dovecot, pop3_user):
    for i in range(2):
        pop3_user.deliver(mail(subject=f"take me {i}"))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    result = ingest.poll_account(account.pk)
    assert (result.new, result.deleted) == (2, 2)
    assert pop3_user.server_message_count() == 0
    assert Message.objects.filter(account=account).count() == 2


def test_delete_after_download_keeps_message_on_server_until_stored(
    alice, dovecot, pop3_user, monkeypatch
):
    pop3_user.deliver(mail(subject="first"))
    pop3_user.deliver(mail(subject="second"))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    real_store = ingest.store_batch
    calls = []

    def store_then_crash(account, batch, **kw):
        stored = []
        for fetched, uidl in batch:  # one commit each, the second never comes
            calls.append(uidl)
            if len(calls) == 2:
                raise RuntimeError("database went away")
            stored += real_store(account, [(fetched, uidl)], **kw)
        return stored

    monkeypatch.setattr(ingest, "store_batch", store_then_crash)
    with pytest.raises(RuntimeError):
        ingest.poll_account(account.pk)
    # The first message is stored, but nothing was deleted: no QUIT was sent.
    assert Message.objects.filter(account=account).count() == 1
    assert pop3_user.server_message_count() == 2

    monkeypatch.setattr(ingest, "store_batch", real_store)
    result = ingest.poll_account(account.pk)
    assert result.new == 1
    assert result.deleted == 2  # the one stored earlier is deleted now, not fetched again
    assert pop3_user.server_message_count() == 0
    assert sorted(Message.objects.filter(account=account).values_list("subject", flat=True)) == [
        "first",
        "second",
    ]


def test_storing_a_batch_costs_the_same_queries_for_two_messages_or_twenty(alice_account):
    def queries(count: int, start: int) -> int:
        batch = [
            (
                ingest.prepare_message(
                    mail(
                        subject=f"batch {start + i}",
                        attachments=[("a.txt", "text/plain", f"{start + i}".encode())],
                    )
                ),
                f"q-{start + i}",
            )
            for i in range(count)
        ]
        with arrival.one_poll(), CaptureQueriesContext(connection) as ctx:
            stored = ingest.store_batch(alice_account, batch, on_arrival=True)
        assert all(m is not None for m in stored)
        return len(ctx.captured_queries)

    assert queries(2, 100) == queries(20, 200)
    assert Attachment.objects.filter(message__account=alice_account).count() == 22


def test_a_batch_with_a_uidl_stored_meanwhile_stores_the_others_once(alice_account):
    raws = [mail(subject=f"race {i}") for i in range(3)]
    assert ingest.store_message(alice_account, raws[1], "u-1") is not None  # a racing poll

    stored = ingest.store_batch(
        alice_account, [(ingest.prepare_message(raw), f"u-{i}") for i, raw in enumerate(raws)]
    )

    assert [m is not None for m in stored] == [True, False, True]
    assert sorted(Message.objects.filter(account=alice_account).values_list("uidl", flat=True)) == [
        "u-0",
        "u-1",
        "u-2",
    ]


def test_a_poll_while_another_holds_the_lock_exits_at_once(alice, dovecot, pop3_user):
    pop3_user.deliver(mail())
    account = dovecot_account(alice, dovecot, pop3_user)
    assert ingest.acquire_poll_lock(account.pk)
    result = ingest.poll_account(account.pk)
    assert result.locked
    assert not Message.objects.filter(account=account).exists()
    ingest.release_poll_lock(account.pk)
    assert ingest.poll_account(account.pk).new == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_polls_store_each_message_once(alice, dovecot, pop3_user):
    for i in range(20):
        pop3_user.deliver(mail(subject=f"race {i}", body="x" * 5000))
    account = dovecot_account(alice, dovecot, pop3_user)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def poll_without_lock():
        # Both polls list and fetch the same messages: only the unique
        # (account, UIDL) constraint stands between them and duplicates.
        try:
            with ingest.open_session(account) as session:
                result = ingest.PollResult(account.pk)
                barrier.wait()
                ingest.fetch_new_messages(account, session, result)
                results.append(result)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll_without_lock) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(r.new for r in results) == 20
    assert Message.objects.filter(account=account).count() == 20


def test_connection_cut_mid_retr_loses_and_duplicates_nothing(alice, dovecot, pop3_user, cut_proxy):
    delivered = [
        pop3_user.deliver(mail(subject=f"cut {i}", body=f"{i}\n" * 20000)) for i in range(5)
    ]
    # Cut each connection ~2.5 messages in, so every poll stores a little and dies.
    proxy = cut_proxy(dovecot.host, dovecot.port, cut_after_bytes=100_000)
    account = dovecot_account(
        alice, dovecot, pop3_user, pop3_port=proxy.port, leave_on_server=False
    )
    errors = []
    for _ in range(10):
        result = ingest.poll_account(account.pk)
        if result.error:
            errors.append(result.error)
        if Message.objects.filter(account=account).count() == 5:
            break
    assert errors, "the proxy should have cut at least one poll"
    assert Message.objects.filter(account=account).count() < 5 or proxy.cuts >= 1
    # Let the next poll through untouched: it deletes what is stored and quits.
    proxy.cut_after_bytes = 10**12
    ingest.poll_account(account.pk)
    messages = Message.objects.filter(account=account)
    assert messages.count() == 5
    assert sorted(stored_raw(m) for m in messages) == sorted(d.wire for d in delivered)
    assert pop3_user.server_message_count() == 0


def test_wrong_password_records_the_servers_reply_and_backs_off(alice, dovecot, pop3_user):
    account = dovecot_account(alice, dovecot, pop3_user, pop3_password="wrong-password")
    result = ingest.poll_account(account.pk)
    account.refresh_from_db()
    assert "Authentication failed" in result.error
    assert account.last_poll_error == result.error
    assert "wrong-password" not in account.last_poll_error
    assert account.auth_failures == 1
    first_delay = account.next_poll_at - account.last_poll_at
    ingest.poll_account(account.pk)
    account.refresh_from_db()
    assert account.auth_failures == 2
    assert account.next_poll_at - account.last_poll_at > first_delay


def test_server_down_is_recorded(alice, unused_port, db):
    account = make_account(
        alice, pop3_host="127.0.0.1", pop3_port=unused_port, pop3_security="none"
    )
    result = ingest.poll_account(account.pk)
    account.refresh_from_db()
    with translation.override("en"):
        assert "refused" in account.last_poll_error_text.lower()
    assert account.last_poll_error == result.error
    assert account.auth_failures == 0


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_polls_verify_the_servers_certificate(alice, dovecot, pop3_user, monkeypatch, security):
    pop3_user.deliver(mail(subject=f"over {security}"))
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    account = dovecot_account(alice, dovecot, pop3_user, pop3_security=security, pop3_port=port)
    # Untrusted self-signed certificate: refused.
    result = ingest.poll_account(account.pk)
    assert "certificate" in result.error.lower()
    # Trust the test CA (OpenSSL reads SSL_CERT_FILE): verified and fetched.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert_path))
    assert ingest.poll_account(account.pk).new == 1


def test_insecure_tls_account_accepts_a_self_signed_certificate(alice, dovecot, pop3_user):
    pop3_user.deliver(mail())
    account = dovecot_account(
        alice,
        dovecot,
        pop3_user,
        pop3_security="ssl",
        pop3_port=dovecot.ssl_port,
        allow_insecure_tls=True,
    )
    assert ingest.poll_account(account.pk).new == 1


def test_too_large_message_is_left_on_the_server_and_listed(alice, dovecot, pop3_user, settings):
    settings.WEBMAIL_MAX_MESSAGE_BYTES = 50_000
    pop3_user.deliver(mail(subject="small"))
    pop3_user.deliver(mail(subject="huge", body="y" * 80 + "\n" * 1 + ("z" * 76 + "\n") * 1000))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    result = ingest.poll_account(account.pk)
    assert (result.new, result.skipped) == (1, 1)
    assert pop3_user.server_message_count() == 1
    skipped = SkippedMessage.objects.get(account=account)
    assert skipped.size > 50_000
    assert list(Message.objects.filter(account=account).values_list("subject", flat=True)) == [
        "small"
    ]
    assert ingest.poll_account(account.pk).skipped == 1
    assert SkippedMessage.objects.filter(account=account).count() == 1


def test_malformed_message_is_stored_and_does_not_block_the_next(alice, dovecot, pop3_user):
    garbage = (
        b"Subject: =?broken-charset?Q?=FF=FE?=\r\nContent-Type: multipart/mixed; "
        b'boundary="nope"\r\nContent-Transfer-Encoding: base64\r\n\r\n\xff\xfe\x00'
        b"not base64 at all {{{\r\n--nope\r\nContent-Type: text/plain; charset=x-bogus"
        b"\r\n\r\n\xc0\xc1\r\n"
    )
    bad = pop3_user.deliver(garbage)
    pop3_user.deliver(mail(subject="after the bad one"))
    account = dovecot_account(alice, dovecot, pop3_user)
    assert ingest.poll_account(account.pk).new == 2
    stored = Message.objects.get(account=account, uidl=bad.uid)
    assert stored_raw(stored) == bad.wire
    assert stored.defects
    assert Message.objects.filter(account=account, subject="after the bad one").exists()


def test_long_lines_and_dot_lines_survive(alice, dovecot, pop3_user):
    body = "<p>" + "x" * 100_000 + "</p>\n.\n..leading dots\n"
    delivered = pop3_user.deliver(mail(subject="long", body=body))
    account = dovecot_account(alice, dovecot, pop3_user)
    assert ingest.poll_account(account.pk).new == 1
    assert stored_raw(Message.objects.get(account=account)) == delivered.wire


@pytest.mark.slow
def test_one_poll_ingests_a_thousand_messages(alice, dovecot, pop3_user):
    for i in range(1000):
        pop3_user.deliver(mail(subject=f"bulk {i}", body=f"message number {i}\n"))
    account = dovecot_account(alice, dovecot, pop3_user)
    assert ingest.poll_account(account.pk).new == 1000
    assert Message.objects.filter(account=account).values("uidl").distinct().count() == 1000


@pytest.mark.slow
def test_a_25_mb_attachment_is_stored_intact(alice, dovecot, pop3_user):
    payload = bytes(range(256)) * (25 * 1024 * 1024 // 256)
    delivered = pop3_user.deliver(
        mail(subject="big", attachments=[("big.bin", "application/octet-stream", payload)])
    )
    account = dovecot_account(alice, dovecot, pop3_user)
    assert ingest.poll_account(account.pk).new == 1
    message = Message.objects.get(account=account)
    assert message.size == len(delivered.wire)
    attachment = Attachment.objects.get(message=message)
    assert attachment.size == len(payload)
    assert attachment.sha256 == hashlib.sha256(payload).hexdigest()


def test_server_without_uidl_falls_back_to_message_id_size_and_date(alice, fake_pop3, db):
    server = fake_pop3(wire_mails("no uidl", 3), uidls=None)
    account = fake_pop3_account(alice, server)
    assert ingest.poll_account(account.pk).new == 3
    assert ingest.poll_account(account.pk).new == 0
    assert all(
        u.startswith("nouidl:")
        for u in Message.objects.filter(account=account).values_list("uidl", flat=True)
    )


def test_repeated_and_overlong_uidls_are_handled(alice, fake_pop3, db):
    server = fake_pop3(wire_mails("uidl", 3), uidls=["same", "same", "L" * 300])
    account = fake_pop3_account(alice, server)
    assert ingest.poll_account(account.pk).new == 3
    assert ingest.poll_account(account.pk).new == 0
    uidls = set(Message.objects.filter(account=account).values_list("uidl", flat=True))
    assert "same" in uidls
    assert any(u.startswith("sha256:") for u in uidls)


def test_poll_mail_command_prints_each_accounts_result(alice, bob, dovecot, pop3_user, capsys):
    pop3_user.deliver(mail(subject="for the command"))
    dovecot_account(alice, dovecot, pop3_user)
    call_command("poll_mail", "alice")
    assert "alice alice@example.test: 1 new" in capsys.readouterr().out


def test_poll_mail_command_fails_on_an_account_error(alice, unused_port, db):
    make_account(alice, pop3_port=unused_port, pop3_security="none")
    with pytest.raises(CommandError):
        call_command("poll_mail")


def test_dispatcher_claims_only_due_enabled_accounts(alice, bob, db):
    from datetime import timedelta

    from django.utils import timezone

    due = make_account(alice)
    disabled = make_account(alice, email="off@example.test", enabled=False)
    later = make_account(bob, next_poll_at=timezone.now() + timedelta(minutes=3))
    claimed = ingest.due_account_ids()
    assert claimed == [due.pk]
    assert ingest.due_account_ids() == []  # claimed accounts wait for their interval
    assert disabled.pk not in claimed and later.pk not in claimed


def test_dispatcher_does_not_skip_an_account_due_a_moment_later(alice, db):
    from datetime import timedelta

    from django.utils import timezone

    account = make_account(alice, next_poll_at=timezone.now() + timedelta(seconds=2))
    assert ingest.due_account_ids() == [account.pk]


def test_prefetch_holds_back_big_messages_until_the_earlier_ones_are_stored():
    import threading as t

    budget = downloads._ByteBudget(limit=100)
    stop = t.Event()
    budget.acquire(80, stop)
    admitted = t.Event()
    waiter = t.Thread(target=lambda: (budget.acquire(50, stop), admitted.set()))
    waiter.start()
    assert not admitted.wait(0.2), "80 + 50 bytes exceed the budget"
    budget.release(80)
    assert admitted.wait(2)
    waiter.join()
    budget.release(50)
    # Alone, a message larger than the budget still goes through.
    budget.acquire(500, stop)
    assert budget.used == 500
