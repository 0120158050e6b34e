"""Celery tasks of accounts: the audit trail's daily retention prune (scheduled in settings'
operations section as "ops.prune_audit_events", the name it has always had)."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.audit import prune_expired_audit_events

log = logging.getLogger(__name__)


@shared_task(name="ops.prune_audit_events")
def prune_audit_events() -> int:
    """Remove audit events past AUDIT_RETENTION_DAYS; safe to run any number of times."""
    removed = prune_expired_audit_events()
    log.info("audit events pruned", extra={"event": "audit.pruned", "count": removed})
    return removed
