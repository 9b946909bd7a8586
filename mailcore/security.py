"""Connection security for POP3 and SMTP: the mode and the TLS context. No Django here.

`Security` is the one list of modes: the account model stores its values, the
POP3 and SMTP sessions take it. `tls_context` is the client context both build
when the caller does not bring its own.
"""

from __future__ import annotations

import functools
import os
import ssl
from enum import StrEnum

__all__ = ["Security", "tls_context"]


class Security(StrEnum):
    NONE = "none"  # plain text
    STARTTLS = "starttls"  # plain connect, then upgrade (POP3 STLS, SMTP STARTTLS)
    SSL = "ssl"  # TLS from the first byte (RFC 8314 "implicit TLS")


def tls_context(verify: bool) -> ssl.SSLContext:
    """The default client context; with `verify` False, no certificate or host name check.

    Loading the system certificate store costs ~30 ms, so each context is built
    once per trust configuration (which OpenSSL reads from SSL_CERT_FILE and
    SSL_CERT_DIR) and shared; nothing here or in poplib/smtplib changes it.
    """
    return _tls_context(verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=8)
def _tls_context(verify: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
