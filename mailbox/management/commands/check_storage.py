"""Check that every row's stored file exists, with the recorded size and SHA-256.

Reports each mismatch (missing, wrong size, different content) and never deletes or
repairs anything; exits with status 1 when there is any.
"""

from django.core.management.base import BaseCommand, CommandError

from mailbox import blobs_gc


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-hashes",
            action="store_true",
            help="check existence and sizes only (no reading of every file)",
        )

    def handle(self, *args, no_hashes, **options):
        result = blobs_gc.check_storage(hashes=not no_hashes)
        for problem in result.problems:
            self.stdout.write(str(problem))
        summary = f"{result.checked} files checked, {len(result.problems)} problems"
        if result.temporary:
            summary += f", {result.temporary} stray temporary files (gc_blobs removes them)"
        self.stdout.write(summary)
        if result.problems:
            raise CommandError(f"{len(result.problems)} stored files do not match their rows")
