"""An owner's or admin's "Re-sync now": queue a full catch-up pull of their agency, at most once
per SYNC_RESYNC_MIN_INTERVAL_SECONDS, audited whether it starts or not.

The marker that rate-limits it (the cache key sync.status.resync_key, holding when it was asked
for) also lets the status area show "starting" until the worker opens the run.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone as dj_tz

from accounts import audit
from sync import runs, status
from sync.models import Installation, SyncRun

logger = logging.getLogger(__name__)

STARTED = "started"
TOO_SOON = "too_soon"
BUSY = "busy"
NOT_CONNECTED = "not_connected"
UNAVAILABLE = "unavailable"


def _connected(agency) -> bool:
    inst = Installation.objects.filter(agency=agency).first()
    return not agency.needs_reauth and inst is not None and inst.has_tokens


def _running(agency) -> bool:
    latest = SyncRun.objects.for_agency(agency).order_by("-requested_at").first()
    return latest is not None and runs.is_running(latest)


def start(agency, user, request) -> str:
    """Queue the re-sync, or say why not (one of the outcomes above)."""
    from sync.tasks import pull_agency

    if not _connected(agency):
        outcome = NOT_CONNECTED
    elif _running(agency):
        outcome = BUSY  # the pull lock would drop it; the status area shows the running one
    elif not cache.add(
        status.resync_key(agency.pk),
        dj_tz.now().isoformat(),
        timeout=settings.SYNC_RESYNC_MIN_INTERVAL_SECONDS,
    ):
        outcome = TOO_SOON
    else:
        outcome = STARTED
        try:
            pull_agency.delay(agency.pk, reason="resync")
        except Exception as exc:
            # The broker is away (or, inline, the pull failed before its run could record why):
            # free the marker so the owner can try again.
            cache.delete(status.resync_key(agency.pk))
            logger.warning("re-sync not started agency=%s error=%s", agency.pk, type(exc).__name__)
            outcome = UNAVAILABLE
    audit.record(
        "sync.resync",
        agency=agency,
        actor_type="ghl_user",
        actor_id=user.ghl_id,
        target=agency.company_id,
        outcome="success" if outcome == STARTED else "refused",
        request=request,
        detail={"result": outcome},
    )
    return outcome
