"""The token journal: a pair GHL has issued, kept where it survives the process, until it is stored.

GHL rotates refresh tokens: once GHL answers a refresh, the stored refresh token is dead and the new
pair exists only in the refresher's memory until its database transaction commits. A worker killed
in between (SIGKILL, OOM, a lost database connection) would lose the only live refresh token and
the agency would have to re-install. So the refresher (sync/credentials.py) writes GHL's answer
here first, encrypted with TOKEN_ENCRYPTION_KEYS, and every later refresher stores a journalled
pair before deciding anything (docs/runbooks/token-refresh-and-reauthorisation.md).

One entry per agency, in Redis without expiry (the refresh lock lives there too, so a refresh
cannot happen without it); the process cache in embedded mode (one process: a crash loses the
journal and the pair with it). The entry is removed once the pair it holds is committed, and by
an agency's purge (its key is under the agency's prefix, gocsm/agencykeys.py).
"""

from __future__ import annotations

import json
import logging

from django.core.cache import cache

from gocsm import redisconn
from gocsm.agencykeys import agency_cache_key, agency_redis_key
from sync import tokens
from sync.ghl.oauth import TokenGrant

logger = logging.getLogger(__name__)


def _key(agency_id: int) -> str:
    return agency_redis_key(agency_id, "ghl", "token-journal")


def _cache_key(agency_id: int) -> str:
    return agency_cache_key(agency_id, "ghl", "token-journal")


def _encode(grant: TokenGrant) -> str:
    fields = {
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "expires_in": grant.expires_in,
        "scope": grant.scope,
        "userType": grant.user_type,
        "companyId": grant.company_id,
        "locationId": grant.location_id,
        "userId": grant.user_id,
        "planId": grant.plan_id,
    }
    return tokens.encrypt(json.dumps(fields))


def _decode(raw: str) -> TokenGrant | None:
    try:
        data = json.loads(tokens.decrypt(raw))
        return TokenGrant(
            data["access_token"],
            data["refresh_token"],
            int(data["expires_in"]),
            data.get("scope", ""),
            data.get("userType", ""),
            data.get("companyId", ""),
            data.get("locationId", ""),
            data.get("userId", ""),
            data.get("planId", ""),
        )
    except (tokens.InvalidToken, ValueError, KeyError, TypeError):
        logger.warning("unreadable token journal entry ignored")
        return None


def write(agency_id: int, grant: TokenGrant) -> bool:
    """Record the pair GHL just issued. False (logged) when it could not be recorded: the caller
    still stores the pair in the database, which is then its only copy, as before the journal."""
    value = _encode(grant)
    try:
        r = redisconn.connection()
        if r is None:
            cache.set(_cache_key(agency_id), value, timeout=None)
        else:
            r.set(_key(agency_id), value)
    except Exception as exc:  # a journal that cannot be written must not stop the commit
        logger.error("token journal not written agency=%s error=%s", agency_id, type(exc).__name__)
        return False
    return True


def read(agency_id: int) -> TokenGrant | None:
    r = redisconn.connection()
    raw = cache.get(_cache_key(agency_id)) if r is None else r.get(_key(agency_id))
    if not raw:
        return None
    return _decode(raw.decode() if isinstance(raw, bytes) else raw)


def clear(agency_id: int, refresh_token: str) -> None:
    """Drop the entry once its pair is stored, unless a newer pair replaced it meanwhile."""
    r = redisconn.connection()
    if r is None:
        current = read(agency_id)
        if current is not None and current.refresh_token == refresh_token:
            cache.delete(_cache_key(agency_id))
        return
    raw = r.get(_key(agency_id))
    if not raw:
        return
    current = _decode(raw.decode() if isinstance(raw, bytes) else raw)
    if current is None or current.refresh_token == refresh_token:
        redisconn.delete_if_holds(r, _key(agency_id), raw)
