"""The operator's destination policy for an account's servers (mailcore.destinations).

The settings (WEBMAIL_MAIL_HOSTS, WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS, WEBMAIL_MAIL_PORTS)
plus the account's own exceptions, which only an administrator sets. Every connection
to a user's server passes `policy(account)` to mailcore's POP3/SMTP sessions, which
check it on the resolved address at connect time; the account form checks it too, so a
forbidden host is refused before it is saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from mailcore import destinations

if TYPE_CHECKING:
    from .models import MailAccount


def resolver(host: str, port: int) -> list[str]:
    """The name resolver the policy uses (tests replace it with one of their own)."""
    return destinations.system_resolver(host, port)


def _resolve(host: str, port: int) -> list[str]:
    return resolver(host, port)  # looked up at each call, so a replaced one is used


def policy(account: MailAccount | None = None) -> destinations.Policy:
    """The policy for `account`'s servers: the operator's settings and its exceptions."""
    return destinations.Policy(
        hosts=destinations.parse_patterns(settings.WEBMAIL_MAIL_HOSTS),
        allow_private=settings.WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS,
        ports=destinations.parse_ports(settings.WEBMAIL_MAIL_PORTS),
        exceptions=destinations.parse_patterns(account.allowed_destinations if account else ""),
        resolver=_resolve,
    )
