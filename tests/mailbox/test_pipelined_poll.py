"""A poll downloads with pipelined RETRs where the server offers PIPELINING (Dovecot does),
one at a time where it does not, and a connection cut while RETRs are in flight loses
and duplicates nothing: what was committed stays, nothing uncommitted is DELEd."""

import errno
import os
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from mailbox import blobs, downloads, ingest
from mailbox.models import Message
from mailcore import pop3
from testkit.mailfactory import mail
from tests.conftest import dovecot_account, make_account

pytestmark = pytest.mark.dovecot


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def stored_raw(message: Message) -> bytes:
    with default_storage.open(message.raw_file.name, "rb") as f:
        return f.read()


def deliver_mixed(pop3_user, count: int) -> list:
    """Plain, dot-line and attachment-bearing messages, some of them large."""
    delivered = []
    for i in range(count):
        if i % 3 == 0:
            raw = mail(subject=f"plain {i}", body=f"{i}\n.\n..dots\n" * 200)
        elif i % 3 == 1:
            pdf = bytes(range(256)) * (40 * i + 1)
            raw = mail(subject=f"attached {i}", attachments=[(f"f{i}.pdf", "application/pdf", pdf)])
        else:
            raw = mail(subject=f"큰 편지 {i}", body="가나다라\n" * 20000)
        delivered.append(pop3_user.deliver(raw))
    return delivered


def assert_stored_exactly_once(account, delivered) -> None:
    messages = list(Message.objects.filter(account=account))
    assert sorted(m.uidl for m in messages) == sorted(d.uid for d in delivered)
    by_uidl = {m.uidl: m for m in messages}
    for d in delivered:
        assert stored_raw(by_uidl[d.uid]) == d.wire


@pytest.fixture
def retr_calls(monkeypatch):
    """How the poll downloaded: the session's PIPELINING flag for each retr_many call."""
    seen: list[bool] = []
    original = pop3.POP3Session.retr_many

    def recording(self, numbers, depth=None):
        seen.append(self.pipelining)
        return original(self, numbers, depth)

    monkeypatch.setattr(pop3.POP3Session, "retr_many", recording)
    return seen


def test_a_pipelined_poll_stores_every_message_byte_exact_once_and_deletes_them(
    alice, dovecot, pop3_user, retr_calls
):
    delivered = deliver_mixed(pop3_user, 24)
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    switch_interval = sys.getswitchinterval()

    result = ingest.poll_account(account.pk)

    assert (result.error, result.new, result.deleted) == ("", 24, 24)
    assert retr_calls == [True]  # Dovecot offers PIPELINING, and the poll used it
    assert sys.getswitchinterval() == switch_interval  # shortened during the poll only
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0


def test_a_poll_of_a_server_without_pipelining_stores_every_message(alice, fake_pop3, retr_calls):
    messages = [
        mail(subject=f"lock-step {i}", body=f".{i}\n")
        .replace(b"\r\n", b"\n")
        .replace(b"\n", b"\r\n")
        for i in range(5)
    ]
    server = fake_pop3(messages, uidls=[f"u{i}" for i in range(5)])
    account = make_account(
        alice,
        pop3_host=server.host,
        pop3_port=server.port,
        pop3_security="none",
        pop3_login=server.username,
        pop3_password=server.password,
        leave_on_server=False,
    )

    result = ingest.poll_account(account.pk)

    assert (result.error, result.new, result.deleted) == ("", 5, 5)
    assert retr_calls == [False]
    stored = {m.uidl: stored_raw(m) for m in Message.objects.filter(account=account)}
    assert stored == {f"u{i}": raw for i, raw in enumerate(messages)}
    assert server.commands.count("RETR") == 5
    assert server.commands.count("DELE") == 5


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_a_connection_cut_mid_pipeline_loses_and_duplicates_nothing(
    alice, dovecot, pop3_user, cut_proxy, reset
):
    delivered = deliver_mixed(pop3_user, 12)
    total = sum(len(d.wire) for d in delivered)
    proxy = cut_proxy(dovecot.host, dovecot.port, cut_after_bytes=total // 2, reset=reset)
    account = dovecot_account(
        alice, dovecot, pop3_user, pop3_port=proxy.port, leave_on_server=False
    )

    cut = ingest.poll_account(account.pk)

    assert proxy.cuts == 1
    assert cut.error
    assert cut.deleted == 0
    committed = Message.objects.filter(account=account)
    assert committed.count() == cut.new < 12
    for message in committed:  # what was committed before the cut is whole
        assert stored_raw(message) in {d.wire for d in delivered}
    assert pop3_user.server_message_count() == 12  # no QUIT reached the server

    proxy.cut_after_bytes = 10**12
    resumed = ingest.poll_account(account.pk)

    assert resumed.error == ""
    assert resumed.new == 12 - cut.new
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0


def test_a_failed_fsync_while_later_messages_download_stores_none_of_its_group_deletes_nothing(
    alice, dovecot, pop3_user, monkeypatch, settings
):
    delivered = deliver_mixed(pop3_user, 15)
    account = dovecot_account(alice, dovecot, pop3_user, leave_on_server=False)
    calls = 0
    fsync_file = blobs._fsync_file

    def failing_after_some(path):
        nonlocal calls
        calls += 1
        if calls > 6:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        fsync_file(path)

    with monkeypatch.context() as patch:
        patch.setattr(blobs, "_fsync_file", failing_after_some)
        failed = ingest.poll_account(account.pk)

    assert failed.error
    assert failed.deleted == 0
    assert Message.objects.filter(account=account).count() == failed.new < 15
    assert pop3_user.server_message_count() == 15
    media = Path(settings.MEDIA_ROOT)
    assert not [p for p in media.rglob("*") if p.name.endswith(blobs.TEMPORARY_SUFFIX)]

    resumed = ingest.poll_account(account.pk)

    assert (resumed.error, resumed.new) == ("", 15 - failed.new)
    assert_stored_exactly_once(account, delivered)
    assert pop3_user.server_message_count() == 0


def test_overlapping_polls_restore_the_switch_interval_only_when_the_last_one_ends():
    before = sys.getswitchinterval()
    first, second = downloads._quick_gil_handover(), downloads._quick_gil_handover()
    first.__enter__()
    second.__enter__()
    assert sys.getswitchinterval() == pytest.approx(min(downloads.SWITCH_INTERVAL, before))
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(min(downloads.SWITCH_INTERVAL, before))
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
