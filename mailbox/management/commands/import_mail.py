"""Import mbox, .eml or zip files into a user's folder, now, and print a summary per file.

    manage.py import_mail USERNAME FILE… [--folder NAME] [--account ADDRESS]

The same function the import task runs (mailbox.importing): stored like polled mail,
deduplicated by the raw bytes, malformed messages stored and flagged. The messages
belong to the user's mail account ADDRESS (default: their first account).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import MailAccount
from mailbox import folders, importing
from mailbox.models import Folder


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--folder", default="inbox", help="default: inbox")
        parser.add_argument("--account", help="the mail account's address (default: the first)")

    def handle(self, *args, username, files, folder, account, **opts):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if account:
            mail_account = MailAccount.objects.filter(user=user, email__iexact=account).first()
        else:
            mail_account = importing.default_account(user)
        if mail_account is None:
            raise CommandError(f"{username} has no mail account {account or ''}".rstrip())
        key = importing.folder_key_by_name(user, folder)
        if key is None or key in (Folder.TRASH, Folder.SNOOZED, Folder.DRAFTS):
            raise CommandError(f"cannot import into {folder!r}")
        system, pk = folders.parse_key(key)
        user_folder = folders.get(user, pk) if pk is not None else None
        failed = False
        for path in files:
            try:
                result = importing.import_path(
                    user, mail_account, path, folder=system, user_folder=user_folder
                )
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror or exc}") from exc
            self.stdout.write(importing.summary_text(result))
            for skipped in result.skipped:
                reason = importing.skip_reason_text(skipped["reason"])
                self.stdout.write(f"  skipped {skipped['name']}: {reason}")
            failed |= bool(result.error)
        if failed:
            raise CommandError("some files could not be imported (see above)")
