"""devmail: the development POP3 + SMTP server of `make run` and the tests. No Django here."""

from .server import (
    DEFAULT_MAX_SIZE,
    DEFAULT_POP3_TIMEOUT,
    USERS_FILE,
    DevMail,
    DevMailError,
    MailStore,
    UserStore,
    normalize_address,
    parse_hostport,
)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "DEFAULT_POP3_TIMEOUT",
    "USERS_FILE",
    "DevMail",
    "DevMailError",
    "MailStore",
    "UserStore",
    "normalize_address",
    "parse_hostport",
]
