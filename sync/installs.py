"""Writes for installing and uninstalling GoCSM: each one atomic and audited."""

from __future__ import annotations

import logging
import zoneinfo

from django.db import transaction
from django.utils import timezone as dj_tz

from accounts import audit, lifecycle
from accounts.models import Agency, Location
from accounts.revocation import end_agency_sessions
from accounts.tagging import ensure_default_tags
from sync.models import Installation

logger = logging.getLogger(__name__)


def _valid_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def complete_install(grant, company, *, request=None) -> Agency:
    """Store a fresh agency grant and (re)activate the agency, in one transaction.

    `grant` is a sync.ghl.oauth.TokenGrant, `company` the CompanyRecord read with it.
    """
    now = dj_tz.now()
    with transaction.atomic():
        agency, created = Agency.objects.select_for_update().get_or_create(company_id=company.id)
        agency.name = company.name or agency.name
        agency.timezone = _valid_timezone(company.timezone or agency.timezone)
        agency.currency = company.currency or agency.currency
        agency.whitelabel_domain = company.whitelabel_domain
        if not agency.is_installed or agency.installed_at is None:
            agency.installed_at = now
        agency.is_installed = True
        agency.uninstalled_at = None
        agency.needs_reauth = False
        agency.save()
        ensure_default_tags(agency)  # "premium" ships with every agency
        inst, _ = Installation.objects.select_for_update().get_or_create(
            agency=agency, defaults={"company_id": company.id}
        )
        inst.company_id = company.id
        inst.user_type = grant.user_type or "Company"
        inst.installer_user_id = grant.user_id
        inst.plan_id = grant.plan_id or inst.plan_id
        inst.installed_at = now
        inst.store_grant(grant)
        inst.save()
        audit.record(
            "install",
            agency=agency,
            actor_type="ghl_user",
            actor_id=grant.user_id,
            target=company.id,
            request=request,
            detail={"new_agency": created, "via": "oauth"},
        )
    logger.info("agency installed agency=%s company=%s", agency.pk, company.id)
    return agency


def uninstall_agency(agency: Agency, *, via: str) -> None:
    """Delete the tokens and end every session at once, stop pulls; history (locations, facts,
    audit) stays. A reinstall starts with new sessions only."""
    from sync.credentials import AgencyTokens

    with transaction.atomic():
        Agency.objects.filter(pk=agency.pk).update(is_installed=False, uninstalled_at=dj_tz.now())
        inst = Installation.objects.select_for_update().filter(agency=agency).first()
        if inst is not None:
            inst.wipe_tokens()
            inst.save()
        audit.record("uninstall", agency=agency, target=agency.company_id, detail={"via": via})
        # In the same transaction as is_installed: the raised epoch and the uninstall commit
        # together, so no crash in between leaves sessions a reinstall would accept.
        end_agency_sessions(agency.pk)
    AgencyTokens(agency).forget_location_tokens()
    logger.info("agency uninstalled agency=%s", agency.pk)


def uninstall_location(agency: Agency, location_id: str) -> None:
    from sync.credentials import AgencyTokens

    lifecycle.set_status(agency, [location_id], Location.STATUS_UNINSTALLED, is_installed=False)
    AgencyTokens(agency).forget_location_tokens([location_id])
    audit.record("uninstall.location", agency=agency, target=location_id)
