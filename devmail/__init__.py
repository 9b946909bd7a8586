"""devmail: the development POP3 + SMTP server of `make run` and the tests. No Django here.

server.py runs both (`DevMail`); smtp.py and pop3.py are the two protocols;
store.py keeps the users and the mail as plain files.
"""

from .pop3 import DEFAULT_POP3_TIMEOUT
from .server import DevMail, DevMailError, parse_hostport
from .smtp import DEFAULT_MAX_SIZE
from .store import USERS_FILE, MailStore, UserStore, normalize_address

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
