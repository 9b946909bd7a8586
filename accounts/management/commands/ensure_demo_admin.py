"""Create the development admin if no superuser exists yet, and print its login."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **opts):
        if not settings.DEBUG:
            raise CommandError("Refusing to create a demo admin with DEBUG=false.")
        username = os.environ.get("WEBMAIL_DEMO_ADMIN", "admin")
        password = os.environ.get("WEBMAIL_DEMO_ADMIN_PASSWORD", "admin")
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin already exists; log in at http://127.0.0.1:8000/admin/")
            return
        User.objects.create_superuser(username=username, password=password)
        self.stdout.write(
            f"Demo admin created: log in at http://127.0.0.1:8000/admin/ "
            f"as {username} / {password} (development only)."
        )
