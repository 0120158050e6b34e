"""Who is asking: TenantMiddleware turns the session into request.agency / request.ghl_user /
request.allowed_location_ids.

A session names its agency and person and the session epochs they had when it started
(Agency.session_epoch, GHLUser.session_epoch). The epochs are compared in the same queries that
load the agency and the person, so a session from before an uninstall, or before GHL removed the
person, is refused even if its key survived, and a reinstall revives none. A session that no
longer resolves is deleted at once. Sessions written before the epochs existed count as epoch 0.
"""

from __future__ import annotations

import contextlib

from django.db import InterfaceError, OperationalError

from accounts.models import Agency, GHLUser
from accounts.sessionkeys import (
    SESSION_AGENCY,
    SESSION_AGENCY_EPOCH,
    SESSION_LOCATIONS,
    SESSION_ROLE,
    SESSION_USER,
    SESSION_USER_EPOCH,
)
from gocsm.dboutage import unreachable_database

# The session's keys live in accounts.sessionkeys; they are named here too, where readers of
# "who is asking" look for them.
__all__ = [
    "SESSION_AGENCY",
    "SESSION_AGENCY_EPOCH",
    "SESSION_LOCATIONS",
    "SESSION_ROLE",
    "SESSION_USER",
    "SESSION_USER_EPOCH",
    "TenantMiddleware",
    "resolve_session_identity",
]


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
        try:
            resolve_session_identity(request)
        except (OperationalError, InterfaceError) as exc:
            # The database does not answer: nobody is signed in for this request, and guarded
            # pages answer 503 (gocsm.dboutage) rather than 401 or 500.
            request.agency = request.ghl_user = request.allowed_location_ids = None
            request.database_unavailable = unreachable_database(exc)
        return self.get_response(request)
