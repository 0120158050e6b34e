"""The audit trail of GoCSM staff in Django admin: sign-in, sign-out, failed attempts and every
change made there.

gocsm runs the admin site and the sign-in throttle and announces what happened (Django's auth
signals, gocsm.signals); accounts keeps the audit trail, so it listens here. Connected in
AccountsConfig.ready().
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.audit import fingerprint, record, record_staff
from accounts.models import Agency, AuditEvent


def on_sign_in_failed(sender, username, request, reason, **kwargs):
    user = get_user_model()._default_manager.filter(username=username).only("pk").first()
    record(
        "staff.sign_in_failed",
        actor_type=AuditEvent.ACTOR_STAFF,
        actor_id=str(user.pk) if user else "",
        outcome="failure",
        request=request,
        detail={"reason": reason, "username_hash": fingerprint((username or "").lower())},
    )


def on_signed_in(sender, request, user, **kwargs):
    record(
        "staff.sign_in",
        actor_type=AuditEvent.ACTOR_STAFF,
        actor_id=str(user.pk),
        request=request,
    )


def on_signed_out(sender, request, user, **kwargs):
    if user is None:
        return
    record(
        "staff.sign_out", actor_type=AuditEvent.ACTOR_STAFF, actor_id=str(user.pk), request=request
    )


def _agency_of(obj):
    if isinstance(obj, Agency):
        return obj
    agency_id = getattr(obj, "agency_id", None)
    if isinstance(agency_id, int):
        return Agency.objects.filter(pk=agency_id).first()
    return None


def on_admin_change(sender, request, action, obj, changed_fields=None, **kwargs):
    meta = obj._meta
    record_staff(
        f"admin.{action}",
        request,
        agency=_agency_of(obj),
        target=f"{meta.app_label}.{meta.model_name}:{obj.pk}",
        detail={"fields": changed_fields} if changed_fields is not None else None,
    )
