"""Encryption at rest for secrets (OAuth tokens, playbook webhook URLs): Fernet keys from
TOKEN_ENCRYPTION_KEYS, newest first.

Encrypt always uses the newest key; decrypt tries each, so a key can be added at the front, every
token re-encrypted (`manage.py rotate_token_keys`), and the old key removed. In embedded mode with
no keys configured a development key is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        if not settings.EMBEDDED:
            raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is not set")
        digest = hashlib.sha256(b"gocsm-dev-token-key:" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(digest).decode(),)
    try:
        return MultiFernet([Fernet(k.strip()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS holds an invalid Fernet key") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Raises InvalidToken when no configured key opens it."""
    return fernet().decrypt(ciphertext.encode()).decode()


def reencrypt(ciphertext: str) -> str:
    """The same secret under the newest key."""
    return fernet().rotate(ciphertext.encode()).decode()
