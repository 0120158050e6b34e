"""Signing out, and `/auth/me/`: a small page that proves who the session says you are."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts import audit, replay
from accounts.models import AuditEvent
from gocsm.errors import wants_json


@require_GET
def whoami(request):
    user, agency = request.ghl_user, request.agency
    allowed = request.allowed_location_ids
    data = {
        "user": user.name,
        "user_id": user.ghl_id,
        "agency": agency.name,
        "role": user.role,
        "locations": sorted(allowed) if allowed is not None else None,
    }
    if wants_json(request):
        return JsonResponse(data)
    return render(request, "accounts/whoami.html", {"me": data})


@require_POST
def logout(request):
    """Delete the session in Redis at once, expire the cookie, deny the payload that started it."""
    user, agency = request.ghl_user, request.agency
    replay.deny_session_payload(request.session.session_key)
    request.session.flush()
    request.ghl_user = request.agency = None
    audit.record(
        "sso.sign_out",
        agency=agency,
        actor_type=AuditEvent.ACTOR_GHL,
        actor_id=user.ghl_id,
        target=f"ghl_user:{user.pk}",
        request=request,
    )
    if wants_json(request):
        return JsonResponse({"signed_out": True})
    return render(request, "accounts/signed_out.html")
