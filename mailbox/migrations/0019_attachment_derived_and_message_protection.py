from django.db import migrations, models


class Migration(migrations.Migration):
    """Files found inside other parts (uuencoded blocks, winmail.dat) are marked, and a
    message records what it says of its signature or encryption (issue 24).
    Existing mail gets both with `manage.py rederive_parts`."""

    dependencies = [
        ("mailbox", "0018_index_outgoing_by_owner_and_queued_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="derived",
            field=models.BooleanField(default=False, verbose_name="found inside another part"),
        ),
        migrations.AddField(
            model_name="message",
            name="protection",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                max_length=20,
                verbose_name="signature or encryption",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="signer",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                max_length=320,
                verbose_name="signing certificate of",
            ),
        ),
    ]
