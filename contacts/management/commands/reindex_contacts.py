"""`manage.py reindex_contacts [--user NAME ...]`: rebuild the autocomplete index.

The index (contacts.models.SuggestionTerm) follows every save on its own; this rebuilds
it from the contacts, groups and collected addresses after a bulk change that skipped
the model signals, a restore from backup, or a change to how terms are made.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contacts import suggestions


class Command(BaseCommand):
    help = "Rebuild the recipient autocomplete index, for every user or the ones named."

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", dest="users", action="append", metavar="USERNAME", help="repeatable"
        )

    def handle(self, *args, users=None, **options):
        people = get_user_model().objects.order_by("pk")
        if users:
            people = people.filter(username__in=users)
            missing = set(users) - set(people.values_list("username", flat=True))
            if missing:
                raise CommandError(f"no such user: {', '.join(sorted(missing))}")
        total = 0
        for user in people.iterator():
            with transaction.atomic():
                made = suggestions.reindex_owner(user)
            total += made
            if options["verbosity"] > 1:
                self.stdout.write(f"{user.username}: {made} terms")
        self.stdout.write(f"{total} terms")
