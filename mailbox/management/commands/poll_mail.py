"""Poll POP3 accounts now, in this process, and print each account's result.

The same function the `poll_account` Celery task calls; for operators and tests.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import MailAccount
from mailbox.ingest import poll_account


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", help="only these users (default: all)")

    def handle(self, *args, usernames, **opts):
        accounts = MailAccount.objects.filter(enabled=True).select_related("user")
        if usernames:
            accounts = accounts.filter(user__username__in=usernames)
            missing = set(usernames) - set(accounts.values_list("user__username", flat=True))
            if missing:
                raise CommandError(f"no enabled mail account for: {', '.join(sorted(missing))}")
        failed = False
        for account in accounts.order_by("user__username", "email"):
            result = poll_account(account.pk)
            failed |= bool(result.error)
            self.stdout.write(f"{account.user.username} {account.email}: {result}")
        if failed:
            raise CommandError("some accounts could not be polled (see above)")
