"""A sub-account's connection status and its dated history.

GoCSM can read a sub-account while it is `active`; `uninstalled` (GoCSM removed from it) and
`deleted` (gone from GHL's lists) make it "not connected" from the day of the change on. The
analytics read each day's status from this history, so every change goes through set_status.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone as dj_tz

from accounts.models import Location, LocationStatusChange

CONNECTED = Location.STATUS_ACTIVE


def set_status(agency, ghl_ids, status: str, *, at=None, **fields) -> list[str]:
    """Give these sub-accounts `status` (and `fields`); record a dated change for each one whose
    status really changes. Returns the ids that changed."""
    at = at or dj_tz.now()
    ids = list(ghl_ids)
    with transaction.atomic():
        qs = Location.objects.for_agency(agency).filter(ghl_id__in=ids)
        changed = list(qs.exclude(status=status).values_list("ghl_id", flat=True))
        qs.update(status=status, **fields)
        LocationStatusChange.objects.bulk_create(
            LocationStatusChange(agency=agency, location_ghl_id=g, at=at, status=status)
            for g in changed
        )
    return changed


def record_new(agency, location: Location) -> None:
    """A sub-account first seen in another status than connected starts its history with it."""
    if location.status != CONNECTED:
        LocationStatusChange.objects.create(
            agency=agency,
            location_ghl_id=location.ghl_id,
            at=location.first_seen_at,
            status=location.status,
        )
