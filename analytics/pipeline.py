"""Recompute an agency's rollups, scores, risk flags and alerts for a range of days.

`refresh_agency_days` is the one function the Celery tasks call. It streams the agency's
sub-accounts in chunks of CHUNK: for each chunk it reads the history (facts and activity from
LOOKBACK_DAYS before the range; analytics.history), evaluates the definitions over the chunk's
sub-accounts x days (analytics.scoring, with analytics.scores and analytics.risk), writes its
rows and lets it go, so memory stays flat however large the portfolio. Each chunk's per-day state
(analytics.daystate: lifecycle, carried subscription and MRR) is built first, written with the
scores, and decides which days are scored. Sub-accounts with no facts or activity in the range's
window still get their state rows (their MRR and lifecycle carry on). The range's old scores,
flags, alerts and states are deleted and every chunk's rows written in one transaction:
recomputing any range is idempotent and a failure leaves the previous rows in place. Then it
rebuilds the small per-sub-account "current state" the dashboards read (analytics.current_state).

On PostgreSQL, outside an enclosing transaction, the rollup SQL runs on a second connection in a
thread while Python computes the scores: the database and the interpreter each use one of the
machine's cores. The two write disjoint tables, each in its own transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.db import connections, transaction
from django.utils import timezone as dj_tz

from accounts.models import SaasPlan
from analytics import current_state, daystate, history, risk, score_settings, scoring, signals
from analytics.bulk_insert import write_rows
from analytics.models import (
    Alert,
    HealthScore,
    LocationDay,
    LocationDayFact,
    RiskFlag,
    UserActivityDay,
)
from analytics.rollups import recompute_rollups
from analytics.scores import BAND_RANK

DB = "analytics"
log = logging.getLogger(__name__)
# History read before the range: W and P of its first day (60 days) and the stored bands that
# can still confirm a band on it (risk.CONFIRMED_WITHIN + HOLD_DAYS = 63 days) fit in it.
LOOKBACK_DAYS = 90
# Sub-accounts per chunk: large enough that numpy's per-call overhead vanishes, small enough
# that a chunk's history and rows stay a few tens of MB.
CHUNK = 250
SCORE_COLUMNS = (
    "agency_id",
    "location_ghl_id",
    "day",
    "score",
    "band",
    "components",
    "contributions",
    "adoption_known",
    "adoption_used",
)
FLAG_COLUMNS = ("agency_id", "location_ghl_id", "day", "code", "weight", "evidence")
ALERT_COLUMNS = ("agency_id", "location_ghl_id", "day", "kind", "code", "message", "created_at")


@dataclass
class Result:
    scores: int = 0
    flags: int = 0
    alerts: int = 0
    rollup_rows: int = 0
    # Wall seconds per phase (rollups overlap the others on PostgreSQL), for bench/rollup.py.
    seconds: dict = field(default_factory=dict)


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


def _sub_accounts(agency_id: int, base: date, last: date):
    """(sub-accounts with facts or own activity in base..last, in the database's order;
    {sub-account: first day
    with facts or activity}; the agency's first day with tracker data)."""
    facts_t = LocationDayFact._meta.db_table
    act_t = UserActivityDay._meta.db_table
    first_days: dict[str, date] = {}
    with connections[DB].cursor() as cur:
        cur.execute(
            f"SELECT DISTINCT location_ghl_id FROM {facts_t} "  # noqa: S608 our names
            "WHERE agency_id = %s AND day BETWEEN %s AND %s "
            f"UNION SELECT DISTINCT location_ghl_id FROM {act_t} "
            "WHERE agency_id = %s AND day BETWEEN %s AND %s AND NOT is_agency_staff "
            "ORDER BY 1",  # the order history.Reader reads them in
            [agency_id, base, last, agency_id, base, last],
        )
        locs = [loc for (loc,) in cur.fetchall()]
        cur.execute(
            f"SELECT location_ghl_id, MIN(day) FROM {facts_t} "  # noqa: S608 our names
            "WHERE agency_id = %s GROUP BY location_ghl_id",
            [agency_id],
        )
        first_days.update((loc, _as_date(d)) for loc, d in cur.fetchall())
        cur.execute(
            f"SELECT location_ghl_id, MIN(day) FROM {act_t} "  # noqa: S608 our names
            "WHERE agency_id = %s GROUP BY location_ghl_id",
            [agency_id],
        )
        tracked_since = None
        for loc, d in cur.fetchall():
            d = _as_date(d)
            first_days[loc] = min(d, first_days.get(loc, d))
            tracked_since = d if tracked_since is None else min(tracked_since, d)
    return locs, first_days, tracked_since


def _as_date(value) -> date:
    # SQLite returns MIN(day) of raw SQL as text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def scored_days(
    locs: list[str], days: list[date], first_days: dict[str, date], states: dict[str, list]
) -> np.ndarray:
    """(sub-account x day): the days each sub-account may be scored at all; the others get no
    score, no flags and no alerts. The one place that decides it (analytics.scores, "Scored
    days"): a sub-account is scored from its first day with facts or activity on, and on the
    range's days only while its state says so (analytics.daystate: onboarding or connected, not
    while it is not connected or churned). `states`: {sub-account: [(day, scored), ...]}."""
    first = np.array(
        [(first_days[loc] - days[0]).days if loc in first_days else len(days) for loc in locs]
    )
    mask = np.arange(len(days)) >= first[:, None]
    index = {d: i for i, d in enumerate(days)}
    for k, loc in enumerate(locs):
        for day, scored in states.get(loc, ()):
            mask[k, index[day]] = scored
    return mask


