"""The agency's GHL user list, kept in step with GHL (GHL_API.md §6.3).

Roles, agency and allowed sub-accounts come from GHL's user record: `roles.type` agency/account,
`roles.role` admin/user, `roles.locationIds` and `roles.restrictSubAccount`. Ownership is not in
GHL's record, so an existing owner stays owner while GHL still calls them an unrestricted agency
admin, and loses it the moment GHL says otherwise.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone as dj_tz

from accounts import lookups
from accounts.confirmation import UnknownToGHL, UserNotConfirmed
from accounts.models import Agency, GHLUser
from accounts.revocation import end_user_sessions
from sync.credentials import client_for_agency
from sync.ghl.errors import GHLError, NotFound, NotPermitted
from sync.ghl.records import UserRecord

logger = logging.getLogger(__name__)


def role_from_record(rec: UserRecord, *, owner: bool = False) -> str:
    if rec.type != "agency":
        return GHLUser.ROLE_LOCATION
    if rec.role == "admin":
        return GHLUser.ROLE_OWNER if owner and not rec.restrict_sub_account else GHLUser.ROLE_ADMIN
    return GHLUser.ROLE_USER


def _fields(rec: UserRecord, existing: GHLUser | None, owner_claim: bool = False) -> dict:
    was_owner = existing is not None and existing.role == GHLUser.ROLE_OWNER
    role = role_from_record(rec, owner=was_owner or owner_claim)
    return {
        "name": rec.name,
        "email": rec.email,
        "role": role,
        "ghl_type": rec.type,
        "ghl_role": rec.role,
        "is_agency_owner": role == GHLUser.ROLE_OWNER,
        "location_ids": list(rec.location_ids),
        "restrict_sub_account": rec.restrict_sub_account,
        "deleted": rec.deleted,
        "confirmed_by_ghl_at": dj_tz.now(),
    }


def upsert_user(agency: Agency, rec: UserRecord, *, owner_claim: bool = False) -> GHLUser:
    """Store one GHL user record (keyed on agency + GHL id). `owner_claim` lets an SSO payload's
    isAgencyOwner stand only where GHL confirms an unrestricted agency admin. A person GHL now
    says is deleted is signed out everywhere at once."""
    with transaction.atomic():
        existing = (
            GHLUser.objects.for_agency(agency).select_for_update().filter(ghl_id=rec.id).first()
        )
        user, _ = GHLUser.objects.for_agency(agency).update_or_create(
            agency=agency, ghl_id=rec.id, defaults=_fields(rec, existing, owner_claim)
        )
    if rec.deleted and existing is not None and not existing.deleted:
        end_user_sessions(agency.pk, [user.pk])
    return user


def fetch_user(agency: Agency, user_id: str) -> GHLUser:
    """One user GHL knows and the pulls have not stored yet, fetched with the agency's token
    (`GET /users/{userId}`) and stored. SSO confirmation's fetcher (settings.SSO_GHL_USER_FETCHER).
    """
    try:
        record = client_for_agency(agency).get_user(user_id)
    except (NotFound, NotPermitted) as exc:
        raise UnknownToGHL("unknown to GHL") from exc
    except GHLError as exc:
        logger.warning("sso confirmation: GHL unavailable agency=%s", agency.pk)
        raise UserNotConfirmed("GHL unavailable") from exc
    if record.id != user_id:
        raise UserNotConfirmed("GHL answered for another user")
    return upsert_user(agency, record)


def sync_users(agency: Agency, records: list[UserRecord]) -> int:
    """Make the stored list match GHL's complete list: upsert every record, mark the rest deleted.

    Call only with a complete listing (a partial one would delete people). Returns rows changed.
    """
    existing = {u.ghl_id: u for u in GHLUser.objects.for_agency(agency)}
    changed = 0
    seen = set()
    for rec in records:
        seen.add(rec.id)
        current = existing.get(rec.id)
        fields = _fields(rec, current)
        if current is not None and all(
            getattr(current, k) == v for k, v in fields.items() if k != "confirmed_by_ghl_at"
        ):
            continue
        upsert_user(agency, rec)
        changed += 1
    gone = [u.pk for gid, u in existing.items() if gid not in seen and not u.deleted]
    if gone:
        # Removed in GHL: they are signed out everywhere at once.
        changed += GHLUser.objects.for_agency(agency).filter(pk__in=gone).update(deleted=True)
        lookups.forget(agency.pk)  # no longer CSM choices; an update sends no signal
        end_user_sessions(agency.pk, gone)
    return changed


def users_by_location(records: list[UserRecord]) -> dict[str, tuple[int, int]]:
    """Per sub-account: (admins, users) among its own (account-level) people, deleted excluded."""
    out: dict[str, list[int]] = {}
    for rec in records:
        if rec.deleted or rec.type == "agency":
            continue
        for loc in rec.location_ids:
            pair = out.setdefault(loc, [0, 0])
            pair[0 if rec.role == "admin" else 1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}
