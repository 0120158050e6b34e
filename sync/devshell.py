"""`/dev/ghl-shell/`: plays GHL's parent page for development and the browser test.

Exists only with settings.DEV_TOOLS (GOCSM_DEV_TOOLS=1 in a DEBUG or test process); otherwise
404. It lists the people of installed agencies, each with their role and, for sub-account users,
their sub-account; opens as the first agency's owner unless another person is picked; encrypts
the chosen person's payload with the shared secret exactly as CryptoJS does, frames the app at
`/` and answers its REQUEST_USER_DATA.

`?page=sub-account` plays a GHL sub-account page instead (the chosen person's sub-account, or
the agency's first one for agency staff): the address bar reads /v2/location/<id>/dashboard as in
GHL, `window.exposeSessionDetails` hands out the payload, and the agency's Custom JS (our
tracker, from the app's origin) runs there, beacons and NPS prompt included.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.models import GHLUser, Location
from accounts.sso import encrypt_payload
from gocsm.authguard import public
from sync.models import Installation


def app_origin(request) -> str:
    """Where the framed app lives (another site than the shell, to prove cross-site framing)."""
    configured = settings.DEV_APP_ORIGIN or settings.PUBLIC_ORIGIN
    return (configured or f"{request.scheme}://{request.get_host()}").rstrip("/")


def payload_claims(user: GHLUser, *, owner: bool | None = None) -> dict:
    """The claims GHL would put in `user`'s payload (`owner`: GHL calls them the agency owner;
    by default, whether we already know them as the owner)."""
    claims = {
        "userId": user.ghl_id,
        "companyId": user.agency.company_id,
        "role": user.ghl_role or ("admin" if user.is_owner_or_admin else "user"),
        "type": "location" if user.role == GHLUser.ROLE_LOCATION else "agency",
        "userName": user.name,
        "email": user.email,
        "isAgencyOwner": user.is_agency_owner if owner is None else owner,
    }
    if user.role == GHLUser.ROLE_LOCATION:
        location = user.location_ids[0] if user.location_ids else None
        if location is None:
            first = Location.objects.for_agency(user.agency).order_by("pk").first()
            location = first.ghl_id if first else ""
        claims["activeLocation"] = location
    return claims


def _owner_ids(users: list[GHLUser]) -> set[int]:
    """Who GHL would call each agency's owner: the person already known as owner, else the
    unrestricted agency admin who installed GoCSM (GHL's owner installs marketplace apps)."""
    owners = {u.agency_id: u.pk for u in users if u.role == GHLUser.ROLE_OWNER}
    installers = dict(
        Installation.objects.filter(agency_id__in={u.agency_id for u in users}).values_list(
            "agency_id", "installer_user_id"
        )
    )
    for u in users:
        if (
            u.agency_id not in owners
            and u.ghl_id == installers.get(u.agency_id)
            and u.ghl_type == "agency"
            and u.ghl_role == "admin"
            and not u.restrict_sub_account
        ):
            owners[u.agency_id] = u.pk
    return set(owners.values())


_ORDER = {
    GHLUser.ROLE_OWNER: 0,
    GHLUser.ROLE_ADMIN: 1,
    GHLUser.ROLE_USER: 2,
    GHLUser.ROLE_LOCATION: 3,
}


def _picker(users: list[GHLUser]) -> tuple[list[dict], set[int]]:
    """[{"agency": name, "people": [(user, label)]}] with each person's role and, for
    sub-account users, their sub-account; owners first, then admins, users, sub-accounts."""
    owners = _owner_ids(users)
    names = dict(
        Location.objects.all_agencies()
        .filter(agency_id__in={u.agency_id for u in users})
        .values_list("ghl_id", "name")
    )
    rows = []
    for u in users:
        role = GHLUser.ROLE_OWNER if u.pk in owners else u.role
        label = f"{u.name or u.ghl_id} — {dict(GHLUser.ROLES)[role]}"
        place = ""
        if role == GHLUser.ROLE_LOCATION:
            place = next((names[i] for i in u.location_ids or () if i in names), "")
            label += f", {place}" if place else ""
        elif u.restrict_sub_account and u.location_ids:
            count = len(u.location_ids)
            label += f", {count} sub-account{'s' if count != 1 else ''} only"
        rows.append((u.agency.name, _ORDER[role], place.lower(), (u.name or "").lower(), u, label))
    rows.sort(key=lambda r: r[:4])
    groups: list[dict] = []
    for agency, _rank, _place, _name, u, label in rows:
        if not groups or groups[-1]["agency"] != agency:
            groups.append({"agency": agency, "people": []})
        groups[-1]["people"].append((u, label))
    return groups, owners


@public
@require_GET
def ghl_shell(request):
    if not settings.DEV_TOOLS:
        raise Http404
    users = list(
        GHLUser.objects.all_agencies()
        .filter(agency__is_installed=True, deleted=False)
        .select_related("agency")
        .order_by("agency__name", "name")[:1000]
    )
    groups, owners = _picker(users)
    wanted = request.GET.get("user", "")
    chosen = None
    if wanted.isdigit():
        chosen = next((u for u in users if u.pk == int(wanted)), None)
    elif not wanted:
        # First load: open as the first agency's owner, as GHL would for the one who installed.
        chosen = next((u for g in groups for u, _label in g["people"] if u.pk in owners), None)
    payload = ""
    claims: dict = {}
    if chosen is not None and settings.GHL_SSO_SHARED_SECRET:
        claims = payload_claims(chosen, owner=chosen.pk in owners)
        payload = encrypt_payload(claims, settings.GHL_SSO_SHARED_SECRET)
    origin = app_origin(request)
    sub_account_page = request.GET.get("page") == "sub-account" and chosen is not None
    location_path = ""
    if sub_account_page:
        location = (
            claims.get("activeLocation")
            or (
                Location.objects.for_agency(chosen.agency)
                .order_by("pk")
                .values_list("ghl_id", flat=True)
            ).first()
        )
        location_path = f"/v2/location/{location}/dashboard" if location else ""
    response = render(
        request,
        "accounts/devshell.html",
        {
            "groups": groups,
            "chosen": chosen,
            "shell_config": {
                "appOrigin": origin,
                "appUrl": f"{origin}/",
                "payload": payload,
                "locationPath": location_path,
                "appId": settings.GHL_APP_ID,
            },
            "has_secret": bool(settings.GHL_SSO_SHARED_SECRET),
            "sub_account_page": sub_account_page,
            "page": "sub-account" if sub_account_page else "",
            "tracker_src": f"{origin}{reverse('sync:activity:tracker')}" if location_path else "",
        },
    )
    # The shell frames the app, which may live on another origin, and on a sub-account page runs
    # the tracker from there (as an agency's GHL allows our origin for its Custom JS).
    response._csp_config = {
        **settings.SECURE_CSP,
        "frame-src": ["'self'", origin],
        "script-src": ["'self'", origin],
        "connect-src": ["'self'", origin],
        "frame-ancestors": ["'none'"],
    }
    return response
