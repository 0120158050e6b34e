"""Apply one whitelisted webhook event (events.parse) to our records. Runs in Celery.

Every handler is idempotent (upserts keyed on agency and GHL id), so a redelivered task is
harmless. Events for agencies we do not know are acknowledged and dropped.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone as dj_tz

from accounts import audit, lifecycle
from accounts.models import Agency, GHLUser, Location
from sync.installs import uninstall_agency, uninstall_location
from sync.models import Installation

logger = logging.getLogger(__name__)


def _agency_for(event: dict) -> Agency | None:
    if event.get("company_id"):
        return Agency.objects.filter(company_id=event["company_id"]).first()
    if event.get("location_id"):
        loc = (
            Location.objects.all_agencies()
            .select_related("agency")
            .filter(ghl_id=event["location_id"])
            .first()
        )
        return loc.agency if loc else None
    return None


def apply(event: dict) -> str:
    """Returns a short outcome word for the receipt."""
    handler = HANDLERS.get(event["type"])
    return handler(event) if handler else "ignored"


def on_install(event: dict) -> str:
    from sync.tasks import pull_agency

    if event["location_id"]:
        # A sub-account installed the app (after an agency bulk install, or on its own).
        agency = _agency_for(event) or _agency_for({"location_id": event["location_id"]})
        if agency is None:
            return "unknown_agency"
        location, created = Location.objects.for_agency(agency).get_or_create(
            agency=agency, ghl_id=event["location_id"]
        )
        if not created:
            lifecycle.set_status(
                agency, [location.ghl_id], Location.STATUS_ACTIVE, is_installed=True
            )
        audit.record("install.location", agency=agency, target=event["location_id"])
        if _has_tokens(agency) and agency.is_installed:
            from sync.tasks import warm_location_token

            warm_location_token.delay(agency.pk, event["location_id"])
        return "location_installed"
    with transaction.atomic():
        agency, created = Agency.objects.select_for_update().get_or_create(
            company_id=event["company_id"]
        )
        if event.get("company_name"):
            agency.name = event["company_name"]
        if event.get("whitelabel_domain"):
            agency.whitelabel_domain = event["whitelabel_domain"]
        has_tokens = _has_tokens(agency)
        agency.is_installed = True
        agency.uninstalled_at = None
        agency.installed_at = agency.installed_at or dj_tz.now()
        # Without a stored grant the owner must finish the OAuth install (the exchange needs the
        # code GHL gives only to the browser); the app shows that as "re-authorise".
        agency.needs_reauth = not has_tokens
        agency.save()
        if event.get("plan_id"):
            Installation.objects.filter(agency=agency).update(plan_id=event["plan_id"])
        audit.record(
            "install",
            agency=agency,
            actor_type="ghl_user",
            actor_id=event.get("user_id", ""),
            target=agency.company_id,
            detail={"via": "webhook", "new_agency": created, "tokens": has_tokens},
        )
    if has_tokens:
        pull_agency.delay(agency.pk, reason="install")
    return "installed" if has_tokens else "awaiting_oauth"


def _has_tokens(agency: Agency) -> bool:
    inst = Installation.objects.filter(agency=agency).first()
    return bool(inst and inst.has_tokens)


def on_uninstall(event: dict) -> str:
    if event["location_id"]:
        agency = _agency_for(event)
        if agency is None:
            return "unknown_agency"
        uninstall_location(agency, event["location_id"])
        return "location_uninstalled"
    agency = _agency_for(event)
    if agency is None:
        return "unknown_agency"
    uninstall_agency(agency, via="webhook")
    return "uninstalled"


def on_location(event: dict) -> str:
    agency = _agency_for({"company_id": event["company_id"]})
    if agency is None:
        return "unknown_agency"
    fields = {k: event[k] for k in ("name", "city", "state", "country", "timezone") if event[k]}
    _loc, created = Location.objects.for_agency(agency).update_or_create(
        agency=agency, ghl_id=event["location_id"], defaults=fields
    )
    return "location_created" if created else "location_updated"


def on_user(event: dict) -> str:
    agency = _agency_for(event)
    if agency is None:
        return "unknown_agency"
    is_agency_user = bool(event["company_id"]) and not event["location_id"]
    location_ids = event["location_ids"] or ([event["location_id"]] if event["location_id"] else [])
    existing = GHLUser.objects.for_agency(agency).filter(ghl_id=event["user_id"]).first()
    if is_agency_user:
        role = GHLUser.ROLE_ADMIN if event["role"] == "admin" else GHLUser.ROLE_USER
    else:
        role = GHLUser.ROLE_LOCATION
    if existing is not None and existing.role == GHLUser.ROLE_OWNER:
        role = GHLUser.ROLE_OWNER  # ownership comes from GHL's user record, not this event
    GHLUser.objects.for_agency(agency).update_or_create(
        agency=agency,
        ghl_id=event["user_id"],
        defaults={
            "name": event["name"],
            "email": event["email"],
            "role": role,
            "ghl_type": "agency" if is_agency_user else "account",
            "ghl_role": event["role"],
            "location_ids": location_ids,
            "deleted": False,
        },
    )
    return "user_upserted"


def on_plan_change(event: dict) -> str:
    agency = _agency_for(event)
    if agency is None:
        return "unknown_agency"
    if not event["location_id"] and event["new_plan_id"]:
        Installation.objects.filter(agency=agency).update(plan_id=event["new_plan_id"])
    audit.record(
        "plan_change",
        agency=agency,
        target=event["location_id"] or agency.company_id,
        detail={"from": event["current_plan_id"], "to": event["new_plan_id"]},
    )
    return "plan_changed"


HANDLERS = {
    "INSTALL": on_install,
    "UNINSTALL": on_uninstall,
    "LocationCreate": on_location,
    "LocationUpdate": on_location,
    "UserCreate": on_user,
    "PLAN_CHANGE": on_plan_change,
}
