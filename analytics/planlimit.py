"""How many sub-accounts the agency's plan analyses: the page scope and the recompute both ask."""

from __future__ import annotations

from django.conf import settings

from billing.gating import access_for, access_for_request
from billing.plans import features_for_plan


def plan_limit(request) -> int | None:
    """How many sub-accounts the agency's plan analyses (None = no limit).

    Read-only agencies keep the limit of the plan they had (their trial's plan if none), so
    their history stays readable as it was."""
    access = access_for_request(request)
    return None if access is None else _limit(access)


def _limit(access) -> int | None:
    if access.read_only:
        return features_for_plan(access.plan or settings.BILLING_TRIAL_PLAN).max_locations
    return access.features.max_locations


def limit_for_agency(agency) -> int | None:
    """plan_limit() for jobs (the recompute, the digest)."""
    return _limit(access_for(agency))
