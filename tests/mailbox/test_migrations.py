"""Data migrations carry existing rows over."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("mailbox", "0004_add_outgoing_messages_and_read_receipts")]
AFTER = [("mailbox", "0005_forwarded_originals_as_attachments")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_forward_as_attachment_drafts_keep_the_original_as_an_attachment():
    apps = migrate(BEFORE)
    user = apps.get_model("accounts", "User").objects.create(username="mig")
    account = apps.get_model("accounts", "MailAccount").objects.create(
        user=user, email="mig@example.test", pop3_host="127.0.0.1", smtp_host="127.0.0.1"
    )
    original = apps.get_model("mailbox", "Message").objects.create(
        owner=user,
        account=account,
        uidl="u1",
        subject="분기 보고서",
        size=1234,
        raw_sha256="ab" * 32,
        raw_file="raw/ab/" + "ab" * 32 + ".eml",
        date="2026-11-26T10:00:00Z",
        received_at="2026-11-26T10:00:00Z",
    )
    draft = apps.get_model("mailbox", "Outgoing").objects.create(
        owner=user, account=account, subject="Fwd: 분기 보고서", forward_original=original
    )

    apps = migrate(AFTER)
    [attachment] = apps.get_model("mailbox", "OutgoingAttachment").objects.filter(
        outgoing_id=draft.pk
    )
    assert attachment.filename == "분기 보고서.eml"
    assert attachment.content_type == "message/rfc822"
    assert (attachment.size, attachment.sha256) == (1234, "ab" * 32)
    assert attachment.file.name == original.raw_file.name
