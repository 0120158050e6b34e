"""Bookkeeping of a pull: open a SyncRun under the agency's pull lock, roll sub-account results
into it with atomic counters, close it when the last sub-account has reported.

A sub-account reports through a SyncRunLocation row that is unique per run, so a task that runs
again after its worker died reports once; whichever report completes the count closes the run,
releases the lock and queues the analytics recompute for the days the run wrote.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone as dj_tz

from accounts.models import Agency
from gocsm import metrics
from sync import pulllock
from sync.ghl.errors import (
    AuthRevoked,
    BadResponse,
    GHLTimeout,
    GHLUnavailable,
    NotFound,
    PaginationStalled,
    RateLimited,
    ResponseTooLarge,
)
from sync.models import LocationPullState, SyncRun, SyncRunLocation

logger = logging.getLogger(__name__)

STOP_REVOKED = "revoked"
STOP_RATE_LIMITED = "rate_limited"
STOP_GHL_DOWN = "ghl_down"
STOP_GHL_TIMEOUT = "ghl_timeout"  # GHL hung (or trickled) past the read timeout or call deadline
STOP_TOO_LARGE = "too_large"  # an answer past GHL_MAX_RESPONSE_BYTES, refused unparsed
STOP_NO_PROGRESS = "no_progress"  # a listing whose next page brought nothing new
STOP_BAD_RESPONSE = "bad_response"
STOP_TIMEOUT = "timeout"
STOP_GONE = "gone"
STOP_UNINSTALLED = "uninstalled"
STOP_INCOMPLETE = "incomplete"  # workers died and the run never finished
STOP_ERROR = "error"


def stop_reason_for(exc: BaseException) -> str:
    if isinstance(exc, AuthRevoked):
        return STOP_REVOKED
    if isinstance(exc, RateLimited):
        return STOP_RATE_LIMITED
    if isinstance(exc, GHLTimeout):
        return STOP_GHL_TIMEOUT
    if isinstance(exc, ResponseTooLarge):
        return STOP_TOO_LARGE
    if isinstance(exc, PaginationStalled):
        return STOP_NO_PROGRESS
    if isinstance(exc, GHLUnavailable):
        return STOP_GHL_DOWN
    if isinstance(exc, NotFound):
        return STOP_GONE
    if isinstance(exc, BadResponse):
        return STOP_BAD_RESPONSE
    return STOP_ERROR


def _token(run: SyncRun) -> str:
    return f"run:{run.pk}"


def _lock_seconds() -> int:
    return settings.SYNC_PULL_LOCK_SECONDS


def open_run(agency: Agency, *, kind: str, reason: str) -> SyncRun | None:
    """Start a run under the agency's pull lock; None when another pull of it is running."""
    abandon_stale_runs(agency)
    run = SyncRun.objects.create(
        agency=agency, kind=kind, reason=reason[:64], status=SyncRun.STATUS_QUEUED
    )
    if not pulllock.acquire(agency.pk, _token(run), _lock_seconds()):
        SyncRun.objects.for_agency(agency).filter(pk=run.pk).delete()
        logger.info("pull skipped: another pull holds the lock agency=%s", agency.pk)
        return None
    SyncRun.objects.for_agency(agency).filter(pk=run.pk).update(
        status=SyncRun.STATUS_RUNNING, started_at=dj_tz.now()
    )
    run.refresh_from_db()
    metrics.PULLS_STARTED.labels(kind="agency").inc()
    return run


def is_running(run: SyncRun) -> bool:
    """Open and alive: requested within the lock's lifetime, or still holding its lock (every
    sub-account report extends it, so a long import of a large portfolio stays alive as long as
    it makes progress)."""
    if run.finished_at is not None:
        return False
    if run.requested_at >= dj_tz.now() - timedelta(seconds=_lock_seconds()):
        return True
    return pulllock.holder(run.agency_id) == _token(run)


def abandon_stale_runs(agency: Agency) -> int:
    """Runs left open by dead workers past the lock's lifetime: close them as incomplete, so the
    gap shows in SyncRun instead of a run that seems to be running forever. A run that still
    holds the lock is making progress (however long ago it started) and is left alone."""
    cutoff = dj_tz.now() - timedelta(seconds=_lock_seconds())
    stale = SyncRun.objects.for_agency(agency).filter(
        finished_at__isnull=True, requested_at__lt=cutoff
    )
    holder = pulllock.holder(agency.pk) or ""
    if holder.startswith("run:") and holder[4:].isdigit():
        stale = stale.exclude(pk=int(holder[4:]))
    return stale.update(
        status=SyncRun.STATUS_FAILED, stop_reason=STOP_INCOMPLETE, finished_at=dj_tz.now()
    )


def _day_updates(first: date | None, last: date | None) -> dict:
    out = {}
    if first is not None:
        out["first_day"] = Least(Coalesce("first_day", Value(first)), Value(first))
    if last is not None:
        out["last_day"] = Greatest(Coalesce("last_day", Value(last)), Value(last))
    return out


def start_fan_out(run: SyncRun, result, locations: int) -> None:
    """The agency step is done: record its numbers and how many sub-accounts will report."""
    SyncRun.objects.for_agency(run.agency_id).filter(pk=run.pk).update(
        locations_total=locations,
        requests_made=F("requests_made") + result.requests,
        rows_written=F("rows_written") + result.rows,
        **_day_updates(result.first_day, result.last_day),
    )
    if locations == 0:
        close_run(run.pk, run.agency_id)


