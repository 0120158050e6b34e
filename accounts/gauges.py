"""Scrape-time gauges about installed agencies: the age of their newest data, how many have none
yet, how many must re-authorise. Registered with gocsm.metrics from AccountsConfig.ready(), with
the freshness source every agency has (Location.last_synced_at)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import Max
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from accounts.models import Agency, Location
from gocsm.metrics import newest_data_by_agency

log = logging.getLogger(__name__)


def locations_last_synced() -> dict[int, datetime]:
    rows = (
        Location.objects.all_agencies()
        .values("agency_id")
        .annotate(newest=Max("last_synced_at"))
        .order_by()
    )
    return {r["agency_id"]: r["newest"] for r in rows if r["newest"] is not None}


class AgencyGauges:
    """Read from the default database when Prometheus scrapes, so every worker answers the same."""

    def collect(self):
        age = GaugeMetricFamily(
            "gocsm_agency_data_age_seconds",
            "Seconds since the newest data pulled for each installed agency.",
            labels=["agency"],
        )
        never = GaugeMetricFamily(
            "gocsm_agencies_without_data",
            "Installed agencies with no pulled data at all.",
        )
        reauth = GaugeMetricFamily(
            "gocsm_agencies_needing_reauth",
            "Installed agencies whose GHL authorisation must be renewed.",
        )
        try:
            now = timezone.now()
            newest = newest_data_by_agency()
            installed = list(Agency.objects.installed().values_list("pk", "company_id"))
            missing = 0
            for pk, company_id in installed:
                if pk in newest:
                    age.add_metric([company_id], (now - newest[pk]).total_seconds())
                else:
                    missing += 1
            never.add_metric([], missing)
            reauth.add_metric([], Agency.objects.installed().filter(needs_reauth=True).count())
            yield age
            yield never
            yield reauth
        except Exception as exc:
            log.warning("database gauges failed", extra={"error": type(exc).__name__})
