"""Secrets at rest (SMTP password, webhook signing secrets, receiver credentials).

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under
keys that come from the environment, never from the database: a copy of the database alone
does not reveal them.

``POSTBACKS_ENCRYPTION_KEYS`` holds one or more comma-separated Fernet keys (make one with
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``).
The first encrypts; all of them decrypt, so a key can be rotated by putting the new one first
and re-saving. Without it, a key is derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.POSTBACKS_ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(f"postbacks-encryption:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            f"POSTBACKS_ENCRYPTION_KEYS holds an invalid key: {error}"
        ) from error


def encrypt(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with POSTBACKS_ENCRYPTION_KEYS "
            "(was the key or SECRET_KEY changed?)"
        ) from error


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees the clear text.

    The empty string is stored as it is, so "no secret" stays visible to queries.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
