"""`manage.py devmail`: run the development mail server (see devmail/server.py)."""

import logging
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import devmail


def _hostport(value: str) -> tuple[str, int]:
    try:
        return devmail.parse_hostport(value)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = (
        "Run devmail, a DEVELOPMENT mail server for trying the webmail locally: SMTP in, "
        "POP3 out, mail kept as plain files under --root. It is NOT a production MTA: no TLS, "
        "it never relays, passwords are stored in plain text in <root>/users.json, and it "
        "listens on loopback only. With --add-user it only adds or updates a user and exits."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--smtp", default="127.0.0.1:2525", metavar="HOST:PORT", help="default %(default)s"
        )
        parser.add_argument(
            "--pop3", default="127.0.0.1:1110", metavar="HOST:PORT", help="default %(default)s"
        )
        parser.add_argument(
            "--domain",
            dest="domains",
            action="append",
            metavar="DOMAIN",
            help="a local mail domain; repeat for more (default example.test)",
        )
        parser.add_argument(
            "--root",
            default=str(Path(settings.BASE_DIR) / "var" / "devmail"),
            help="mail directory and users.json (default %(default)s)",
        )
        parser.add_argument(
            "--auth-required", action="store_true", help="refuse SMTP MAIL without AUTH (530)"
        )
        parser.add_argument(
            "--max-size",
            type=int,
            default=devmail.DEFAULT_MAX_SIZE,
            metavar="BYTES",
            help="largest message accepted over SMTP (default %(default)s)",
        )
        parser.add_argument(
            "--pop3-timeout",
            type=float,
            default=devmail.DEFAULT_POP3_TIMEOUT,
            metavar="SECONDS",
            help="close idle POP3 sessions after this long (default %(default)s)",
        )
        parser.add_argument(
            "--add-user",
            nargs=2,
            metavar=("ADDRESS", "PASSWORD"),
            help="add or update a user in users.json, then exit",
        )
        parser.add_argument(
            "--allow-any-address",
            action="store_true",
            help="allow binding to non-loopback addresses (only inside a container whose "
            "ports are published on the host's loopback)",
        )

    def handle(self, *args, **opts):
        root = Path(opts["root"])
        domains = opts["domains"] or ["example.test"]
        if opts["add_user"]:
            address, password = opts["add_user"]
            try:
                created = devmail.UserStore(root).add(address, password)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            address = devmail.normalize_address(address)
            verb = "Added" if created else "Updated"
            self.stdout.write(
                f"{verb} {address} in {root / devmail.USERS_FILE} (development only: "
                "passwords are kept in plain text)"
            )
            if address.rpartition("@")[2] not in {d.lower() for d in domains}:
                self.stderr.write(f"Note: {address} is not in the local domain(s) {domains}.")
            return

        logger = logging.getLogger(devmail.__name__)
        if opts["verbosity"] >= 1:
            logger.setLevel(logging.INFO)  # one line per delivery
            if not logger.hasHandlers():
                handler = logging.StreamHandler(sys.stderr)
                handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
                logger.addHandler(handler)
        # aiosmtpd logs every SMTP command at INFO: only with -v 2 or more.
        logging.getLogger("mail.log").setLevel(
            logging.INFO if opts["verbosity"] >= 2 else logging.WARNING
        )
        try:
            server = devmail.DevMail(
                root,
                domains,
                smtp=_hostport(opts["smtp"]),
                pop3=_hostport(opts["pop3"]),
                auth_required=opts["auth_required"],
                max_size=opts["max_size"],
                pop3_timeout=opts["pop3_timeout"],
                allow_any_address=opts["allow_any_address"],
            )
            server.run_forever(announce=self.stdout.write)
        except devmail.DevMailError as exc:
            raise CommandError(str(exc)) from None
