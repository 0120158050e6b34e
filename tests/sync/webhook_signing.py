"""Test keys made at run time, and GHL-style signing of webhook bodies."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa


def _pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class Signer:
    def __init__(self):
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ed_pem, self.rsa_pem = _pem(self.ed.public_key()), _pem(self.rsa.public_key())

    def ed_sign(self, body: bytes) -> str:
        return base64.b64encode(self.ed.sign(body)).decode()

    def rsa_sign(self, body: bytes) -> str:
        return base64.b64encode(self.rsa.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def event(kind: str, app_id: str, *, age_seconds: float = 0, **fields) -> dict:
    when = datetime.now(UTC) - timedelta(seconds=age_seconds)
    body = {
        "type": kind,
        "appId": app_id,
        "timestamp": when.isoformat().replace("+00:00", "Z"),
        "webhookId": str(uuid.uuid4()),
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def compact(data) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()
