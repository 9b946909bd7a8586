"""Re-derive stored mail (attachment rows, bodies, header fields) from the original
bytes with today's parser; see mailbox.rederive. Safe to run twice."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mailbox.models import Message
from mailbox.rederive import rederive


class Command(BaseCommand):
    help = (
        "Re-derive stored messages' attachments, bodies and header fields from their "
        "original bytes; reports what changed. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", help="re-derive all mail of these users")
        parser.add_argument("--all", action="store_true", help="re-derive every user's mail")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change; write nothing"
        )

    def handle(self, *args, **options):
        messages = Message.objects.order_by("pk")
        if options["usernames"]:
            users = get_user_model().objects
            found = dict(
                users.filter(username__in=options["usernames"]).values_list("username", "pk")
            )
            missing = sorted(set(options["usernames"]) - set(found))
            if missing:
                raise CommandError(f"no such user: {', '.join(missing)}")
            messages = messages.filter(owner_id__in=found.values())
        elif not options["all"]:
            raise CommandError("name the users whose mail to re-derive, or pass --all")
        summary = rederive(messages.iterator(chunk_size=200), dry_run=options["dry_run"])
        if options["dry_run"]:
            self.stdout.write("dry run: nothing was written")
        for line in summary.lines():
            self.stdout.write(line)
