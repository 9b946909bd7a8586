"""Webmail users and mail accounts for a benchmark run."""

from __future__ import annotations

import secrets

from bench.locations import LOOPBACK


def new_login() -> tuple[str, str]:
    return f"b{secrets.token_hex(5)}", secrets.token_urlsafe(12)


def make_user_and_account(username: str, pop3=None, pop3_user=None, **fields):
    """A webmail user and its mail account (POP3 on `pop3` when given)."""
    from accounts.models import MailAccount, User

    user = User.objects.create_user(username=username, password=secrets.token_urlsafe(16))
    values = {
        "email": f"{username}@example.test",
        "pop3_host": LOOPBACK,
        "pop3_port": 110,
        "pop3_security": "none",
        "pop3_login": username,
        "pop3_password": "unused",
        "smtp_host": LOOPBACK,
        "smtp_port": 25,
        "smtp_security": "none",
        "smtp_login": "",
        "smtp_password": "",
        "leave_on_server": True,
    }
    if pop3 is not None:
        values.update(
            pop3_host=pop3.host,
            pop3_port=pop3.port,
            pop3_login=pop3_user.name,
            pop3_password=pop3_user.password,
        )
    values.update(fields)
    return user, MailAccount.objects.create(user=user, **values)
