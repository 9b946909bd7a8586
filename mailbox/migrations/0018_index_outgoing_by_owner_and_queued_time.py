from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0017_add_full_text_search_index_on_sqlite"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="outgoing",
            index=models.Index(fields=["owner", "queued_at"], name="outgoing_owner_queued_idx"),
        ),
    ]