def fail_run(run: SyncRun, exc: BaseException, *, requests: int = 0) -> None:
    """The agency step failed: the run stops here, with why, and frees the lock."""
    reason = stop_reason_for(exc)
    SyncRun.objects.for_agency(run.agency_id).filter(pk=run.pk).update(
        status=SyncRun.STATUS_FAILED,
        stop_reason=reason,
        errors=F("errors") + 1,
        requests_made=F("requests_made") + requests,
        finished_at=dj_tz.now(),
        detail={"error": type(exc).__name__},
    )
    pulllock.release(run.agency_id, _token(run))
    metrics.PULLS_FAILED.labels(kind="agency").inc()
    logger.warning("pull stopped agency=%s run=%s reason=%s", run.agency_id, run.pk, reason)


def add_requests(run_id: int, agency_id: int, requests: int) -> None:
    """Requests made for the run outside the agency step and the sub-accounts (minting ahead)."""
    if requests:
        SyncRun.objects.for_agency(agency_id).filter(pk=run_id).update(
            requests_made=F("requests_made") + requests
        )


def already_reported(run_id: int, agency_id: int, location_ghl_id: str) -> bool:
    return (
        SyncRunLocation.objects.for_agency(agency_id)
        .filter(run_id=run_id, location_ghl_id=location_ghl_id)
        .exists()
    )


def record_location(
    run_id: int,
    agency_id: int,
    location_ghl_id: str,
    *,
    status: str,
    result=None,
    stop_reason: str = "",
) -> bool:
    """Roll one sub-account's outcome into its run, once. True when this report counted."""
    if status == "failed":
        _mark_location_failed(agency_id, location_ghl_id, stop_reason)
    requests = result.requests if result is not None else 0
    rows = result.rows if result is not None else 0
    try:
        with transaction.atomic():
            SyncRunLocation.objects.create(
                agency_id=agency_id,
                run_id=run_id,
                location_ghl_id=location_ghl_id,
                status=status,
                stop_reason=stop_reason[:64],
                requests_made=requests,
                rows_written=rows,
            )
            failed = status == "failed"
            SyncRun.objects.for_agency(agency_id).filter(pk=run_id).update(
                locations_done=F("locations_done") + 1,
                locations_failed=F("locations_failed") + (1 if failed else 0),
                errors=F("errors") + (1 if failed else 0),
                requests_made=F("requests_made") + requests,
                rows_written=F("rows_written") + rows,
                **_day_updates(
                    getattr(result, "first_day", None), getattr(result, "last_day", None)
                ),
            )
    except IntegrityError:
        return False  # this sub-account already reported for this run
    metrics.PULLS_STARTED.labels(kind="location").inc()
    if status == "failed":
        metrics.PULLS_FAILED.labels(kind="location").inc()
    else:
        metrics.PULLS_SUCCEEDED.labels(kind="location").inc()
    pulllock.extend(agency_id, f"run:{run_id}", _lock_seconds())
    close_run(run_id, agency_id)
    return True


def _mark_location_failed(agency_id: int, location_ghl_id: str, stop_reason: str) -> None:
    LocationPullState.objects.for_agency(agency_id).update_or_create(
        agency_id=agency_id,
        location_ghl_id=location_ghl_id,
        defaults={"last_failure_at": dj_tz.now(), "last_stop_reason": stop_reason[:64]},
    )


def close_run(run_id: int, agency_id: int) -> bool:
    """Finish the run if every sub-account has reported; exactly one caller wins."""
    run = SyncRun.objects.for_agency(agency_id).filter(pk=run_id).first()
    if run is None or run.finished_at is not None or run.locations_done < run.locations_total:
        return False
    failures = Counter(
        SyncRunLocation.objects.for_agency(agency_id)
        .filter(run_id=run_id, status="failed")
        .values_list("stop_reason", flat=True)
    )
    if not failures:
        status, stop = SyncRun.STATUS_OK, ""
    elif run.locations_failed >= run.locations_total:
        status, stop = SyncRun.STATUS_FAILED, failures.most_common(1)[0][0]
    else:
        status, stop = SyncRun.STATUS_PARTIAL, failures.most_common(1)[0][0]
    won = (
        SyncRun.objects.for_agency(agency_id)
        .filter(pk=run_id, finished_at__isnull=True)
        .update(
            status=status,
            stop_reason=stop,
            finished_at=dj_tz.now(),
            detail={"failures": dict(failures)} if failures else {},
        )
    )
    if not won:
        return False
    pulllock.release(agency_id, f"run:{run_id}")
    if status == SyncRun.STATUS_FAILED:
        metrics.PULLS_FAILED.labels(kind="agency").inc()
    else:
        metrics.PULLS_SUCCEEDED.labels(kind="agency").inc()
    run.refresh_from_db()
    if run.first_day is not None and run.last_day is not None:
        _queue_analytics(agency_id, run.first_day, run.last_day)
    logger.info(
        "pull finished agency=%s run=%s status=%s requests=%s rows=%s",
        agency_id,
        run_id,
        status,
        run.requests_made,
        run.rows_written,
    )
    return True


def _queue_analytics(agency_id: int, first: date, last: date) -> None:
    from analytics.tasks import refresh_analytics_for_days

    try:
        refresh_analytics_for_days.delay(agency_id, first.isoformat(), last.isoformat())
    except Exception:  # the nightly recompute covers the last week if the broker is down
        logger.exception("could not queue the analytics recompute agency=%s", agency_id)
