"""Who is asking: turns the session into request.agency / request.ghl_user.

A session names its agency and person and the session epochs they had when it started
(Agency.session_epoch, GHLUser.session_epoch). The epochs are compared in the same queries that
load the agency and the person, so a session from before an uninstall, or before GHL removed the
person, is refused even if its key survived, and a reinstall revives none. A session that no
longer resolves is deleted at once. Sessions written before the epochs existed count as epoch 0.
"""

from __future__ import annotations

import contextlib

from accounts.models import Agency, GHLUser

SESSION_USER = "ghl_user_pk"
SESSION_AGENCY = "agency_pk"
SESSION_ROLE = "role"
SESSION_LOCATIONS = "location_ids"
SESSION_AGENCY_EPOCH = "agency_epoch"
SESSION_USER_EPOCH = "user_epoch"


def _epoch(session, key: str) -> int | None:
    value = session.get(key, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def resolve_session_identity(request) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    agency_pk = session.get(SESSION_AGENCY)
    user_pk = session.get(SESSION_USER)
    if not agency_pk or not user_pk:
        return
    agency_epoch, user_epoch = (
        _epoch(session, SESSION_AGENCY_EPOCH),
        _epoch(session, SESSION_USER_EPOCH),
    )
    # Every page consults the billing state (banner, gating): joined here, not a query of its own.
    agency = (
        Agency.objects.installed()
        .filter(pk=agency_pk, session_epoch=agency_epoch)
        .select_related("billing_account")
        .first()
        if agency_epoch is not None
        else None
    )
    user = (
        GHLUser.objects.for_agency(agency)
        .filter(pk=user_pk, deleted=False, session_epoch=user_epoch)
        .first()
        if agency is not None and user_epoch is not None
        else None
    )
    if user is None:
        # Uninstalled, purged, ended, or the person removed: this session is over for good.
        from accounts.sessions import SessionStoreUnavailable

        # Anonymous for this request all the same if Redis fails now; the next one tries again.
        with contextlib.suppress(SessionStoreUnavailable):
            session.flush()
        return
    request.agency = agency
    request.ghl_user = user
    locations = session.get(SESSION_LOCATIONS)
    request.allowed_location_ids = frozenset(locations) if locations is not None else None
