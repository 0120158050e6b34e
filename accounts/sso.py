"""GHL SSO payloads: CryptoJS passphrase-mode AES, decrypted in memory only.

Format (GHL_API.md §3): base64("Salted__" ‖ salt[8] ‖ AES-256-CBC(PKCS#7(plaintext))), with key and
IV from OpenSSL's EVP_BytesToKey(MD5, 1 iteration) over the shared secret's UTF-8 bytes and the
salt. Every failure raises InvalidSSOPayload with a coarse reason code for the log; callers must
answer every failure identically so the endpoint is no padding oracle.

Only the identity fields (userId, companyId, role, type, activeLocation) decide whether a payload
is accepted. The display fields (userName, email) never refuse anyone: they are cleaned and cut
to the columns they are stored in (gocsm.displaytext).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from accounts.models import GHLUser
from gocsm import displaytext, safejson

MAGIC = b"Salted__"
# A usual payload is a few hundred bytes, but a person's name may be thousands of characters of up
# to 4 UTF-8 bytes each, and that person must still sign in; anything larger is refused before
# any work. Beacons carry the same payload (settings.ACTIVITY_MAX_BODY_BYTES leaves room for it).
MAX_PAYLOAD_CHARS = 32 * 1024
NAME_CHARS = GHLUser._meta.get_field("name").max_length
EMAIL_CHARS = GHLUser._meta.get_field("email").max_length
_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ROLES = {"admin", "user"}
_TYPES = {"agency", "location"}


class InvalidSSOPayload(Exception):
    """The payload cannot be trusted. `reason` is a coarse code for logs, never shown to clients."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SSOIdentity:
    user_id: str
    company_id: str
    role: str = ""
    type: str = ""
    active_location: str = ""
    user_name: str = ""
    email: str = ""
    is_agency_owner: bool = False


def _evp_bytes_to_key(secret: bytes, salt: bytes) -> tuple[bytes, bytes]:
    derived, block = b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + secret + salt, usedforsecurity=False).digest()
        derived += block
    return derived[:32], derived[32:48]


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            # A repeated companyId must never win by being last.
            raise InvalidSSOPayload("duplicate_key")
        seen[key] = value
    return seen


def _optional_str(data: dict, key: str, limit: int) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidSSOPayload("bad_field")
    return value


def _identity_from(data: object) -> SSOIdentity:
    if not isinstance(data, dict):
        raise InvalidSSOPayload("not_object")
    user_id, company_id = data.get("userId"), data.get("companyId")
    for value in (user_id, company_id):
        if not isinstance(value, str) or not _ID.match(value):
            raise InvalidSSOPayload("missing_field")
    role = _optional_str(data, "role", 16)
    kind = _optional_str(data, "type", 16)
    if role and role not in _ROLES:
        raise InvalidSSOPayload("bad_field")
    if kind and kind not in _TYPES:
        raise InvalidSSOPayload("bad_field")
    active_location = _optional_str(data, "activeLocation", 64)
    if active_location and not _ID.match(active_location):
        raise InvalidSSOPayload("bad_field")
    # Unknown fields are dropped here: only the whitelist leaves this function.
    return SSOIdentity(
        user_id=user_id,  # type: ignore[arg-type]
        company_id=company_id,  # type: ignore[arg-type]
        role=role,
        type=kind,
        active_location=active_location,
        user_name=displaytext.clean(data.get("userName"), NAME_CHARS),
        email=displaytext.clean(data.get("email"), EMAIL_CHARS),
        # Anything but JSON true claims nothing (and GHL's record decides it anyway).
        is_agency_owner=data.get("isAgencyOwner") is True,
    )


def decrypt_payload(payload: str, secret: str) -> SSOIdentity:
    """Decrypt and validate one SSO payload. Raises InvalidSSOPayload for every failure."""
    if not isinstance(payload, str) or not secret:
        raise InvalidSSOPayload("empty")
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise InvalidSSOPayload("too_large")
    if not payload or len(payload) % 4 or not _B64.match(payload):
        raise InvalidSSOPayload("bad_base64")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSSOPayload("bad_base64") from exc
    if raw[:8] != MAGIC:
        raise InvalidSSOPayload("bad_framing")
    salt, body = raw[8:16], raw[16:]
    if len(salt) != 8 or not body or len(body) % 16:
        raise InvalidSSOPayload("bad_length")
    key, iv = _evp_bytes_to_key(secret.encode("utf-8"), salt)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise InvalidSSOPayload("bad_padding") from exc
    try:
        # A name cut in the middle of an emoji arrives as an unpaired surrogate; display fields
        # are cleaned below and identity fields are ASCII-only, so it need not refuse the person.
        data = safejson.loads(
            plain, object_pairs_hook=_no_duplicate_keys, allow_unpaired_surrogates=True
        )
    except safejson.InvalidJSON as exc:
        raise InvalidSSOPayload("not_json") from exc
    return _identity_from(data)


def decrypt_with_rotation(payload: str, secrets: list[str]) -> SSOIdentity:
    """Try the current secret, then the previous one (rotation). Same single failure either way."""
    last: InvalidSSOPayload | None = None
    for secret in secrets:
        if not secret:
            continue
        try:
            return decrypt_payload(payload, secret)
        except InvalidSSOPayload as exc:
            last = exc
    raise last or InvalidSSOPayload("no_secret")


def encrypt_payload(data: dict, secret: str, *, salt: bytes | None = None) -> str:
    """What CryptoJS.AES.encrypt(JSON.stringify(data), secret).toString() produces.

    For the development GHL shell and for tests; production never encrypts payloads.
    """
    salt = salt if salt is not None else os.urandom(8)
    key, iv = _evp_bytes_to_key(secret.encode("utf-8"), salt)
    padder = padding.PKCS7(128).padder()
    # JSON.stringify keeps non-ASCII as is (CryptoJS then encodes UTF-8) and, since ES2019, writes
    # an unpaired surrogate as a \uXXXX escape: backslashreplace writes exactly that escape.
    plain = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "backslashreplace"
    )
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(MAGIC + salt + body).decode("ascii")


def encrypt_raw_plaintext(plain: bytes, secret: str, *, salt: bytes | None = None) -> str:
    """Encrypt arbitrary bytes in the same framing (tests build malformed plaintexts with it)."""
    salt = salt if salt is not None else os.urandom(8)
    key, iv = _evp_bytes_to_key(secret.encode("utf-8"), salt)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    return base64.b64encode(MAGIC + salt + body).decode("ascii")
