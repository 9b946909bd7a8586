from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_mail_destination_exceptions_and_connection_test_limit"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="send_per_hour",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Empty: the server's limit (WEBMAIL_SEND_PER_HOUR); 0 stops sending.",
                null=True,
                verbose_name="messages per hour",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="recipients_per_message",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Empty: the server's limit (WEBMAIL_RECIPIENTS_PER_MESSAGE).",
                null=True,
                verbose_name="recipients per message",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="recipients_per_day",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Empty: the server's limit (WEBMAIL_RECIPIENTS_PER_DAY); 0 stops sending.",
                null=True,
                verbose_name="recipients per day",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="max_pending_bytes",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text="Empty: the server's limit (WEBMAIL_MAX_PENDING_BYTES).",
                null=True,
                verbose_name="bytes waiting to be sent",
            ),
        ),
    ]
