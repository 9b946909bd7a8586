"""Search finds the senders, subjects and text of attached messages (issue 24).

A column for them on every database (filled at ingest; existing mail gets it with
`manage.py rederive_parts`). PostgreSQL's search vector takes it as body text; on
SQLite the next migration rebuilds the FTS5 index with it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0020_outgoing_delivery_unknown_lease_and_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="attached_text",
            field=models.TextField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                verbose_name="text of attached messages",
            ),
        ),
    ]
