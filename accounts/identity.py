"""Who is asking: TenantMiddleware turns the session into request.agency / request.ghl_user /
request.allowed_location_ids."""

from __future__ import annotations

from accounts.models import Agency, GHLUser

SESSION_USER = "ghl_user_pk"
SESSION_AGENCY = "agency_pk"
SESSION_ROLE = "role"
SESSION_LOCATIONS = "location_ids"


def resolve_session_identity(request) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    agency_pk = session.get(SESSION_AGENCY)
    user_pk = session.get(SESSION_USER)
    if not agency_pk or not user_pk:
        return
    # Every page consults the billing state (banner, gating): joined here, not a query of its own.
    agency = (
        Agency.objects.installed().filter(pk=agency_pk).select_related("billing_account").first()
    )
    if agency is None:
        return
    user = GHLUser.objects.for_agency(agency).filter(pk=user_pk, deleted=False).first()
    if user is None:
        return
    request.agency = agency
    request.ghl_user = user
    locations = session.get(SESSION_LOCATIONS)
    request.allowed_location_ids = frozenset(locations) if locations is not None else None


class TenantMiddleware:
    """Sets request.agency, request.ghl_user and request.allowed_location_ids from the session.

    Anything missing or stale (agency uninstalled, user gone) leaves the request anonymous; the
    auth guard then turns it away.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.agency = None
        request.ghl_user = None
        request.allowed_location_ids = None
        resolve_session_identity(request)
        return self.get_response(request)
