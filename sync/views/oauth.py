"""Marketplace install: GET /oauth/install/ -> GHL consent -> GET /oauth/callback/.

`state` is signed (django.core.signing), short-lived and single-use (a nonce in the cache that
the callback deletes atomically); it may name the company we expect back. Any failure renders
one clear 400 page and stores nothing.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from gocsm.authguard import public
from gocsm.errors import error_response
from sync.ghl import oauth
from sync.ghl.client import GHLClient
from sync.ghl.errors import GHLError
from sync.installs import complete_install

logger = logging.getLogger(__name__)
STATE_SALT = "sync.oauth.state"


class StaticCompanyToken:
    """A TokenSource for the one call made with a grant that is not stored yet."""

    def __init__(self, company_id: str, access_token: str):
        self.company_id, self._token = company_id, access_token

    def company_token(self) -> str:
        return self._token

    def refresh_company_token(self, rejected: str) -> str:
        raise oauth.InvalidGrant("a brand-new token was refused")

    def location_token(self, location_id, client) -> str:
        raise NotImplementedError

    def drop_location_token(self, location_id, rejected) -> None:
        return None


def _redirect_uri(request) -> str:
    return settings.GHL_REDIRECT_URI or request.build_absolute_uri(reverse("sync:oauth-callback"))


def _nonce_key(nonce: str) -> str:
    return f"sync:oauth-state:{nonce}"


def _install_failed(request, message: str):
    response = render(request, "sync/install_failed.html", {"message": message}, status=400)
    response["Cache-Control"] = "no-store"
    return response


@public
@require_GET
def install(request):
    """Start the install. Public (marketplace entry); a signed-in agency owner or admin who
    starts it from inside GoCSM pins the company that must come back."""
    user = getattr(request, "ghl_user", None)
    expected = ""
    if user is not None:
        if not user.is_owner_or_admin:
            return error_response(request, 403)
        expected = request.agency.company_id
    nonce = secrets.token_urlsafe(24)
    cache.set(_nonce_key(nonce), 1, timeout=settings.GHL_OAUTH_STATE_MAX_AGE_SECONDS)
    state = signing.dumps({"n": nonce, "c": expected}, salt=STATE_SALT, compress=True)
    response = HttpResponseRedirect(oauth.authorize_url(state, _redirect_uri(request)))
    response["Cache-Control"] = "no-store"
    return response


@public
@require_GET
def callback(request):
    """GHL sends the browser back here with ?code=&state= (or ?error=)."""
    try:
        payload = signing.loads(
            request.GET.get("state", ""),
            salt=STATE_SALT,
            max_age=settings.GHL_OAUTH_STATE_MAX_AGE_SECONDS,
        )
        nonce, expected = str(payload["n"]), str(payload.get("c") or "")
    except (signing.BadSignature, KeyError, TypeError):
        return _install_failed(request, "This install link is invalid or has expired.")
    # Single use: DEL is atomic, so only one callback can consume a nonce.
    if not cache.delete(_nonce_key(nonce)):
        return _install_failed(request, "This install link was already used or has expired.")
    if request.GET.get("error") or not request.GET.get("code"):
        return _install_failed(request, "GoHighLevel did not authorise the install.")
    try:
        grant = oauth.exchange_code(request.GET["code"], _redirect_uri(request))
        if grant.user_type and grant.user_type != "Company":
            return _install_failed(
                request, "Install GoCSM for the whole agency, not a single sub-account."
            )
        if not grant.company_id or (expected and grant.company_id != expected):
            logger.warning("install refused: company mismatch")
            return _install_failed(
                request,
                "GoHighLevel returned a different agency than the one that started this install.",
            )
        client = GHLClient(StaticCompanyToken(grant.company_id, grant.access_token))
        company = client.company()
    except GHLError as exc:
        logger.warning("install failed: %s", type(exc).__name__)
        return _install_failed(
            request, "GoHighLevel could not complete the install. Please try again."
        )
    if company.id != grant.company_id:
        return _install_failed(
            request, "GoHighLevel returned a different agency than the one that was authorised."
        )
    agency = complete_install(grant, company, request=request)
    _queue_first_pull(agency.pk)
    return HttpResponseRedirect(reverse("sync:installed"))


def _queue_first_pull(agency_id: int) -> None:
    from sync.tasks import pull_agency

    try:
        pull_agency.delay(agency_id, reason="install")
    except Exception:  # the broker being down must not undo an install; beat catches up
        logger.exception("could not queue the first pull agency=%s", agency_id)


@public
@require_GET
def installed(request):
    return render(request, "sync/installed.html")
