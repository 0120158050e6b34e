"""Writing audit events: one function, so no caller can slip a secret into a free-form field."""

from __future__ import annotations

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
        actor_id=actor_id,
        target=target[:200],
        outcome=outcome,
        request_id=current_request_id() if current_request_id() != "-" else "",
        ip=client_ip(request),
        detail=redact_value(detail or {}),
    )
