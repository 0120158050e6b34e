"""Operations' periodic jobs (loaded through CELERY_IMPORTS in settings' operations section)."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="ops.prune_audit_events")
def prune_audit_events() -> int:
    """Remove audit events past AUDIT_RETENTION_DAYS; safe to run any number of times."""
    from accounts.audit import prune_expired_audit_events

    removed = prune_expired_audit_events()
    log.info("audit events pruned", extra={"event": "audit.pruned", "count": removed})
    return removed
