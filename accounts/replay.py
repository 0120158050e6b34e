"""Refusing an SSO payload again after the session it started was logged out.

GHL's payload carries no timestamp or nonce, so a captured one could be replayed until the shared
secret rotates. We cannot stop that before logout, but once a person logs out, the payload that
started that session is put on a denylist of SHA-256 hashes for SESSION_MAX_SECONDS (as long as
any session could live) and refused with the generic 403 while it is there. The payload itself is
never stored: only its hash, keyed by a hash of the session key.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from accounts.redisguard import cache_call

DENIED_PREFIX = "gocsm.sso.denied."
STARTED_PREFIX = "gocsm.sso.started."


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _session_ref(session_key: str) -> str:
    return STARTED_PREFIX + hashlib.sha256(session_key.encode()).hexdigest()


def is_denied(digest: str) -> bool:
    return cache_call("get", DENIED_PREFIX + digest) is not None


def remember_session_payload(session_key: str, digest: str) -> None:
    cache_call("set", _session_ref(session_key), digest, settings.SESSION_MAX_SECONDS)


def deny_session_payload(session_key: str | None) -> bool:
    """Put the payload that started `session_key` on the denylist. True if there was one."""
    if not session_key:
        return False
    ref = _session_ref(session_key)
    digest = cache_call("get", ref)
    if not digest:
        return False
    cache_call("set", DENIED_PREFIX + digest, 1, settings.SESSION_MAX_SECONDS)
    cache_call("delete", ref)
    return True
