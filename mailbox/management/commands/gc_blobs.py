"""Delete stored blobs that no row refers to any more (and are older than a grace period).

Messages, attachments and drafts share content-addressed files, so deleting a row
leaves its file; this command (and the weekly beat task) removes the unreferenced
ones. A blob younger than the grace period is kept: it may belong to a poll or a draft
whose row is not committed yet.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand

from mailbox import blobs_gc


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would be deleted, delete nothing"
        )
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=blobs_gc.GRACE.total_seconds() / 3600,
            help="keep unreferenced blobs younger than this (default: %(default)s)",
        )
        parser.add_argument("--verbose-names", action="store_true", help="list each blob")

    def handle(self, *args, dry_run, grace_hours, verbose_names, **options):
        result = blobs_gc.collect_garbage(grace=timedelta(hours=grace_hours), dry_run=dry_run)
        if verbose_names:
            for name in result.names:
                self.stdout.write(name)
        self.stdout.write(str(result))
