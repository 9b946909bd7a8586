"""Re-encrypt every stored mail password with the first WEBMAIL_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import MailAccount


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **opts):
        count = 0
        with transaction.atomic():
            # Loading decrypts with any listed key; saving encrypts with the first.
            for account in MailAccount.objects.select_for_update().only(
                "pk", "pop3_password", "smtp_password"
            ):
                account.save(update_fields=["pop3_password", "smtp_password"])
                count += 1
        self.stdout.write(f"Re-encrypted the passwords of {count} mail accounts.")
