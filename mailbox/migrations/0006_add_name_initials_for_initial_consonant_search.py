from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0005_forwarded_originals_as_attachments"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="name_initials",
            field=models.TextField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                verbose_name="initials of names",
            ),
        ),
    ]
