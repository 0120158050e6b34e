"""Webhook signature checks over the raw body (GHL_API.md §4.1).

`x-ghl-signature` (Ed25519) is checked first; `x-wh-signature` (RSA PKCS#1 v1.5, SHA-256) only
when the Ed25519 header is absent, as GHL's own SDKs do.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.conf import settings

from sync.webhooks.keys import GHL_ED25519_PUBLIC_KEY, GHL_RSA_PUBLIC_KEY


@lru_cache(maxsize=4)
def _load(pem: str):
    return serialization.load_pem_public_key(pem.replace("\\n", "\n").encode())


def _decode(signature: str) -> bytes | None:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def verify(body: bytes, ghl_signature: str | None, wh_signature: str | None) -> bool:
    """True only if the body carries a valid GHL signature."""
    if ghl_signature:
        sig = _decode(ghl_signature)
        key = _load(settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY or GHL_ED25519_PUBLIC_KEY)
        if sig is None or not isinstance(key, ed25519.Ed25519PublicKey):
            return False
        try:
            key.verify(sig, body)
        except InvalidSignature:
            return False
        return True
    if wh_signature:
        sig = _decode(wh_signature)
        key = _load(settings.GHL_WEBHOOK_RSA_PUBLIC_KEY or GHL_RSA_PUBLIC_KEY)
        if sig is None or not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(sig, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True
    return False
