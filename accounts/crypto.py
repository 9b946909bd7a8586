"""Encryption at rest for mail-server passwords (Fernet, rotatable keys)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in settings.WEBMAIL_ENCRYPTION_KEYS])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "WEBMAIL_ENCRYPTION_KEYS must be url-safe base64 Fernet keys "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        # Never include the token: the message ends up in logs and admin pages.
        raise ImproperlyConfigured(
            "A stored mail password cannot be decrypted with WEBMAIL_ENCRYPTION_KEYS "
            "(was a key removed before re-encrypting?)"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the first (newest) key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """A text column that holds a Fernet token; Python code sees the plaintext.

    The empty string is stored as is (no password set), so "is a password set"
    needs no decryption.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
