"""Recompute an agency's rollups, scores, risk flags and alerts for a range of days.

`refresh_agency_days` is the one function the Celery tasks call. It reads each sub-account's
history once (facts and activity from 90 days before the range) with two plain SQL reads,
computes every day's score column-wise (analytics.score_series), and replaces the range's
scores, flags and alerts in one transaction: recomputing any range is idempotent. Then it
rebuilds the small per-sub-account "current state" the dashboards read (analytics.current_state).

On PostgreSQL, outside an enclosing transaction, the rollup SQL runs on a second connection in a
thread while Python computes the scores: the database and the interpreter each use one of the
machine's cores. The two write disjoint tables, each in its own transaction, as before.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connections, transaction
from django.utils import timezone as dj_tz

from analytics import current_state, daystate, score_series, scores
from analytics.models import (
    Alert,
    HealthScore,
    LocationDay,
    LocationDayFact,
    RiskFlag,
    ScoreSettings,
    UserActivityDay,
)
from analytics.rollups import recompute_rollups

DB = "analytics"
LOOKBACK_DAYS = 90
BATCH = 5000


def settings_for(agency_id: int) -> tuple[dict, dict]:
    """(weights, bands) of the agency, defaults filled in."""
    row = ScoreSettings.objects.for_agency(agency_id).first()
    weights = dict(scores.DEFAULT_WEIGHTS)
    bands = dict(scores.DEFAULT_BANDS)
    if row is not None:
        weights.update({k: v for k, v in row.weights.items() if k in weights})
        bands.update({k: v for k, v in row.bands.items() if k in bands})
    return weights, bands


@dataclass
class Result:
    scores: int = 0
    flags: int = 0
    alerts: int = 0
    rollup_rows: int = 0
    # Wall seconds per phase (rollups overlap the others on PostgreSQL), for bench/rollup.py.
    seconds: dict = field(default_factory=dict)


def write_rows(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Bulk insert plain tuples: COPY on PostgreSQL (building ~1M model instances would cost
    more than computing the scores), executemany elsewhere."""
    if not rows:
        return
    conn = connections[DB]
    table = model._meta.db_table
    cols = ", ".join(columns)
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            for k in range(0, len(rows), BATCH):
                cur.executemany(
                    f"INSERT INTO {table} ({cols}) VALUES ({marks})",  # noqa: S608 our names
                    rows[k : k + BATCH],
                )


def _rollups_alongside(agency_id: int, first: date, last: date):
    """Start the rollup SQL; returns a function that waits for it and gives its row count.

    Runs in a thread with its own connection only where that is safe and useful: PostgreSQL and
    no enclosing transaction (a test's transaction would be invisible to another connection)."""
    conn = connections[DB]
    if conn.vendor != "postgresql" or conn.in_atomic_block:
        written = recompute_rollups(agency_id, first, last)
        return lambda: written
    box: dict = {}

    def run():
        start = time.perf_counter()
        try:
            box["rows"] = recompute_rollups(agency_id, first, last)
            box["seconds"] = time.perf_counter() - start
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=f"rollups-{agency_id}", daemon=True)
    thread.start()

    def wait() -> int:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["rows"]

    wait.box = box

    return wait


def _read_history(agency_id: int, base: date, last: date):
    """({loc: fact rows}, {loc: activity rows}, {loc: first day}, first tracked day)."""
    facts_t = LocationDayFact._meta.db_table
    act_t = UserActivityDay._meta.db_table
    cols = ", ".join(score_series.FACT_COLUMNS)
    fact_rows: dict[str, list] = {}
    act_rows: dict[str, list] = {}
    first_days: dict[str, date] = {}
    with connections[DB].cursor() as cur:
        cur.execute(
            f"SELECT location_ghl_id, MIN(day) FROM {facts_t} "  # noqa: S608 our names
            "WHERE agency_id = %s GROUP BY location_ghl_id",
            [agency_id],
        )
        first_days.update(cur.fetchall())
        cur.execute(
            f"SELECT location_ghl_id, MIN(day) FROM {act_t} "  # noqa: S608 our names
            "WHERE agency_id = %s GROUP BY location_ghl_id",
            [agency_id],
        )
        tracked_since = None
        for loc, d in cur.fetchall():
            d = _as_date(d)
            first_days[loc] = min(d, _as_date(first_days.get(loc, d)))
            tracked_since = d if tracked_since is None else min(tracked_since, d)
        cur.execute(
            f"SELECT location_ghl_id, day, {cols} FROM {facts_t} "  # noqa: S608 our names
            "WHERE agency_id = %s AND day BETWEEN %s AND %s ORDER BY location_ghl_id, day",
            [agency_id, base, last],
        )
        for row in cur.fetchall():
            rows = fact_rows.get(row[0])
            if rows is None:
                rows = fact_rows[row[0]] = []
            rows.append(row[1:])
        cur.execute(
            f"SELECT location_ghl_id, day, user_ghl_id, sessions, minutes_reputation "  # noqa: S608
            f"FROM {act_t} WHERE agency_id = %s AND day BETWEEN %s AND %s "
            "AND NOT is_agency_staff",
            [agency_id, base, last],
        )
        for row in cur.fetchall():
            rows = act_rows.get(row[0])
            if rows is None:
                rows = act_rows[row[0]] = []
            rows.append(row[1:])
    first_days = {loc: _as_date(d) for loc, d in first_days.items()}
    return fact_rows, act_rows, first_days, tracked_since


