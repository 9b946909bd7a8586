"""SQLite's FTS5 index rebuilt once with what search now asks of it (mailbox.search_fts):
the text of attached messages (0021), the owner's id (a search looks among one
user's mail) and prefix indexes of 3 and 4 characters besides 2. PostgreSQL: nothing.
"""

from django.db import migrations

from mailbox import search_fts

BEFORE = ("subject", "from_name", "from_address", "to", "cc", "text_body")
AFTER = (*BEFORE, "attached_text", "owner_id")


def _reindex(columns, prefixes):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            with schema_editor.connection.cursor() as cursor:
                search_fts.uninstall(cursor)
                search_fts.install(cursor, columns, prefixes)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0021_message_attached_text_for_search"),
    ]

    operations = [
        migrations.RunPython(_reindex(AFTER, "2 3 4"), _reindex(BEFORE, "2")),
    ]
