"""Encryption at rest for credentials kept in the database: Fernet, with key rotation (MultiFernet)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# Every Fernet token starts with this (version byte 0x80 and the high bytes of a timestamp, base64):
# a kubeconfig in plain text never does, so it tells an encrypted value from one not yet encrypted.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (a format marker, not a secret)


class DecryptionError(ValueError):
    """A stored value that none of the configured keys decrypts; the message never quotes the value."""


def _keys() -> tuple[str, ...]:
    keys = tuple(key.strip() for key in settings.FINOPS_ENCRYPTION_KEYS if key.strip())
    if not keys:
        raise ImproperlyConfigured("FINOPS_ENCRYPTION_KEYS is empty: give at least one Fernet key")
    return keys


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            # The position, not the key: the key is itself a secret.
            raise ImproperlyConfigured(
                f"FINOPS_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes, e.g. from Fernet.generate_key())"
            ) from None
    return MultiFernet(fernets)


def is_encrypted(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt(plaintext: str) -> str:
    """A Fernet token (text) of `plaintext`, with the first configured key."""
    return _fernet(_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str, *, field: str) -> str:
    """The plaintext of `token`, trying every configured key; `field` names the column in the error."""
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError):
        # `from None`: the chained exception would carry nothing useful, and nothing of the value.
        raise DecryptionError(
            f"{field}: the stored value cannot be decrypted with any key of FINOPS_ENCRYPTION_KEYS "
            "(wrong or missing key, or a value not written by this application)"
        ) from None


class EncryptedTextField(models.TextField):
    """A TextField stored as a Fernet token and read back as plain text; the empty string stays empty."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value, field=f"{self.model._meta.label}.{self.name}")
