"""manage.py rederive_parts: stored mail brought up to date with today's parser (issue 26).

Rows stored by an older parser are simulated by writing what it stored (a re-serialised
attached message, a named inline body listed only as an attachment, a local-part-only
sender kept as a name) over the rows of a freshly stored message.
"""

from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from mailbox import ingest
from mailbox.models import Attachment, Message
from testkit import mailfactory as mf

CRLF = b"\r\n"
PLACEHOLDER = b"Message removed\r\n"
NOTE = "Figures are attached.\n"


def bounce() -> bytes:
    attached = (
        mf.header_block([("Content-Type", "message/rfc822")]) + CRLF + PLACEHOLDER
    )  # no header section: the old parser stored it with a blank line in front
    named = mf.text_part(NOTE, headers=[("Content-Disposition", 'inline; filename="note.txt"')])
    return mf.message(mf.multipart("mixed", named, attached), from_="mailer-daemon")


def as_the_old_parser_stored_it(message: Message) -> None:
    """The rows the parser before issue 26 wrote for bounce()."""
    old_payload = CRLF + PLACEHOLDER
    name, digest = ingest.store_blob("attachments", old_payload)
    message.attachments.all().delete()
    Attachment.objects.create(
        message=message,
        filename="note.txt",
        safe_name="note.txt",
        content_type="text/plain",
        size=len(NOTE) + 1,
        sha256="0" * 64,
        file=name,
    )
    Attachment.objects.create(
        message=message,
        filename="",
        safe_name="attachment-2.eml",
        content_type="message/rfc822",
        size=len(old_payload),
        sha256=digest,
        file=name,
    )
    Message.objects.filter(pk=message.pk).update(
        text_body="", snippet="", from_name="mailer-daemon", from_address=""
    )


def run(*args) -> str:
    out = StringIO()
    call_command("rederive_parts", *args, stdout=out)
    return out.getvalue()


def read(attachment: Attachment) -> bytes:
    with default_storage.open(attachment.file.name, "rb") as f:
        return f.read()


@pytest.fixture
def old_bounce(alice_account) -> Message:
    message = ingest.store_message(alice_account, bounce(), "u-bounce")
    as_the_old_parser_stored_it(message)
    return message


def test_rederive_restores_exact_parts_body_and_sender(old_bounce):
    output = run("alice")
    assert "checked 1 messages, changed 1" in output
    assert "  attachments: 1" in output
    assert "  text_body: 1" in output
    message = Message.objects.get(pk=old_bounce.pk)
    assert message.text_body == NOTE
    assert message.snippet == "Figures are attached."
    assert (message.from_name, message.from_address) == ("", "mailer-daemon")
    note, attached = message.attachments.order_by("id")
    assert (note.filename, read(note)) == ("note.txt", mf.crlf(NOTE))
    assert attached.content_type == "message/rfc822"
    assert read(attached) == PLACEHOLDER  # the exact slice, no blank line in front
    assert attached.size == len(PLACEHOLDER)


def test_rederive_twice_changes_nothing_the_second_time(old_bounce):
    run("alice")
    ids = list(Message.objects.get(pk=old_bounce.pk).attachments.values_list("id", flat=True))
    output = run("alice")
    assert "checked 1 messages, changed 0" in output
    again = Message.objects.get(pk=old_bounce.pk).attachments.values_list("id", flat=True)
    assert list(again) == ids  # not even rewritten


def test_mail_stored_by_todays_parser_needs_nothing(alice_account):
    ingest.store_message(alice_account, bounce(), "u-new")
    ingest.store_message(alice_account, mf.forwarded(mf.plain()), "u-fwd")
    assert "checked 2 messages, changed 0" in run("--all")


def test_dry_run_reports_and_writes_nothing(old_bounce):
    output = run("alice", "--dry-run")
    assert "dry run: nothing was written" in output
    assert "changed 1" in output
    message = Message.objects.get(pk=old_bounce.pk)
    assert message.text_body == ""
    assert message.attachments.count() == 2
    assert read(message.attachments.order_by("id").last()) == CRLF + PLACEHOLDER


def test_only_the_named_users_mail_is_touched(old_bounce, bob_account):
    bobs = ingest.store_message(bob_account, bounce(), "u-bob")
    as_the_old_parser_stored_it(bobs)
    assert "checked 1 messages, changed 1" in run("alice")
    assert Message.objects.get(pk=bobs.pk).text_body == ""  # bob's is left alone
    assert Message.objects.get(pk=old_bounce.pk).text_body == NOTE


def test_missing_original_is_reported_and_left_alone(old_bounce):
    default_storage.delete(old_bounce.raw_file.name)
    output = run("alice")
    assert "original missing or unreadable: 1 (left as they are)" in output
    assert Message.objects.get(pk=old_bounce.pk).attachments.count() == 2


def test_unknown_user_or_no_selection_is_an_error(db):
    with pytest.raises(CommandError, match="no such user: nobody"):
        run("nobody")
    with pytest.raises(CommandError, match="--all"):
        run()
