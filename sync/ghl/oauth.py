"""GHL OAuth over HTTP (GHL_API.md §2): the authorize URL, code exchange, refresh, location tokens.

These functions only talk to GHL; storing and locking live in sync/credentials.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from django.conf import settings

from sync.ghl.errors import AuthRevoked, BadResponse, GHLUnavailable
from sync.ghl.session import http_session, read_body
from sync.scopes import scope_string


class InvalidGrant(AuthRevoked):
    """GHL refused the code or refresh token (used, revoked, or the app was uninstalled)."""


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    user_type: str
    company_id: str
    location_id: str
    user_id: str
    plan_id: str

    def __repr__(self) -> str:  # never print the tokens
        return f"TokenGrant(company_id={self.company_id!r}, user_type={self.user_type!r})"


def authorize_url(state: str, redirect_uri: str) -> str:
    """The marketplace consent page (§2.1), with our client id, scopes and a `state`."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.GHL_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": scope_string(),
            "state": state,
        }
    )
    return f"{settings.GHL_MARKETPLACE_URL.rstrip('/')}/v2/oauth/chooselocation?{query}"


def _post_token(form: dict[str, str], *, retry_connect: bool) -> dict:
    url = settings.GHL_API_BASE_URL.rstrip("/") + "/oauth/token"
    timeout = (settings.GHL_CONNECT_TIMEOUT_SECONDS, settings.GHL_READ_TIMEOUT_SECONDS)
    deadline = time.monotonic() + settings.GHL_CALL_DEADLINE_SECONDS
    attempts = 3 if retry_connect else 1
    resp = None
    for attempt in range(attempts):
        try:
            resp = http_session().post(url, data=form, timeout=timeout, stream=True)
            raw = read_body(resp, "/oauth/token", deadline)  # capped before parsing
            break
        except requests.exceptions.ConnectTimeout:
            # Only a connection that never reached GHL is safe to repeat: a code or refresh token
            # is single-use, and a request that did reach GHL may have consumed it.
            if attempt + 1 < attempts:
                continue
            raise GHLUnavailable("GHL /oauth/token: connect timeout") from None
        except requests.RequestException as exc:
            raise GHLUnavailable(f"GHL /oauth/token: {type(exc).__name__}") from None
    assert resp is not None
    if resp.status_code >= 500 or resp.status_code == 429:
        raise GHLUnavailable(f"GHL /oauth/token: HTTP {resp.status_code}")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadResponse("GHL /oauth/token: unreadable body", resp.status_code) from None
    if (
        resp.status_code in (400, 401)
        and isinstance(body, dict)
        and (body.get("error") in ("invalid_grant", "invalid_request", "unauthorized_client"))
    ):
        raise InvalidGrant(f"GHL /oauth/token: {body.get('error')}")
    if resp.status_code != 200 or not isinstance(body, dict):
        raise BadResponse(f"GHL /oauth/token: HTTP {resp.status_code}", resp.status_code)
    return body


def _grant(body: dict) -> TokenGrant:
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise BadResponse("GHL /oauth/token: no token pair")
    try:
        expires_in = int(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        expires_in = 0

    def s(key: str) -> str:
        value = body.get(key)
        return value[:64] if isinstance(value, str) else ""

    return TokenGrant(
        access,
        refresh,
        expires_in or 86399,
        str(body.get("scope") or "")[:1000],
        s("userType"),
        s("companyId"),
        s("locationId"),
        s("userId"),
        s("planId"),
    )


def exchange_code(code: str, redirect_uri: str) -> TokenGrant:
    """authorization_code grant, form-encoded (§2.2). InvalidGrant for a bad or used code."""
    return _grant(
        _post_token(
            {
                "client_id": settings.GHL_CLIENT_ID,
                "client_secret": settings.GHL_CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "user_type": "Company",
                "redirect_uri": redirect_uri,
            },
            retry_connect=True,
        )
    )


def refresh(refresh_token: str, user_type: str = "Company") -> TokenGrant:
    """refresh_token grant (§2.2). GHL rotates the refresh token: the old one is dead after this
    call succeeds, so the caller must store the new pair before doing anything else."""
    return _grant(
        _post_token(
            {
                "client_id": settings.GHL_CLIENT_ID,
                "client_secret": settings.GHL_CLIENT_SECRET,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "user_type": user_type,
            },
            retry_connect=True,
        )
    )


@dataclass(frozen=True)
class LocationGrant:
    access_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"LocationGrant(expires_in={self.expires_in})"


def mint_location_token(client, location_id: str) -> LocationGrant:
    """POST /oauth/locationToken with the agency token (§2.3), through the rate-limited client."""
    from sync.ghl.client import V_2021_07_28

    body = client.request(
        "POST",
        "/oauth/locationToken",
        version=V_2021_07_28,
        data={"companyId": client.company_id, "locationId": location_id},
    )
    access = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(access, str) or not access:
        raise BadResponse("GHL /oauth/locationToken: no access token")
    try:
        expires_in = int(body.get("expires_in") or 86399)
    except (TypeError, ValueError):
        expires_in = 86399
    return LocationGrant(access, expires_in)
