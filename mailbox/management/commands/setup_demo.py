"""Create the development demo, idempotently, and print how to log in.

An admin, and users alice and bob with mail accounts alice@example.test and
bob@example.test on devmail (SMTP 127.0.0.1:2525, POP3 127.0.0.1:1110, messages
left on the server). Development only: refused with DEBUG=false.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import MailAccount, User

DOMAIN = "example.test"
ADMIN = ("admin", "admin")
USERS = [("alice", "alice", "Alice Kim"), ("bob", "bob", "Bob Lee")]
MAIL_PASSWORD = "devmail"  # noqa: S105 - a development mailbox on loopback


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--devmail-root", default=str(settings.BASE_DIR / "var" / "devmail"))

    @transaction.atomic
    def handle(self, *args, devmail_root, **opts):
        if not settings.DEBUG:
            raise CommandError("Refusing to create demo users with DEBUG=false.")
        admin, created = User.objects.get_or_create(
            username=ADMIN[0], defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            admin.set_password(ADMIN[1])
            admin.save()
        for username, password, name in USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save()
            address = f"{username}@{DOMAIN}"
            MailAccount.objects.update_or_create(
                user=user,
                email=address,
                defaults={
                    "display_name": name,
                    "pop3_host": "127.0.0.1",
                    "pop3_port": 1110,
                    "pop3_security": "none",
                    "pop3_login": address,
                    "pop3_password": MAIL_PASSWORD,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": 2525,
                    "smtp_security": "none",
                    "smtp_login": "",
                    "smtp_password": "",
                    "leave_on_server": True,
                    "poll_interval": 1,
                    "enabled": True,
                },
            )
            call_command(
                "devmail",
                "--add-user",
                address,
                MAIL_PASSWORD,
                "--root",
                devmail_root,
                stdout=self.stdout,
            )
        self.stdout.write(
            self.style.SUCCESS(
                "\nWebmail demo: http://127.0.0.1:8000\n"
                f"  admin: {ADMIN[0]} / {ADMIN[1]}   (http://127.0.0.1:8000/admin/)\n"
                + "".join(f"  {u}: {u} / {p}   ({u}@{DOMAIN})\n" for u, p, _ in USERS)
                + "  devmail: SMTP 127.0.0.1:2525, POP3 127.0.0.1:1110 (development only)\n"
            )
        )
