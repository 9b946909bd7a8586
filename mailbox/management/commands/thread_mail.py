"""Thread stored mail into conversations: mail stored before threading (the migration
does this on upgrade), or again after a change in how threads are made."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mailbox.threading import thread_owner, unthreaded_owner_ids


class Command(BaseCommand):
    help = "Thread users' mail into conversations (by default: users with unthreaded mail)."

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", help="rethread all mail of these users")
        parser.add_argument("--all", action="store_true", help="rethread every user's mail")

    def handle(self, *args, **options):
        users = get_user_model().objects
        if options["all"]:
            owner_ids = list(users.values_list("pk", flat=True))
        elif options["usernames"]:
            found = dict(
                users.filter(username__in=options["usernames"]).values_list("username", "pk")
            )
            missing = sorted(set(options["usernames"]) - set(found))
            if missing:
                raise CommandError(f"no such user: {', '.join(missing)}")
            owner_ids = list(found.values())
        else:
            owner_ids = unthreaded_owner_ids()
        total = 0
        for owner_id in owner_ids:
            total += thread_owner(owner_id)
        self.stdout.write(f"threaded {total} messages of {len(owner_ids)} users")
