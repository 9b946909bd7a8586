import django.db.models.functions.text
from django.db import migrations, models
from django.utils import timezone


def idle_from_the_upgrade(apps, schema_editor):
    # When existing accounts last received mail is not known here (accounts does not read
    # mailbox's rows): their backoff counts from the upgrade, not from their creation, so
    # none is checked less often the moment this runs.
    MailAccount = apps.get_model("accounts", "MailAccount")
    MailAccount.objects.filter(last_mail_at__isnull=True).update(last_mail_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_add_sending_limits_per_user"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailaccount",
            name="last_mail_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="last new mail"
            ),
        ),
        migrations.AddField(
            model_name="mailaccount",
            name="local_poll_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="last immediate check"
            ),
        ),
        migrations.AddIndex(
            model_name="mailaccount",
            index=models.Index(
                django.db.models.functions.text.Lower("email"), name="mail_account_email_lower_idx"
            ),
        ),
        migrations.RunPython(idle_from_the_upgrade, migrations.RunPython.noop),
    ]
