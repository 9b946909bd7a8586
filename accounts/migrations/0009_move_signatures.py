"""Each mail account's old plain-text signature becomes a Signature row (the default for
new messages and for replies), and the old field is emptied: Signature is the one place
that holds signatures. The column itself stays (unused, empty) for now: migration tests
rewind mailbox alone to states whose historical MailAccount still has it."""

import html

from django.db import migrations


def _as_html(text: str) -> str:
    # As mailcore.richtext.text_to_html (copied: a migration must not change with the code).
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(f"<p>{html.escape(line)}</p>" if line else "<p><br></p>" for line in lines)


def move_signatures(apps, schema_editor):
    db = schema_editor.connection.alias  # the database being migrated, not "default"
    MailAccount = apps.get_model("accounts", "MailAccount")
    Signature = apps.get_model("accounts", "Signature")
    for account in MailAccount.objects.using(db).exclude(signature="").select_related("user"):
        text = account.signature.strip("\r\n")
        if text.startswith("-- \n"):  # typed with its delimiter: compose adds that now
            text = text[4:]
        if not text.strip():
            continue
        Signature.objects.using(db).create(
            account=account,
            name="서명" if account.user.language == "ko" else "Signature",
            text=text,
            html=_as_html(text),
            default_for_new=True,
            default_for_replies=True,
        )
    MailAccount.objects.using(db).exclude(signature="").update(signature="")


def restore_signatures(apps, schema_editor):
    db = schema_editor.connection.alias
    MailAccount = apps.get_model("accounts", "MailAccount")
    Signature = apps.get_model("accounts", "Signature")
    for signature in Signature.objects.using(db).filter(default_for_new=True):
        MailAccount.objects.using(db).filter(pk=signature.account_id).update(
            signature=signature.text
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_add_compose_preferences_signatures_and_send_as"),
    ]

    operations = [
        migrations.RunPython(move_signatures, restore_signatures),
    ]
