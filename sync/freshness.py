"""Is every installed agency's data fresh? Alert once per incident, and clear on recovery.

Per installed agency (gocsm.alerts, keyed on the GHL company id):
- `sync.stale`: no successful pull for more than two pull intervals (an agency installed more
  recently than that is given the time);
- `sync.error_rate`: more than SYNC_ERROR_RATE_THRESHOLD of its sub-account pulls in the last
  SYNC_ERROR_RATE_WINDOW_HOURS failed;
- `sync.gaps`: sub-accounts whose daily counts stopped more than a day ago (a gap the next pull
  has not closed yet);
- `sync.reauth_needed`: GHL refused the grant; someone at the agency must install again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone as dj_tz

from accounts.models import Agency, Location
from gocsm.alerts import clear_alert, raise_alert
from sync.models import LocationPullState, SyncRun, SyncRunLocation
from sync.pulls import agency_today


@dataclass
class Freshness:
    agency_id: int
    company_id: str
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def stale_after() -> timedelta:
    """Figures older than this are stale: two pull intervals (one pull may fail or run late)."""
    return 2 * timedelta(minutes=settings.SYNC_INTERVAL_MINUTES)


def assess(agency: Agency) -> Freshness:
    """What is wrong with this agency's pulls right now (nothing: `ok`)."""
    now = dj_tz.now()
    out = Freshness(agency.pk, agency.company_id)
    if agency.needs_reauth:
        out.problems["sync.reauth_needed"] = "GHL refused the grant; the agency must re-install"
    newest = (
        SyncRun.objects.for_agency(agency)
        .filter(status__in=(SyncRun.STATUS_OK, SyncRun.STATUS_PARTIAL))
        .aggregate(at=Max("finished_at"))["at"]
    )
    since = newest or agency.installed_at or agency.created_at
    if now - since > stale_after():
        hours = round((now - since).total_seconds() / 3600, 1)
        out.problems["sync.stale"] = f"No successful pull for {hours} hours"
    window = now - timedelta(hours=settings.SYNC_ERROR_RATE_WINDOW_HOURS)
    recent = SyncRunLocation.objects.for_agency(agency).filter(finished_at__gte=window)
    total = recent.count()
    failed = recent.filter(status="failed").count()
    if total >= settings.SYNC_ERROR_RATE_MIN_SAMPLES and failed / total > (
        settings.SYNC_ERROR_RATE_THRESHOLD
    ):
        out.problems["sync.error_rate"] = f"{failed} of {total} sub-account pulls failed"
    yesterday = agency_today(agency) - timedelta(days=1)
    pulled = set(
        Location.objects.for_agency(agency)
        .filter(is_installed=True, status="active")
        .values_list("ghl_id", flat=True)
    )
    lagging = (
        LocationPullState.objects.for_agency(agency)
        .filter(location_ghl_id__in=pulled)
        .filter(Q(counts_through__lt=yesterday) | Q(counts_through__isnull=True))
        .filter(last_failure_at__isnull=False)
        .count()
    )
    if lagging:
        out.problems["sync.gaps"] = (
            f"{lagging} sub-accounts have counts missing since before {yesterday}"
        )
    return out


EVENTS = ("sync.reauth_needed", "sync.stale", "sync.error_rate", "sync.gaps")


def check_agency(agency: Agency) -> Freshness:
    result = assess(agency)
    for event in EVENTS:
        message = result.problems.get(event)
        if message:
            raise_alert(event, agency.company_id, f"{agency.name or agency.company_id}: {message}")
        else:
            clear_alert(event, agency.company_id, f"{agency.name or agency.company_id}: recovered")
    return result


def check_all_agencies() -> list[Freshness]:
    """Check every installed agency; returns those with a problem."""
    return [r for r in map(check_agency, Agency.objects.installed()) if not r.ok]
