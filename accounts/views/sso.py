"""`POST /auth/sso/`: exchange GHL's encrypted user payload for a new server-side session.

There is no session yet to carry a CSRF token, so the request must come from our own origin
(the Origin header). Every refusal gets the same 403 body, whatever its cause: the endpoint is
no padding oracle and tells a prober nothing. Failures are counted per client IP (429 past the
threshold), logged as "sso rejected" with a coarse reason code and audited; the payload is
never stored or logged, only its SHA-256 for the logout denylist (accounts.replay).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CSRF_SESSION_KEY, rotate_token
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import audit, ratelimit, replay
from accounts.identity import (
    SESSION_AGENCY,
    SESSION_AGENCY_EPOCH,
    SESSION_LOCATIONS,
    SESSION_ROLE,
    SESSION_USER,
    SESSION_USER_EPOCH,
)
from accounts.models import AuditEvent
from accounts.sessions import SessionStoreUnavailable
from accounts.signin import SignIn, SignInRefused, sign_in_identity
from accounts.sso import MAX_PAYLOAD_CHARS, InvalidSSOPayload, decrypt_with_rotation
from gocsm import metrics, product_events, safejson
from gocsm.authguard import public
from gocsm.errors import error_response

log = logging.getLogger(__name__)

# Where a signed-in person lands: the portfolio (analytics:overview, owned by the analytics app).
DASHBOARD_URL = "/app/"
REFUSED_BODY = {
    "error": "forbidden",
    "message": "Sign-in failed. Please open GoCSM from GoHighLevel again.",
}
RATE_LIMITED_BODY = {"error": "rate_limited", "message": "Too many attempts. Please wait."}


def own_origin(request) -> str:
    return (settings.PUBLIC_ORIGIN or f"{request.scheme}://{request.get_host()}").rstrip("/")


def _payload_from(request) -> str | None:
    if request.content_type == "application/json":
        try:
            body = safejson.loads(request.body)
        except safejson.InvalidJSON:
            return None
        value = body.get("payload") if isinstance(body, dict) else None
    else:
        try:
            value = request.POST.get("payload")
        except (SuspiciousOperation, MultiPartParserError):
            # Too many fields, a broken multipart body: one more bad payload, answered as such.
            return None
    if not isinstance(value, str) or not value or len(value) > MAX_PAYLOAD_CHARS:
        return None
    return value


def _refuse(request, reason: str, ip: str | None) -> JsonResponse:
    log.warning("sso rejected (%s)", reason)
    metrics.SSO_FAILURES.labels(reason=reason).inc()
    ratelimit.count_failure(ip)
    audit.record(
        "sso.failed",
        outcome="failure",
        actor_type=AuditEvent.ACTOR_GHL,
        request=request,
        detail={"reason": reason},
    )
    return JsonResponse(REFUSED_BODY, status=403)


def _start_session(request, result: SignIn) -> None:
    """A brand-new session for `result`: the old one (if any) is deleted, never reused."""
    session = request.session
    session.flush()
    session[SESSION_USER] = result.user.pk
    session[SESSION_AGENCY] = result.agency.pk
    session[SESSION_ROLE] = result.user.role
    # As read with the agency and the person: an uninstall or removal since then raised them.
    session[SESSION_AGENCY_EPOCH] = result.agency.session_epoch
    session[SESSION_USER_EPOCH] = result.user.session_epoch
    if result.location_ids is not None:
        session[SESSION_LOCATIONS] = result.location_ids
    rotate_token(request)
    session[CSRF_SESSION_KEY] = request.META["CSRF_COOKIE"]
    session.save()


@public
@csrf_exempt
@require_POST
def sso(request):
    if getattr(request, "session_unavailable", False):
        return error_response(request, 503)
    ip = audit.client_ip(request)
    try:
        if ratelimit.is_blocked(ip):
            log.warning("sso rejected (rate_limited)")
            return JsonResponse(RATE_LIMITED_BODY, status=429)
        if request.META.get("HTTP_ORIGIN", "").lower() != own_origin(request).lower():
            return _refuse(request, "bad_origin", ip)
        payload = _payload_from(request)
        if payload is None:
            return _refuse(request, "bad_request", ip)
        digest = replay.payload_hash(payload)
        if replay.is_denied(digest):
            return _refuse(request, "replayed_after_logout", ip)
        secrets = [settings.GHL_SSO_SHARED_SECRET, settings.GHL_SSO_SHARED_SECRET_PREVIOUS]
        try:
            identity = decrypt_with_rotation(payload, secrets)
        except InvalidSSOPayload as exc:
            return _refuse(request, exc.reason, ip)
        finally:
            del payload
        try:
            result = sign_in_identity(identity)
        except SignInRefused as exc:
            return _refuse(request, exc.reason, ip)
        _start_session(request, result)
        replay.remember_session_payload(request.session.session_key, digest)
    except SessionStoreUnavailable:
        return error_response(request, 503)
    audit.record(
        "sso.sign_in",
        agency=result.agency,
        actor_type=AuditEvent.ACTOR_GHL,
        actor_id=result.user.ghl_id,
        target=f"ghl_user:{result.user.pk}",
        request=request,
        detail={"role": result.user.role},
    )
    log.info("sso signed in user=%s agency=%s", result.user.pk, result.agency.pk)
    product_events.capture(result.user, "sso_signed_in", {"first_sign_in": result.first_sign_in})
    return JsonResponse({"next": DASHBOARD_URL})
