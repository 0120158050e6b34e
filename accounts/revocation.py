"""Ending sessions at once: GoCSM uninstalled, an agency purged, a person removed by GHL.

Two steps, in this order:
1. the session epoch is raised in the database (accounts.identity refuses any session that
   started with an older one). This alone ends them, including any the index missed, and it is
   what keeps a reinstall from reviving a single one;
2. the indexed sessions are deleted from Redis in one operation (accounts.sessionindex), so they
   are gone now rather than left to expire.
A Redis failure in step 2 is logged and swallowed: step 1 has already ended the sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db.models import F

from accounts import sessionindex
from accounts.models import Agency, GHLUser

log = logging.getLogger(__name__)


def _delete_indexed(destroy, *args) -> int:
    try:
        return destroy(*args)
    except Exception as exc:
        log.error(
            "sessions not deleted from the store (%s); epochs refuse them", type(exc).__name__
        )
        return 0


def end_agency_sessions(agency_id: int) -> int:
    """End every session of the agency. Returns how many were deleted from the store."""
    Agency.objects.filter(pk=agency_id).update(session_epoch=F("session_epoch") + 1)
    ended = _delete_indexed(sessionindex.destroy_agency, agency_id)
    log.info("agency sessions ended agency=%s sessions=%s", agency_id, ended)
    return ended


def end_user_sessions(agency_id: int, user_ids: Iterable[int]) -> int:
    """End every session of these people of the agency. Returns how many were deleted."""
    user_ids = list(user_ids)
    if not user_ids:
        return 0
    GHLUser.objects.for_agency(agency_id).filter(pk__in=user_ids).update(
        session_epoch=F("session_epoch") + 1
    )
    ended = _delete_indexed(sessionindex.destroy_users, agency_id, user_ids)
    log.info("user sessions ended agency=%s users=%s sessions=%s", agency_id, len(user_ids), ended)
    return ended
