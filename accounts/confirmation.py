"""Confirming an SSO identity against GHL's own user record.

The SSO payload is encrypted but not signed (DESIGN.md §3), so it never decides alone. The user
must be in the agency's GHL user list, which the pulls keep in step (sync/usersync.py). A user not
in the list yet (added in GHL since the last pull) is fetched once with `GET /users/{userId}` and
the agency's token, and stored. Role, agency and allowed sub-accounts then come from GHL's record;
the payload contributes only which sub-account is open, and only if GHL lets the user see it.

Any doubt (unknown or deleted user, GHL unreachable, no usable grant) raises UserNotConfirmed,
which the SSO view answers with its generic 403. Unknown ids are remembered briefly, so a stream
of made-up payloads cannot spend the agency's GHL budget.

Asking GHL is the sync app's job: settings.SSO_GHL_USER_FETCHER names the function (like
EMAIL_BACKEND names a backend), so accounts, the base, never imports a feature app.
"""

from __future__ import annotations

import dataclasses
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

from accounts.models import Agency, GHLUser
from accounts.sso import SSOIdentity
from gocsm.agencykeys import agency_cache_key

UNKNOWN_USER_CACHE_SECONDS = 300


class UserNotConfirmed(Exception):
    """GHL does not know this user for this agency (or says they are deleted)."""


class UnknownToGHL(UserNotConfirmed):
    """GHL answered that it has no such user in this agency: remembered for a while."""


def _unknown_key(agency: Agency, user_id: str) -> str:
    digest = hashlib.sha256(user_id.encode()).hexdigest()[:32]
    return agency_cache_key(agency.pk, "sso-unknown-user", digest)


def _fetch_from_ghl(agency: Agency, user_id: str) -> GHLUser:
    """GHL's record of the user, stored, through the fetcher the settings name.

    The fetcher takes (agency, user_id) and returns the stored GHLUser; it raises UnknownToGHL
    when GHL does not know the id and UserNotConfirmed for any other doubt.
    """
    if cache.get(_unknown_key(agency, user_id)):
        raise UserNotConfirmed("recently unknown to GHL")
    fetch = import_string(settings.SSO_GHL_USER_FETCHER)
    try:
        return fetch(agency, user_id)
    except UnknownToGHL:
        cache.set(_unknown_key(agency, user_id), 1, timeout=UNKNOWN_USER_CACHE_SECONDS)
        raise


def confirm_user_with_ghl(agency: Agency, identity: SSOIdentity) -> SSOIdentity:
    """The claims to sign `identity` in with, as GHL's record for the user states them.

    Raises UserNotConfirmed when GHL does not know the user in this agency, or when a
    sub-account user opens a sub-account GHL does not give them.
    """
    user = (
        GHLUser.objects.for_agency(agency)
        .filter(ghl_id=identity.user_id, confirmed_by_ghl_at__isnull=False)
        .first()
    )
    if user is None:
        user = _fetch_from_ghl(agency, identity.user_id)
    if user.deleted:
        raise UserNotConfirmed("deleted in GHL")
    agency_level = user.ghl_type == "agency"
    active = identity.active_location
    if not agency_level and active not in (user.location_ids or []):
        # A sub-account user sees only sub-accounts GHL assigns to them.
        raise UserNotConfirmed("sub-account not assigned to this user")
    owner = agency_level and user.role == GHLUser.ROLE_OWNER
    if agency_level and identity.is_agency_owner and user.ghl_role == "admin":
        # Ownership is not in GHL's user record: an unrestricted agency admin may claim it.
        owner = owner or not user.restrict_sub_account
    return dataclasses.replace(
        identity,
        role=user.ghl_role or "user",
        type="agency" if agency_level else "location",
        active_location=active,
        user_name=user.name or identity.user_name,
        email=user.email or identity.email,
        is_agency_owner=owner,
    )
