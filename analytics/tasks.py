"""Celery tasks: thin wrappers that take ids and call analytics.pipeline / analytics.digest."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task

from accounts.models import Agency
from analytics.agencyclock import agency_today
from analytics.digest import send_digest
from analytics.pipeline import refresh_agency_days

NIGHTLY_DAYS = 7


def _installed(agency_id: int) -> Agency | None:
    return Agency.objects.installed().filter(pk=agency_id).first()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def refresh_analytics_for_days(agency_id: int, first_day: str, last_day: str) -> int:
    """Rebuild rollups, scores, flags and alerts for first..last (ISO dates). The sync pulls
    enqueue this for the days they touched. Returns the number of scores written."""
    if _installed(agency_id) is None:
        return 0
    first, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
    return refresh_agency_days(agency_id, first, last).scores


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def refresh_recent_days_for_all_agencies() -> int:
    """Nightly: recompute the last 7 days of every installed agency (one task per agency)."""
    count = 0
    for agency in Agency.objects.installed().only("pk", "timezone"):
        last = agency_today(agency)
        first = last - timedelta(days=NIGHTLY_DAYS - 1)
        refresh_analytics_for_days.delay(agency.pk, first.isoformat(), last.isoformat())
        count += 1
    return count


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=150)
def send_weekly_digest(agency_id: int) -> int:
    agency = _installed(agency_id)
    return 0 if agency is None else send_digest(agency)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def send_weekly_digests() -> int:
    ids = list(Agency.objects.installed().values_list("pk", flat=True))
    for agency_id in ids:
        send_weekly_digest.delay(agency_id)
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=900, time_limit=960)
def train_churn_model(agency_id: int) -> str:
    """Train one agency's churn model on its own history and write its predictions."""
    if _installed(agency_id) is None:
        return ""
    from analytics import churn

    return churn.train(agency_id).status


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def train_churn_models() -> int:
    """Weekly: one training task per installed agency (each on that agency's data only)."""
    ids = list(Agency.objects.installed().values_list("pk", flat=True))
    for agency_id in ids:
        train_churn_model.delay(agency_id)
    return len(ids)
