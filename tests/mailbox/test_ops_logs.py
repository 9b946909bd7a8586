"""One structured log line per poll and per delivery attempt, with no secrets or content.

Real servers: a poll of Dovecot and a send through aiosmtpd, their log records captured.
"""

import logging
import re

import pytest

from mailbox import ingest, oplog, outbox
from mailbox.models import Outgoing, OutgoingStatus
from testkit.mailfactory import mail
from tests.conftest import dovecot_account, make_account
from tests.mailbox.test_send import send_now, smtp_account

SUBJECT = "Quarterly numbers 분기 실적"


def ops_lines(caplog, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "webmail.ops" and r.ops.get("event") == event]


def fields(record: logging.LogRecord) -> dict[str, str]:
    return dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', record.getMessage()))


# The test servers' own loggers (aiosmtpd's "mail.log" repeats the envelope).
TEST_SERVER_LOGGERS = ("mail.log", "asyncio")


def assert_nothing_secret(caplog, *secrets: str) -> None:
    """No record of the application's loggers holds a secret or the message's content."""
    text = "\n".join(
        r.getMessage() + repr(getattr(r, "ops", ""))
        for r in caplog.records
        if not r.name.startswith(TEST_SERVER_LOGGERS)
    )
    for secret in secrets:
        assert secret not in text, secret


@pytest.mark.dovecot
def test_a_poll_logs_one_line_with_counts_bytes_duration_and_result(
    alice, dovecot, pop3_user, caplog
):
    delivered = pop3_user.deliver(mail(subject=SUBJECT, sender="Kim <kim@example.kr>"))
    pop3_user.deliver(mail(subject="second"))
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    caplog.set_level(logging.DEBUG)

    result = ingest.poll_account(account.pk)

    (record,) = ops_lines(caplog, "poll")
    values = fields(record)
    assert values["event"] == "poll"
    assert values["account"] == str(account.pk)
    assert values["result"] == "ok"
    assert values["new"] == "2" and values["deleted"] == "2" and values["skipped"] == "0"
    assert int(values["bytes"]) == result.bytes >= len(delivered.wire)
    assert int(values["duration_ms"]) >= 0
    assert record.levelno == logging.INFO
    assert record.ops["new"] == 2  # the same values, typed, for a JSON formatter
    assert_nothing_secret(
        caplog, pop3_user.password, SUBJECT, "분기", "kim@example.kr", alice.email
    )


@pytest.mark.dovecot
def test_a_failed_poll_logs_the_kind_of_error_but_not_the_password(
    alice, dovecot, pop3_user, caplog
):
    account = dovecot_account(alice, dovecot, pop3_user, pop3_password="wrong-Pa55word")
    caplog.set_level(logging.INFO)

    ingest.poll_account(account.pk)

    (record,) = ops_lines(caplog, "poll")
    values = fields(record)
    assert (values["result"], values["account"], values["new"]) == ("error", str(account.pk), "0")
    assert values["error"]  # a kind ("reply": the server's words stay out of the log)
    assert record.levelno == logging.WARNING
    assert_nothing_secret(caplog, "wrong-Pa55word", pop3_user.password, pop3_user.name)


def test_a_crashing_poll_still_logs_its_line(alice, caplog, monkeypatch):
    account = make_account(alice)
    caplog.set_level(logging.INFO)

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ingest, "open_session", boom)
    with pytest.raises(RuntimeError):
        ingest.poll_account(account.pk)

    (record,) = ops_lines(caplog, "poll")
    assert fields(record)["result"] == "crashed" and fields(record)["error"] == "RuntimeError"
    assert record.levelno == logging.ERROR


def test_a_delivery_attempt_logs_one_line_with_recipients_bytes_and_result(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks, caplog
):
    server = smtp_server(
        auth={"alice": "smtp-Pa55word"},
        rcpt_replies={"nobody@example.test": "550 5.1.1 No such user"},
    )
    account = smtp_account(alice, server, smtp_login="alice", smtp_password="smtp-Pa55word")
    caplog.set_level(logging.DEBUG)

    sent = send_now(
        alice_client,
        account,
        django_capture_on_commit_callbacks,
        to="bob@example.test, nobody@example.test",
        subject=SUBJECT,
        body="the secret plan",
    )

    sent.refresh_from_db()
    assert sent.status == OutgoingStatus.SENT
    (record,) = ops_lines(caplog, "delivery")
    values = fields(record)
    assert values["outgoing"] == str(sent.pk) and values["account"] == str(account.pk)
    assert (values["result"], values["attempt"]) == ("sent", "1")
    assert (values["recipients"], values["accepted"], values["refused"]) == ("2", "1", "1")
    assert values["deferred"] == "0"
    assert int(values["bytes"]) == sent.size == len(server.messages[0].data)
    assert int(values["duration_ms"]) >= 0
    assert_nothing_secret(
        caplog,
        "smtp-Pa55word",
        SUBJECT,
        "분기",
        "the secret plan",
        "bob@example.test",
        "nobody@example.test",
        alice.email,
        "No such user",
    )

    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="webmail.ops")
    assert outbox.deliver(sent.pk) == "nothing to do"  # a redelivered task: no attempt
    (again,) = ops_lines(caplog, "delivery")
    assert again.levelno == logging.DEBUG and fields(again)["result"] == "not_due"


def test_a_temporary_failure_logs_retrying_with_the_kind_of_error(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks, caplog
):
    server = smtp_server(data_replies=["451 4.3.0 Try again later", "250 2.0.0 OK"])
    account = smtp_account(alice, server)
    caplog.set_level(logging.INFO)

    sent = send_now(
        alice_client, account, django_capture_on_commit_callbacks, to="bob@example.test"
    )

    (record,) = ops_lines(caplog, "delivery")
    values = fields(record)
    assert values["result"] == "retrying" and values["error"] == "reply"
    assert values["deferred"] == "1" and values["accepted"] == "0"
    assert record.levelno == logging.WARNING
    assert "Try again later" not in caplog.text
    assert Outgoing.objects.get(pk=sent.pk).status == OutgoingStatus.RETRYING


def test_values_with_spaces_are_quoted():
    assert (
        oplog.line("poll", account=1, error="no space") == 'event=poll account=1 error="no space"'
    )
    assert oplog.error_kind('{"code": "timeout", "host": "pop.example.com"}') == "timeout"
    assert oplog.error_kind("-ERR [AUTH] Authentication failed.") == "reply"
