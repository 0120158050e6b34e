"""Write the activity counters' absolute totals into the analytics database.

Counters are totals per user, sub-account and day, so a flush only ever *sets* rows through
analytics.ingest.record_user_activity_day: a repeated or interrupted flush loses nothing and counts
nothing twice. A user-day is marked dirty by every beacon and unmarked only if no beacon arrived
while it was being written; the counters themselves stay in Redis until their TTL (the day plus a
margin), so `flush_activity_counters(full=True)` can rewrite every day still held.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import date

from celery import shared_task
from django.db import DatabaseError

from analytics.ingest import record_user_activity_day
from sync.activity_store import CounterStoreUnavailable, counter_store, minutes

log = logging.getLogger(__name__)
BATCH = 500
LOCK_SECONDS = 300


@dataclass(frozen=True, slots=True)
class FlushResult:
    rows_written: int
    skipped: bool = False


def flush_activity_counters(*, full: bool = False) -> FlushResult:
    """Flush dirty user-days (every user-day still in Redis when `full`).

    One flush at a time: overlapping flushes could write an older total after a newer one.
    Raises CounterStoreUnavailable (Redis down) or DatabaseError; what was not written stays
    dirty, so the next run finishes the job.
    """
    store = counter_store()
    if not store.flush_lock(LOCK_SECONDS):
        return FlushResult(rows_written=0, skipped=True)
    written = 0
    try:
        members = store.all_members() if full else store.dirty_members()
        seen: set[str] = set()
        for chunk in itertools.batched(members, BATCH):
            # A scan may return a member twice; writing it twice would be harmless but wasted.
            batch = [m for m in dict.fromkeys(chunk) if m not in seen]
            seen.update(batch)
            done = []
            for totals in store.totals(batch):
                if totals is None:
                    continue
                record_user_activity_day(
                    totals.agency_id,
                    totals.location_ghl_id,
                    totals.user_ghl_id,
                    date.fromisoformat(totals.day),
                    totals.sessions,
                    {f: minutes(ms) for f, ms in totals.ms_by_feature.items() if ms},
                    totals.is_agency_staff,
                )
                done.append((totals.member, totals.version))
                written += 1
            store.forget_if_unchanged(done)
            if len(done) < len(batch):
                # User-days whose counters expired have nothing left to write.
                store.forget_expired([m for m in batch if m not in dict(done)])
    finally:
        store.release_flush_lock()
    log.info("activity counters flushed", extra={"rows": written, "full": full})
    return FlushResult(rows_written=written)


@shared_task(
    name="sync.activity_flush.flush_activity_counters",
    autoretry_for=(CounterStoreUnavailable, DatabaseError),
    retry_backoff=30,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=240,
    time_limit=LOCK_SECONDS,
    acks_late=True,
)
def flush_activity_counters_task() -> int:
    """Beat entry "every-N-min-flush-activity-counters": Redis or the database being down makes
    it retry with backoff; the counters wait in Redis meanwhile."""
    return flush_activity_counters().rows_written
