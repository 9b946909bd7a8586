"""Create or update a user and one mail account, for operators and black-box tests.

Passwords come from the environment, never from the command line (which other
local users can read in the process list):
    WEBMAIL_USER_PASSWORD  the web login password (required for a new user)
    WEBMAIL_MAIL_PASSWORD  the POP3/SMTP password (required for a new account)
"""

import argparse
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import MailAccount, User
from mailcore.security import Security

SECURITY_VALUES = [mode.value for mode in Security]


def host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT with a port 1-65535, got {value!r}")
    return host.strip("[]"), int(port)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", required=True, help="the mail account's address")
        parser.add_argument("--pop3", required=True, type=host_port, metavar="HOST:PORT")
        parser.add_argument("--pop3-security", choices=SECURITY_VALUES, default=Security.SSL.value)
        parser.add_argument("--smtp", required=True, type=host_port, metavar="HOST:PORT")
        parser.add_argument(
            "--smtp-security", choices=SECURITY_VALUES, default=Security.STARTTLS.value
        )
        parser.add_argument("--login", help="login for both servers (default: the email address)")
        parser.add_argument("--display-name", default="")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--leave-on-server", dest="leave_on_server", action="store_true", default=None
        )
        mode.add_argument("--delete-after-download", dest="leave_on_server", action="store_false")
        parser.add_argument(
            "--insecure-tls",
            action="store_true",
            help="accept self-signed certificates for this account",
        )
        parser.add_argument("--staff", action="store_true", help="let the user into the admin")

    @transaction.atomic
    def handle(self, *args, **opts):
        web_password = os.environ.get("WEBMAIL_USER_PASSWORD", "")
        mail_password = os.environ.get("WEBMAIL_MAIL_PASSWORD", "")

        user, created_user = User.objects.get_or_create(username=opts["username"])
        if created_user and not web_password:
            raise CommandError("Set WEBMAIL_USER_PASSWORD to the new user's web password.")
        if web_password:
            user.set_password(web_password)
        if opts["staff"]:
            user.is_staff = True
        user.save()

        email = opts["email"].strip().lower()
        account = MailAccount.objects.filter(user=user, email__iexact=email).first()
        created_account = account is None
        if created_account:
            if not mail_password:
                raise CommandError("Set WEBMAIL_MAIL_PASSWORD to the mail account's password.")
            account = MailAccount(user=user, email=email)
        login = opts["login"] or email
        account.display_name = opts["display_name"] or account.display_name
        account.pop3_host, account.pop3_port = opts["pop3"]
        account.pop3_security = opts["pop3_security"]
        account.pop3_login = login
        account.smtp_host, account.smtp_port = opts["smtp"]
        account.smtp_security = opts["smtp_security"]
        account.smtp_login = login
        account.allow_insecure_tls = opts["insecure_tls"]
        if opts["leave_on_server"] is not None:
            account.leave_on_server = opts["leave_on_server"]
        if mail_password:
            account.pop3_password = mail_password
            account.smtp_password = mail_password
        try:
            account.full_clean(exclude=["user"])
        except ValidationError as exc:
            raise CommandError(
                "; ".join(
                    f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
                )
            ) from None
        account.save()

        self.stdout.write(
            f"user {user.username}: {'created' if created_user else 'updated'}; "
            f"account {account.email}: {'created' if created_account else 'updated'}"
        )
