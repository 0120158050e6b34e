"""Celery tasks of the sync app. Thin: take ids, re-read, call one function of sync/pulls.py.

- pull_all_agencies (beat): one pull_agency per installed agency.
- pull_agency: under the agency's pull lock, refresh the sub-account list, users and SaaS facts
  (pulls.pull_agency_overview), then fan out one pull_location per sub-account.
- mint_location_tokens: a share of the run's sub-accounts' location tokens, minted as soon as
  the agency step has listed them (pulls.mint_location_tokens; see "Pacing" below).
- warm_location_token: one sub-account's token, minted when its install webhook arrives.
- pull_location: one sub-account (pulls.pull_location); reports into the run exactly once.
- check_pull_freshness (beat): stale agencies, error rates, re-authorisation (sync/freshness.py).

Kinds: "metadata" (hourly: levels today) and "counts" (daily and on install: levels plus counts by
day from where the last counts pull stopped, backfilling 90 days the first time).

Pacing: an agency's own rate budget (100 requests per 10 s) is what every sub-account of it
shares, since each sub-account's location token is minted with the agency token; for a large
agency it is the busiest budget by far and sets how long a pull takes. So it is kept busy from the
first moment: the agency step's reads, then, while it writes and fans out, SYNC_TOKEN_MINTERS
tasks minting the sub-accounts' tokens in the order the sub-account tasks will want them. A
sub-account task uses the cached token, or mints its own; one mint per sub-account at a time
(sync/credentials.py), so the two never mint the same token twice. The mint tasks are only ahead
of need: if one fails or stops, the sub-account tasks mint what is missing.

Faults: GHL down or rate limiting retries with exponential backoff and jitter; when the retries
are spent the sub-account reports "failed" with its stop reason and the next run catches up
(pulls start where the last complete counts stopped). An answer over GHL_MAX_RESPONSE_BYTES or a
listing that makes no progress is not retried: the same request would bring the same answer.
acks_late + reject_on_worker_lost: a task whose worker dies is delivered again, and every write is
an upsert, so a rerun changes nothing that the first attempt already wrote. Redis errors (broker,
lock, rate-limit buckets) and database connection errors retry too: pulls pause while Redis or
PostgreSQL is away and resume after. tests/faults/ proves these through real processes.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError
from redis.exceptions import RedisError

from accounts.models import Agency
from sync import pulls, runs
from sync.ghl.errors import AuthRevoked, BadResponse, GHLUnavailable, RateLimited
from sync.models import Installation

logger = logging.getLogger(__name__)

KIND_METADATA = "metadata"
KIND_COUNTS = "counts"
KINDS = (KIND_METADATA, KIND_COUNTS)
# A database that refuses a connection (all slots taken) or drops one is as passing as Redis or
# GHL being away: without a retry the sub-account never reports and its run stays open until
# its lock expires.
TRANSIENT = (GHLUnavailable, RateLimited, RedisError, ConnectionError, OperationalError)


def _pullable(agency_id: int) -> Agency | None:
    """The agency, if it is installed, has a usable grant and needs no re-authorisation."""
    agency = Agency.objects.installed().filter(pk=agency_id, needs_reauth=False).first()
    if agency is None:
        return None
    inst = Installation.objects.filter(agency=agency).first()
    return agency if inst is not None and inst.has_tokens else None


@shared_task(name="sync.tasks.pull_all_agencies", acks_late=True, soft_time_limit=60, time_limit=90)
def pull_all_agencies(kind: str = KIND_METADATA) -> int:
    ids = list(Agency.objects.installed().filter(needs_reauth=False).values_list("pk", flat=True))
    queued = 0
    for agency_id in ids:
        try:
            pull_agency.delay(agency_id, reason="beat", kind=kind)
            queued += 1
        except Exception:  # one agency's trouble (or an inline run's) never stops the others
            logger.exception("could not start the pull agency=%s", agency_id)
    return queued


@shared_task(
    bind=True,
    name="sync.tasks.pull_agency",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2 * settings.SYNC_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=40 * settings.SYNC_RETRY_BACKOFF_SECONDS,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=600,
    time_limit=660,
)
def pull_agency(self, agency_id: int, reason: str = "", kind: str | None = None) -> str:
    """Start one pull of one agency. Returns what happened (for logs and tests)."""
    if kind not in KINDS:
        kind = KIND_COUNTS  # install, webhooks and manual runs catch up fully
    agency = _pullable(agency_id)
    if agency is None:
        return "not_pullable"
    run = runs.open_run(agency, kind=kind, reason=reason or "manual")
    if run is None:
        return "locked"
    try:
        result = pulls.pull_agency_overview(
            agency, on_listed=lambda ids: _mint_ahead(run.pk, agency.pk, ids)
        )
    except (AuthRevoked, BadResponse) as exc:
        runs.fail_run(run, exc)
        return runs.stop_reason_for(exc)
    except SoftTimeLimitExceeded as exc:
        runs.fail_run(run, exc)
        return runs.STOP_TIMEOUT
    except Exception as exc:
        runs.fail_run(run, exc)
        raise  # transient ones retry with backoff (a new run); others surface
    runs.start_fan_out(run, result, len(result.location_ids))
    for location_ghl_id in result.location_ids:
        try:
            pull_location.delay(run.pk, agency.pk, location_ghl_id, kind == KIND_COUNTS)
        except Exception as exc:
            # Inline (eager) tasks cannot retry later, and a broker hiccup loses the message: the
            # sub-account reports failed, with why, so the run closes and the next run catches up.
            cause = _cause(exc)
            logger.warning(
                "location task did not complete agency=%s error=%s", agency.pk, type(cause).__name__
            )
            runs.record_location(
                run.pk,
                agency.pk,
                location_ghl_id,
                status="failed",
                stop_reason=runs.stop_reason_for(cause),
            )
    return "started"


def _mint_ahead(run_id: int, agency_id: int, location_ids: list[str]) -> None:
    """Queue the mint tasks: minter k takes every k-th sub-account of the sorted list, so all
    of them advance through it in the order the sub-account tasks are queued."""
    minters = max(0, settings.SYNC_TOKEN_MINTERS)
    for k in range(minters):
        share = location_ids[k::minters]
        if not share:
            continue
        try:
            mint_location_tokens.delay(run_id, agency_id, share)
        except Exception as exc:  # only ahead of need: the sub-account tasks mint on their own
            logger.warning(
                "location tokens not queued ahead agency=%s error=%s",
                agency_id,
                type(_cause(exc)).__name__,
            )


@shared_task(
    name="sync.tasks.mint_location_tokens",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=600,
    time_limit=660,
)
def mint_location_tokens(run_id: int, agency_id: int, location_ids: list[str]) -> int:
    """Returns the requests it made. Not retried: what it leaves unminted is minted on demand."""
    agency = _pullable(agency_id)
    if agency is None:
        return 0
    try:
        result = pulls.mint_location_tokens(agency, location_ids)
    except SoftTimeLimitExceeded:
        return 0
    runs.add_requests(run_id, agency_id, result.requests)
    return result.requests


@shared_task(
    name="sync.webhooks.warm_location_token", acks_late=True, soft_time_limit=60, time_limit=90
)
def warm_location_token(agency_id: int, location_id: str) -> None:
    """A sub-account just installed the app (sync/webhooks/handlers.py): mint and cache its token
    ahead of the first pull. Registered under its old name so queued messages still find it."""
    from sync.credentials import client_for_agency
    from sync.ghl.errors import GHLError

    agency = Agency.objects.filter(pk=agency_id, is_installed=True).first()
    if agency is None:
        return
    client = client_for_agency(agency)
    try:
        client.tokens.location_token(location_id, client)
    except GHLError:
        return  # the pull mints it again when it needs it


@shared_task(
    bind=True,
    name="sync.tasks.pull_location",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=settings.SYNC_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=20 * settings.SYNC_RETRY_BACKOFF_SECONDS,
    retry_jitter=True,
    max_retries=4,
    soft_time_limit=600,
    time_limit=660,
)
def pull_location(self, run_id: int, agency_id: int, location_ghl_id: str, counts: bool) -> str:
    agency = _pullable(agency_id)
    if agency is None:
        runs.record_location(
            run_id, agency_id, location_ghl_id, status="skipped", stop_reason="not_pullable"
        )
        return "not_pullable"
    if runs.already_reported(run_id, agency_id, location_ghl_id):
        return "already_reported"
    try:
        result = pulls.pull_location(agency, location_ghl_id, counts=counts)
    except (AuthRevoked, BadResponse, SoftTimeLimitExceeded) as exc:
        return _failed(run_id, agency, location_ghl_id, exc)
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            return _failed(run_id, agency, location_ghl_id, exc)
        raise  # autoretry with backoff
    runs.record_location(run_id, agency_id, location_ghl_id, status="ok", result=result)
    return "ok"


def _cause(exc: BaseException) -> BaseException:
    """The error behind an eager Retry (Celery keeps only a simplified copy in Retry.exc)."""
    if isinstance(exc, Retry):
        return exc.__context__ or exc.exc or exc
    return exc


def _failed(run_id: int, agency: Agency, location_ghl_id: str, exc: BaseException) -> str:
    reason = runs.STOP_TIMEOUT if isinstance(exc, SoftTimeLimitExceeded) else None
    reason = reason or runs.stop_reason_for(exc)
    runs.record_location(run_id, agency.pk, location_ghl_id, status="failed", stop_reason=reason)
    logger.warning(
        "location pull stopped agency=%s location=%s reason=%s", agency.pk, location_ghl_id, reason
    )
    return reason


@shared_task(
    name="sync.tasks.check_pull_freshness", acks_late=True, soft_time_limit=120, time_limit=150
)
def check_pull_freshness() -> int:
    from sync.freshness import check_all_agencies

    return len(check_all_agencies())
