"""Export a user's mail to a file: one folder, or all of it (one zip, a member per folder).

    manage.py export_mail USERNAME [--folder NAME] --format {mbox,eml-zip} -o FILE

The same streams the downloads send (mailbox.export), written as they are produced:
memory stays flat whatever the size. FILE "-" writes to standard output.
"""

import os
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mailbox import export
from mailbox.importing import folder_key_by_name


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--folder", help='a folder ("inbox", "Archive", "Work/Clients"); default: all mail'
        )
        parser.add_argument("--format", choices=export.FORMATS, required=True, dest="fmt")
        parser.add_argument("-o", "--output", required=True, help='the file to write, or "-"')

    def handle(self, *args, username, folder, fmt, output, **opts):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if folder:
            key = folder_key_by_name(user, folder)
            found = export.folder_messages(user, key) if key else None
            if found is None:
                raise CommandError(f"{username} has no folder {folder!r}")
            messages, name = found
            result = export.export(user, messages, fmt, name)
        else:
            result = export.account_export(user, fmt)
        size = 0
        if output == "-":
            for chunk in result.chunks:
                sys.stdout.buffer.write(chunk)
                size += len(chunk)
            sys.stdout.buffer.flush()
            return
        partial = f"{output}.part"
        try:
            with open(partial, "wb") as f:
                for chunk in result.chunks:
                    f.write(chunk)
                    size += len(chunk)
            os.replace(partial, output)
        except BaseException:
            if os.path.exists(partial):
                os.unlink(partial)
            raise
        self.stdout.write(f"wrote {output} ({size} bytes)")
