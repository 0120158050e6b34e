"""`/dev/ghl-shell/`: plays GHL's parent page for development and the browser test.

Exists only with settings.DEV_TOOLS (GOCSM_DEV_TOOLS=1 in a DEBUG or test process); otherwise
404. It lists the people of installed agencies, encrypts the chosen person's payload with the
shared secret exactly as CryptoJS does, frames the app at `/` and answers its REQUEST_USER_DATA.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import GHLUser, Location
from accounts.sso import encrypt_payload
from gocsm.authguard import public


def app_origin(request) -> str:
    """Where the framed app lives (another site than the shell, to prove cross-site framing)."""
    configured = settings.DEV_APP_ORIGIN or settings.PUBLIC_ORIGIN
    return (configured or f"{request.scheme}://{request.get_host()}").rstrip("/")


def payload_claims(user: GHLUser) -> dict:
    """The claims GHL would put in `user`'s payload."""
    claims = {
        "userId": user.ghl_id,
        "companyId": user.agency.company_id,
        "role": user.ghl_role or ("admin" if user.is_owner_or_admin else "user"),
        "type": "location" if user.role == GHLUser.ROLE_LOCATION else "agency",
        "userName": user.name,
        "email": user.email,
        "isAgencyOwner": user.is_agency_owner,
    }
    if user.role == GHLUser.ROLE_LOCATION:
        location = user.location_ids[0] if user.location_ids else None
        if location is None:
            first = Location.objects.for_agency(user.agency).order_by("pk").first()
            location = first.ghl_id if first else ""
        claims["activeLocation"] = location
    return claims


@public
@require_GET
def ghl_shell(request):
    if not settings.DEV_TOOLS:
        raise Http404
    users = list(
        GHLUser.objects.all_agencies()
        .filter(agency__is_installed=True, deleted=False)
        .select_related("agency")
        .order_by("agency__name", "name")[:200]
    )
    chosen = None
    payload = ""
    wanted = request.GET.get("user", "")
    if wanted.isdigit():
        chosen = next((u for u in users if u.pk == int(wanted)), None)
    if chosen is not None and settings.GHL_SSO_SHARED_SECRET:
        payload = encrypt_payload(payload_claims(chosen), settings.GHL_SSO_SHARED_SECRET)
    origin = app_origin(request)
    response = render(
        request,
        "accounts/devshell.html",
        {
            "users": users,
            "chosen": chosen,
            "shell_config": {"appOrigin": origin, "appUrl": f"{origin}/", "payload": payload},
            "has_secret": bool(settings.GHL_SSO_SHARED_SECRET),
        },
    )
    # The shell frames the app, which may live on another origin.
    response._csp_config = {
        **settings.SECURE_CSP,
        "frame-src": ["'self'", origin],
        "frame-ancestors": ["'none'"],
    }
    return response