def _write_states(agency_id: int, first: date, last: date, locs, first_days) -> dict:
    """Write the state rows of these sub-accounts for first..last; {sub-account: [(day,
    scored)]} for the scores."""
    rows = list(daystate.location_days(agency_id, first, last, locs, first_days))
    write_rows(LocationDay, daystate.COLUMNS, rows)
    states: dict[str, list] = {}
    for row in rows:
        states.setdefault(row[1], []).append((row[2], row[4]))
    return states


def _before(agency_id: int, locs: list[str], base: date, first: date, n: int):
    """What is stored for the days before the range, as scoring.Before: the bands of the days
    that can confirm a band still counted on its first day (risk.CONFIRMED_WITHIN) and the flags
    of the risk.EPISODE_GAP days before it."""
    row_of = {loc: k for k, loc in enumerate(locs)}
    bands = np.full((len(locs), n), -1, dtype=np.int64)
    since = first - timedelta(days=risk.CONFIRMED_WITHIN + risk.HOLD_DAYS)
    for loc, day, band in (
        HealthScore.objects.for_agency(agency_id)
        .filter(location_ghl_id__in=locs, day__range=(since, first - timedelta(days=1)))
        .values_list("location_ghl_id", "day", "band")
    ):
        bands[row_of[loc], (day - base).days] = BAND_RANK[band]
    flags = {code: np.zeros((len(locs), n), dtype=bool) for code in scoring.FLAG_CODES}
    episode = (first - timedelta(days=risk.EPISODE_GAP), first - timedelta(days=1))
    for loc, day, code in (
        RiskFlag.objects.for_agency(agency_id)
        .filter(location_ghl_id__in=locs, day__range=episode)
        .values_list("location_ghl_id", "day", "code")
    ):
        if code in flags:
            flags[code][row_of[loc], (day - base).days] = True
    return scoring.Before(bands=bands, flags=flags)


def refresh_agency_days(agency_id: int, first: date, last: date) -> Result:
    """Rebuild rollups, then scores, flags and alerts for days first..last (agency timezone)."""
    result = Result()
    if last < first:
        return result
    clock = time.perf_counter
    t0 = clock()
    wait_rollups = _rollups_alongside(agency_id, first, last)
    base = first - timedelta(days=LOOKBACK_DAYS)
    n = (last - base).days + 1
    start = (first - base).days
    days = [base + timedelta(days=i) for i in range(n)]
    weights, floors = score_settings.by_day(agency_id, days)
    locs, first_days, tracked_since = _sub_accounts(agency_id, base, last)
    tracked_from = None if tracked_since is None else (tracked_since - base).days
    now = dj_tz.now()
    phases = dict.fromkeys(("delete", "state", "read", "compute", "write"), 0.0)
    plan_names = dict(SaasPlan.objects.for_agency(agency_id).values_list("plan_id", "name"))
    with transaction.atomic(using=DB):
        t = clock()
        for model in (HealthScore, RiskFlag, Alert, LocationDay):
            model.objects.for_agency(agency_id).filter(day__range=(first, last)).delete()
        phases["delete"] += clock() - t
        with history.Reader(agency_id, base, last) as reader:
            for k in range(0, len(locs), CHUNK):
                chunk = locs[k : k + CHUNK]
                t = clock()
                states = _write_states(agency_id, first, last, chunk, first_days)
                phases["state"] += clock() - t
                t = clock()
                h = reader.read(chunk, first_days)
                before = _before(agency_id, chunk, base, first, n)
                phases["read"] += clock() - t
                t = clock()
                rows = scoring.Rows()
                scoring.evaluate(
                    agency_id,
                    h,
                    start,
                    days,
                    tracked_from,
                    weights,
                    floors,
                    scored_days(chunk, days, first_days, states),
                    before,
                    now,
                    rows,
                    plan_names,
                )
                del h, before
                phases["compute"] += clock() - t
                t = clock()
                write_rows(HealthScore, SCORE_COLUMNS, rows.scores)
                write_rows(RiskFlag, FLAG_COLUMNS, rows.flags)
                write_rows(Alert, ALERT_COLUMNS, rows.alerts)
                result.scores += len(rows.scores)
                result.flags += len(rows.flags)
                result.alerts += len(rows.alerts)
                del rows
                phases["write"] += clock() - t
        # Sub-accounts without facts or activity in the window still carry their state.
        t = clock()
        quiet = sorted(set(first_days) - set(locs))
        for k in range(0, len(quiet), CHUNK):
            _write_states(agency_id, first, last, quiet[k : k + CHUNK], first_days)
        phases["state"] += clock() - t
    result.seconds.update(phases)
    result.rollup_rows = wait_rollups()
    if getattr(wait_rollups, "box", {}).get("seconds") is not None:
        result.seconds["rollups"] = wait_rollups.box["seconds"]
    result.seconds["until_rollups_done"] = clock() - t0
    t = clock()
    current_state.refresh(agency_id)
    result.seconds["current_state"] = clock() - t
    t = clock()
    _announce(agency_id)
    result.seconds["announce"] = clock() - t
    return result


def _announce(agency_id: int) -> None:
    """Tell the features the state moved (playbooks fire on it). A receiver's failure is logged
    and leaves the recompute done: the scores are written either way."""
    for receiver, outcome in signals.state_refreshed.send_robust(sender=None, agency_id=agency_id):
        if isinstance(outcome, Exception):
            log.error(
                "a state_refreshed receiver failed",
                exc_info=outcome,
                extra={"agency_id": agency_id, "receiver": getattr(receiver, "__qualname__", "")},
            )
