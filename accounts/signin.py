"""Turning a decrypted SSO identity into a signed-in GHL user (no HTTP here).

Order of checks: installed agency, confirmation against GHL (accounts.confirmation), role, then
an atomic upsert of the user. Every refusal raises SignInRefused with a coarse reason code that
is logged and audited but never shown to the client.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.confirmation import UserNotConfirmed, confirm_user_with_ghl
from accounts.models import Agency, GHLUser
from accounts.roles import allowed_location_ids, role_for
from accounts.sso import SSOIdentity


class SignInRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignIn:
    agency: Agency
    user: GHLUser
    location_ids: list[str] | None
    first_sign_in: bool = False


def sign_in_identity(identity: SSOIdentity) -> SignIn:
    """Upsert the GHL user behind `identity`. Raises SignInRefused; changes nothing then."""
    agency = Agency.objects.installed().filter(company_id=identity.company_id).first()
    if agency is None:
        raise SignInRefused("agency_not_installed")
    try:
        claims = confirm_user_with_ghl(agency, identity)
    except UserNotConfirmed as exc:
        raise SignInRefused("not_confirmed") from exc
    role = role_for(claims)
    if role == GHLUser.ROLE_LOCATION and not claims.active_location:
        raise SignInRefused("no_location")
    with transaction.atomic():
        user = (
            GHLUser.objects.for_agency(agency)
            .select_for_update()
            .filter(ghl_id=claims.user_id)
            .first()
        )
        if user is not None and user.deleted:
            raise SignInRefused("user_deleted")
        if user is None:
            # GHL's own user record (synced by the pulls) owns ghl_type; the payload's context
            # type ("location") differs from it ("account"), so it is only a first guess.
            user = GHLUser(agency=agency, ghl_id=claims.user_id, ghl_type=claims.type)
        # An omitted name or email keeps what we know rather than blanking it.
        user.name = claims.user_name or user.name
        user.email = claims.email or user.email
        user.role = role
        user.ghl_role = claims.role or user.ghl_role
        user.is_agency_owner = claims.is_agency_owner
        first_sign_in = user.last_sign_in_at is None
        user.last_sign_in_at = timezone.now()
        user.save()
    return SignIn(
        agency=agency,
        user=user,
        location_ids=allowed_location_ids(user, claims),
        first_sign_in=first_sign_in,
    )
