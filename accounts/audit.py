"""Writing audit events: one function, so no caller can slip a secret into a free-form field.

Events are append-only (accounts.models.AuditEventQuerySet). Two jobs may remove them, and both go
through delete_audit_events_bypassing_append_only(): the retention prune and an agency purge.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Agency, AuditEvent
from gocsm.logredact import redact_value
from gocsm.requestid import current_request_id


def client_ip(request) -> str | None:
    # Behind a proxy REMOTE_ADDR is the proxy; the deployment sets it from X-Forwarded-For.
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record(
    action: str,
    *,
    agency: Agency | None = None,
    actor_type: str = AuditEvent.ACTOR_SYSTEM,
    actor_id: str = "",
    target: str = "",
    outcome: str = "success",
    request=None,
    detail: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        agency=agency,
        actor_type=actor_type,
        actor_id=str(actor_id)[:64],
        target=target[:200],
        outcome=outcome,
        request_id=current_request_id() if current_request_id() != "-" else "",
        ip=client_ip(request),
        detail=redact_value(detail or {}),
    )


def record_staff(action: str, request, *, agency=None, target="", outcome="success", detail=None):
    """An event done by the signed-in staff member of `request` (Django admin)."""
    user = getattr(request, "user", None)
    return record(
        action,
        agency=agency,
        actor_type=AuditEvent.ACTOR_STAFF,
        actor_id=str(user.pk) if user is not None and user.is_authenticated else "",
        target=target,
        outcome=outcome,
        request=request,
        detail=detail,
    )


def fingerprint(value: str) -> str:
    """A stable reference to an identifier without storing it (purged company ids, typed
    usernames). Unkeyed on purpose: support can answer "was company X purged?" by hashing X, and
    the answer survives a SECRET_KEY rotation."""
    return hashlib.sha256(f"gocsm:{value}".encode()).hexdigest()[:32]


def delete_audit_events_bypassing_append_only(queryset: models.QuerySet) -> int:
    """The only sanctioned way to remove audit events: retention pruning and agency purges.

    Calls the plain QuerySet.delete() past AuditEventQuerySet's guard. Any new caller needs a
    reason as strong as those two.
    """
    deleted, _ = models.QuerySet.delete(queryset)
    return deleted


def prune_expired_audit_events(now=None) -> int:
    """Remove events older than AUDIT_RETENTION_DAYS. Run daily by the beat task."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    return delete_audit_events_bypassing_append_only(AuditEvent.objects.filter(at__lt=cutoff))


def erase_agency_audit_events(agency_id: int, *, using: str = "default") -> int:
    """Remove a purged agency's events (they carry its users' ids and IP addresses)."""
    return delete_audit_events_bypassing_append_only(
        AuditEvent.objects.using(using).filter(agency_id=agency_id)
    )
