"""Forward-as-attachment keeps the original as a message/rfc822 attachment row.

Drafts used to point at the original message, and deleting that message forever
set the pointer to NULL: the draft went out without the attachment the user had
chosen. Existing pointers become attachment rows on the original's own file
(content-addressed, so nothing is copied) before the column goes.
"""

from django.db import migrations


def forwarded_originals_to_attachments(apps, schema_editor):
    Outgoing = apps.get_model("mailbox", "Outgoing")
    OutgoingAttachment = apps.get_model("mailbox", "OutgoingAttachment")
    db = schema_editor.connection.alias  # the database being migrated, not the default
    rows = (
        Outgoing.objects.using(db)
        .filter(forward_original__isnull=False)
        .select_related("forward_original")
    )
    for outgoing in rows.iterator():
        original = outgoing.forward_original
        OutgoingAttachment.objects.using(db).create(
            outgoing=outgoing,
            # The builder makes it a safe file name when the message is sent.
            filename=(original.subject or "message")[:120] + ".eml",
            content_type="message/rfc822",
            size=original.size,
            sha256=original.raw_sha256,
            file=original.raw_file.name,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0004_add_outgoing_messages_and_read_receipts"),
    ]

    operations = [
        migrations.RunPython(forwarded_originals_to_attachments, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="outgoing",
            name="forward_original",
        ),
    ]
