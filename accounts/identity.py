"""Who is asking: turns the session into request.agency / request.ghl_user."""

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
