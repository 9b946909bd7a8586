"""SMTP client sessions over smtplib. No Django here.

Like Django's own SMTP backend, everything the connection needs (host, port,
credentials, TLS mode) is an argument, so each account brings its own server.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from enum import StrEnum


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class SMTPError(Exception):
    """Base class; `reply` is the server's reply (or the OS error), shown to users as is."""

    def __init__(self, reply: str, code: int | None = None) -> None:
        super().__init__(reply)
        self.reply = reply
        self.code = code

    @property
    def is_temporary(self) -> bool:
        return self.code is None or 400 <= self.code < 500


class SMTPAuthError(SMTPError):
    """The server refused our credentials."""


class SMTPConnectionError(SMTPError):
    """Unreachable, timed out, TLS failure, or the connection dropped."""


class SMTPProtocolError(SMTPError):
    """The server answered something we cannot go on from."""


def _reply_text(code: int, message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}".strip()


def tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def open_session(
    host: str,
    port: int,
    security: Security | str,
    username: str = "",
    password: str = "",
    *,
    verify_tls: bool = True,
    timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
    local_hostname: str | None = None,
) -> smtplib.SMTP:
    """Connect, EHLO, STARTTLS if asked, AUTH if a login is given."""
    security = Security(security)
    context = ssl_context or tls_context(verify_tls)
    try:
        if security is Security.SSL:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, local_hostname=local_hostname, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(host, port, local_hostname=local_hostname, timeout=timeout)
        client.ehlo()
        if security is Security.STARTTLS:
            if not client.has_extn("starttls"):
                client.close()
                raise SMTPProtocolError("The server does not offer STARTTLS.")
            client.starttls(context=context)
            client.ehlo()
    except SMTPError:
        raise
    except smtplib.SMTPResponseException as exc:
        raise SMTPConnectionError(
            _reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SMTPConnectionError(_os_error_text(exc, host, port)) from None
    if username:
        try:
            client.login(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            client.close()
            raise SMTPAuthError(_reply_text(exc.smtp_code, exc.smtp_error), exc.smtp_code) from None
        except smtplib.SMTPNotSupportedError:
            client.close()
            raise SMTPAuthError("The server does not offer AUTH.") from None
        except smtplib.SMTPException as exc:
            client.close()
            raise SMTPProtocolError(str(exc)) from None
        except OSError as exc:
            raise SMTPConnectionError(_os_error_text(exc, host, port)) from None
    return client


def _os_error_text(exc: BaseException, host: str, port: int) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"Timed out talking to {host}:{port}."
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {host}:{port} failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"Connection to {host}:{port} refused."
    if isinstance(exc, socket.gaierror):
        return f"Cannot resolve {host}: {exc.strerror}"
    return f"Cannot talk to {host}:{port}: {exc}"


def check_login(
    host: str,
    port: int,
    security: Security | str,
    username: str,
    password: str,
    *,
    verify_tls: bool = True,
    timeout: float = 15.0,
) -> str:
    """Log in and out; return the server's last reply. Raises SMTPError subclasses."""
    client = open_session(
        host, port, security, username, password, verify_tls=verify_tls, timeout=timeout
    )
    try:
        code, message = client.noop()
        return _reply_text(code, message)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
