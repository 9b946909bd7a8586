"""A GIN index over Message.search_vector, on PostgreSQL only.

SQLite has no tsvector and searches with LIKE, so the index is created with
plain SQL when the database is PostgreSQL and is a no-op elsewhere.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS message_search_gin_idx "
            "ON mailbox_message USING gin (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS message_search_gin_idx")


class Migration(migrations.Migration):
    dependencies = [("mailbox", "0002_add_search_vector_unread_index_and_trusted_senders")]

    operations = [migrations.RunPython(create_index, drop_index)]
