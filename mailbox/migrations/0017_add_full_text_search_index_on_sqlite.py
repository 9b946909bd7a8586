"""An FTS5 index for search on SQLite, kept in step by triggers; nothing elsewhere.

PostgreSQL has its search vector and GIN index (0002, 0003). On SQLite this creates
the external-content table mailbox_message_fts over the searched fields, the triggers
that update it in the same transaction as every insert, update and delete of a
message, and fills it from the messages already stored (mailbox.search_fts).
"""

from django.db import migrations

from mailbox import search_fts

# The columns and prefix index of this migration's time (0021 adds the text of
# attached messages, 0022 the owner and prefix indexes of 3 and 4 characters).
COLUMNS = ("subject", "from_name", "from_address", "to", "cc", "text_body")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            search_fts.install(cursor, COLUMNS, prefixes="2")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            search_fts.uninstall(cursor)


class Migration(migrations.Migration):
    dependencies = [("mailbox", "0016_add_beat_dispatch_record")]

    operations = [migrations.RunPython(create_index, drop_index)]