def _as_date(value) -> date:
    # SQLite returns MIN(day) of raw SQL as text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def refresh_agency_days(agency_id: int, first: date, last: date) -> Result:
    """Rebuild rollups, then scores, flags and alerts for days first..last (agency timezone)."""
    result = Result()
    if last < first:
        return result
    clock = time.perf_counter
    t0 = clock()
    wait_rollups = _rollups_alongside(agency_id, first, last)
    weights, bands = settings_for(agency_id)
    base = first - timedelta(days=LOOKBACK_DAYS)
    n = (last - base).days + 1
    start_i = (first - base).days
    days = score_series.day_list(base, n)
    t = clock()
    fact_rows, act_rows, first_days, tracked_since = _read_history(agency_id, base, last)
    result.seconds["read"] = clock() - t
    tracked_from = None if tracked_since is None else (tracked_since - base).days

    # Bands and flags just before the range, for band drops and "new flag" alerts at its start.
    earlier_bands: dict[str, dict[int, str]] = {}
    for loc, day, band in (
        HealthScore.objects.for_agency(agency_id)
        .filter(day__range=(first - timedelta(days=7), first - timedelta(days=1)))
        .values_list("location_ghl_id", "day", "band")
    ):
        earlier_bands.setdefault(loc, {})[(day - base).days] = band
    earlier_flags: dict[str, set[str]] = {}
    for loc, code in (
        RiskFlag.objects.for_agency(agency_id)
        .filter(day=first - timedelta(days=1))
        .values_list("location_ghl_id", "code")
    ):
        earlier_flags.setdefault(loc, set()).add(code)

    now = dj_tz.now()
    t = clock()
    score_rows: list[tuple] = []
    flag_rows: list[tuple] = []
    alert_rows: list[tuple] = []
    for loc in sorted(set(fact_rows) | set(act_rows)):
        h = score_series.LocationSeries(
            n, fact_rows.pop(loc, ()), act_rows.pop(loc, ()), base, first_days.get(loc)
        )
        score_series.compute(
            agency_id,
            loc,
            h,
            start_i,
            days,
            tracked_from,
            weights,
            bands,
            earlier_bands.get(loc, {}),
            earlier_flags.get(loc, set()),
            score_rows,
            flag_rows,
            alert_rows,
            now,
        )

    result.seconds["compute"] = clock() - t
    t = clock()
    day_rows = list(daystate.location_days(agency_id, first, last))
    scored = {(r[1], r[2]) for r in day_rows if r[4]}
    score_rows = [r for r in score_rows if (r[1], r[2]) in scored]
    flag_rows = [r for r in flag_rows if (r[1], r[2]) in scored]
    alert_rows = [r for r in alert_rows if (r[1], r[2]) in scored]
    result.seconds["day_state"] = clock() - t
    t = clock()
    with transaction.atomic(using=DB):
        for model in (HealthScore, RiskFlag, Alert, LocationDay):
            model.objects.for_agency(agency_id).filter(day__range=(first, last)).delete()
        write_rows(LocationDay, daystate.COLUMNS, day_rows)
        write_rows(
            HealthScore,
            (
                "agency_id",
                "location_ghl_id",
                "day",
                "score",
                "band",
                "components",
                "contributions",
                "adoption_known",
                "adoption_used",
            ),
            score_rows,
        )
        write_rows(
            RiskFlag,
            ("agency_id", "location_ghl_id", "day", "code", "weight", "evidence"),
            flag_rows,
        )
        write_rows(
            Alert,
            ("agency_id", "location_ghl_id", "day", "kind", "code", "message", "created_at"),
            alert_rows,
        )
    result.scores, result.flags, result.alerts = len(score_rows), len(flag_rows), len(alert_rows)
    result.seconds["write"] = clock() - t
    result.rollup_rows = wait_rollups()
    if getattr(wait_rollups, "box", {}).get("seconds") is not None:
        result.seconds["rollups"] = wait_rollups.box["seconds"]
    result.seconds["until_rollups_done"] = clock() - t0
    t = clock()
    current_state.refresh(agency_id)
    result.seconds["current_state"] = clock() - t
    return result
