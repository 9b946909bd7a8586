"""Data migrations carry existing rows over."""

import pytest

from tests.migrating import back_to_latest, migrate  # noqa: F401 - a fixture

BEFORE = [("mailbox", "0004_add_outgoing_messages_and_read_receipts")]
AFTER = [("mailbox", "0005_forwarded_originals_as_attachments")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_messages_stored_before_initials_get_the_initials_of_their_korean_names():
    apps = migrate([("mailbox", "0006_add_name_initials_for_initial_consonant_search")])
    user = apps.get_model("accounts", "User").objects.create(username="mig")
    account = apps.get_model("accounts", "MailAccount").objects.create(
        user=user, email="mig@example.test", pop3_host="127.0.0.1", smtp_host="127.0.0.1"
    )
    Message = apps.get_model("mailbox", "Message")
    common = {
        "owner": user,
        "account": account,
        "size": 1,
        "raw_sha256": "ab" * 32,
        "raw_file": "raw/x.eml",
        "date": "2026-03-08T06:20:00Z",
    }
    korean = Message.objects.create(
        uidl="u1",
        from_name="김지현",
        from_address="jihyun@example.kr",
        to="이 민수 <minsu@example.kr>, Bob <bob@example.test>, seoyeon@example.kr",
        cc="최지우 <jiwoo@example.kr>",
        **common,
    )
    english = Message.objects.create(uidl="u2", from_name="Bob", to="alice@example.test", **common)

    apps = migrate([("mailbox", "0007_fill_name_initials_of_existing_messages")])
    Message = apps.get_model("mailbox", "Message")
    assert Message.objects.get(pk=korean.pk).name_initials == "ㄱㅈㅎ ㅇㅁㅅ ㅊㅈㅇ"
    assert Message.objects.get(pk=english.pk).name_initials == ""
