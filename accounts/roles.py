"""GoCSM roles from GHL's claims, and the check for owner/admin-only pages.

- agency owner: `isAgencyOwner`;
- agency admin: `role` admin in the agency context;
- agency user: any other agency-level person;
- location user: payload `type` "location", restricted to `activeLocation`.
A sub-account-only user is never promoted by other claims (least privilege first).
"""

from __future__ import annotations

from functools import wraps

from accounts.models import GHLUser
from accounts.sso import SSOIdentity
from gocsm.errors import error_response


def role_for(identity: SSOIdentity) -> str:
    if identity.type == "location":
        return GHLUser.ROLE_LOCATION
    if identity.is_agency_owner:
        return GHLUser.ROLE_OWNER
    if identity.role == "admin" and identity.type == "agency":
        return GHLUser.ROLE_ADMIN
    return GHLUser.ROLE_USER


def allowed_location_ids(user: GHLUser, identity: SSOIdentity) -> list[str] | None:
    """GHL location ids the person may see, or None for the whole portfolio."""
    if user.role == GHLUser.ROLE_LOCATION:
        return [identity.active_location]
    if user.role == GHLUser.ROLE_OWNER:
        return None
    # Agency admins and users whose synced GHL record restricts them (roles.locationIds with
    # restrictSubAccount) see only those sub-accounts.
    if user.restrict_sub_account and user.location_ids:
        return [str(x) for x in user.location_ids]
    return None


def owner_or_admin_required(view):
    """Billing and settings pages: agency owners and admins only; everyone else gets 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = getattr(request, "ghl_user", None)
        if user is None or not user.is_owner_or_admin:
            return error_response(request, 403)
        return view(request, *args, **kwargs)

    return wrapper
