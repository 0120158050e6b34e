"""Template context: the billing banner for the signed-in agency (empty for anyone else)."""

from __future__ import annotations

from billing.gating import access_for


def billing_banner(request):
    agency = getattr(request, "agency", None)
    user = getattr(request, "ghl_user", None)
    if agency is None or user is None:
        return {}
    return {"billing_access": access_for(agency, user)}
