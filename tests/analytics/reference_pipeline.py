"""Reference copy of the first (per-day loop) score pipeline, kept verbatim for one purpose:
tests/analytics/test_pipeline_equivalence.py proves the optimised analytics.pipeline writes the
very same scores, flags and alerts on random portfolios. Do not optimise this file.

Original docstring: recompute an agency's rollups, scores, risk flags and alerts for a range of
days.

`refresh_agency_days` is the one function the Celery tasks call. It reads each sub-account's
history once (facts and activity from 90 days before the range), walks the days with prefix
sums so every 30-day window costs O(1), and replaces the range's scores, flags and alerts in one
transaction: recomputing any range is idempotent.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connections, transaction
from django.db.models import Min

from analytics.models import (
    Alert,
    HealthScore,
    LocationDayFact,
    RiskFlag,
    ScoreSettings,
    UserActivityDay,
)
from analytics.rollups import recompute_rollups
from tests.analytics import old_risk as risk
from tests.analytics import old_scores as scores

DB = "analytics"
LOOKBACK_DAYS = 90
LEVELS = (
    "users_total",
    "workflows_total",
    "workflows_published",
    "calendars_total",
    "calendars_active",
    "products_total",
    "conversations_total",
    "saas_plan_id",
    "subscription_status",
    "mrr_cents",
    "mrr_currency",
)
FLOWS = ("appointments_booked", "conversations_created")
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


def _forward_fill(values: list) -> list:
    return list(itertools.accumulate(values, lambda a, b: a if b is None else b))


def _prefix(values: list) -> list[int]:
    return [0, *itertools.accumulate(v or 0 for v in values)]


class _History:
    """One sub-account's arrays indexed by day offset from `base`."""

    __slots__ = (
        "created_known",
        "first_idx",
        "last_login",
        "level",
        "milestone_idx",
        "n",
        "pre",
        "rep_pre",
        "sess_pre",
        "users",
    )

    def __init__(self, n, fact_rows, activity_rows, base, first_day):
        self.n = n
        cols = {f: [None] * n for f in (*LEVELS, *FLOWS)}
        milestone = None
        for row in fact_rows:
            i = (row[0] - base).days
            for k, f in enumerate((*LEVELS, *FLOWS), start=1):
                cols[f][i] = row[k]
            if milestone is None and (
                (row[3] or 0) > 0 or (row[5] or 0) > 0 or (row[7] or 0) > 0 or (row[13] or 0) > 0
            ):
                milestone = i
        self.milestone_idx = milestone
        self.level = {f: _forward_fill(cols[f]) for f in LEVELS}
        self.pre = {f: _prefix(cols[f]) for f in FLOWS}
        self.created_known = _prefix(
            1 if v is not None else 0 for v in cols["conversations_created"]
        )
        sessions = [0] * n
        reputation = [0] * n
        per_user: dict[str, list[int]] = {}
        for day, user, sess, rep in activity_rows:
            i = (day - base).days
            sessions[i] += sess
            reputation[i] += rep
            if sess > 0:
                per_user.setdefault(user, [0] * n)[i] = 1
        self.sess_pre = _prefix(sessions)
        self.rep_pre = _prefix(reputation)
        self.users = [_prefix(days) for days in per_user.values()]
        self.last_login = _forward_fill([i if s > 0 else None for i, s in enumerate(sessions)])
        self.first_idx = None if first_day is None else (first_day - base).days


def _window(pre: list[int], i: int, days: int = scores.WINDOW) -> int:
    return pre[i + 1] - pre[max(0, i - days + 1)]


def _prev_window(pre: list[int], i: int) -> int:
    hi = i - scores.WINDOW
    if hi < 0:
        return 0
    return pre[hi + 1] - pre[max(0, hi - scores.WINDOW + 1)]


def _score_day(h: _History, i: int, tracked: bool) -> dict[str, float | None]:
    lv = h.level
    w = scores.WINDOW
    then = i - w
    comps: dict[str, float | None] = {}
    # 1. login activity
    last = h.last_login[i]
    r = None if last is None else i - last
    if tracked:
        days_active = [d for d in (_window(u, i) for u in h.users) if d > 0]
        comps["login_activity"] = scores.login_activity(lv["users_total"][i], days_active, r)
    else:
        comps["login_activity"] = None
    # 2. adoption breadth
    booked = _window(h.pre["appointments_booked"], i)
    created = _window(h.pre["conversations_created"], i)
    created_known = _window(h.created_known, i) > 0
    conv_total = lv["conversations_total"][i]
    status = lv["subscription_status"][i]
    wp, ca, pt = lv["workflows_published"][i], lv["calendars_active"][i], lv["products_total"][i]
    features = {
        "workflows": None if wp is None else wp > 0,
        "calendars": None if ca is None else (ca > 0 and booked > 0),
        "products": None if pt is None else pt > 0,
        "conversations": (
            None
            if conv_total is None and not created_known
            else created > 0
            if created_known
            else (conv_total or 0) > 0
        ),
        "payments": None if status is None else status in scores.PAYING_STATUSES,
        "reputation": _window(h.rep_pre, i) > 0 if tracked else None,
    }
    comps["adoption"] = scores.adoption(features)
    # 3. engagement trend
    v_now = _window(h.sess_pre, i) + created + booked
    v_prev = (
        _prev_window(h.sess_pre, i)
        + _prev_window(h.pre["conversations_created"], i)
        + _prev_window(h.pre["appointments_booked"], i)
    )
    has_history = h.first_idx is not None and h.first_idx <= then
    comps["engagement"] = scores.engagement(v_now, v_prev, has_history)
    # 4. revenue status
    m_now = lv["mrr_cents"][i]
    m_then = lv["mrr_cents"][then] if then >= 0 else None
    same_cur = then >= 0 and lv["mrr_currency"][i] == lv["mrr_currency"][then]
    comps["revenue"] = scores.revenue(
        None if status == "none" else status, m_now, m_then if same_cur else None
    )
    # 5. growth
    pairs = []
    if then >= 0:
        for f in scores.GROWTH_METRICS:
            a, b = lv[f][i], lv[f][then]
            if a is not None and b is not None:
                pairs.append((a, b))
    comps["growth"] = scores.growth(pairs)
    comps["_ctx"] = (r, v_now, v_prev, m_now, m_then if same_cur else None)  # type: ignore[assignment]
    return comps


def _flags_for(h: _History, i: int, base: date, ctx, tracked, band, band_week_ago):
    r, v_now, v_prev, m_now, m_then = ctx
    lv = h.level
    out = []
    if tracked and max(lv["users_total"][i] or 0, len(h.users)) > 0:
        last_day = base + timedelta(days=h.last_login[i]) if r is not None else None
        out.append(risk.no_login_flag(r, last_day))
    out.append(risk.usage_down_flag(v_now, v_prev))
    out.append(risk.payment_flag(lv["subscription_status"][i]))
    then = i - scores.WINDOW
    plans = (lv["saas_plan_id"][i], lv["saas_plan_id"][then] if then >= 0 else None)
    out.append(risk.downgrade_flag(m_now, m_then, lv["mrr_currency"][i], plans))
    if band is not None:
        out.append(risk.band_drop_flag(band, band_week_ago, scores.BAND_RANK))
    if h.first_idx is not None:
        age = i - h.first_idx
        cutoff = h.first_idx + scores.WINDOW - 1
        reached = h.milestone_idx is not None and h.milestone_idx <= min(i, cutoff)
        out.append(risk.onboarding_flag(age, reached))
    return [f for f in out if f]


def _write_rows(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
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
                    f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                    rows[k : k + BATCH],
                )


def refresh_agency_days(agency_id: int, first: date, last: date) -> Result:
    """Rebuild rollups, then scores, flags and alerts for days first..last (agency timezone)."""
    result = Result()
    if last < first:
        return result
    result.rollup_rows = recompute_rollups(agency_id, first, last)
    weights, bands = settings_for(agency_id)
    base = first - timedelta(days=LOOKBACK_DAYS)
    n = (last - base).days + 1
    start_i = (first - base).days

    facts = LocationDayFact.objects.for_agency(agency_id)
    activity = UserActivityDay.objects.for_agency(agency_id)
    tracked_since = activity.aggregate(d=Min("day"))["d"]
    first_days = dict(
        facts.values("location_ghl_id").annotate(d=Min("day")).values_list("location_ghl_id", "d")
    )
    for loc, d in (
        activity.values("location_ghl_id")
        .annotate(d=Min("day"))
        .values_list("location_ghl_id", "d")
    ):
        first_days[loc] = min(d, first_days.get(loc, d))

    fact_rows: dict[str, list] = {}
    for row in (
        facts.filter(day__range=(base, last))
        .order_by("location_ghl_id", "day")
        .values_list("location_ghl_id", "day", *LEVELS, *FLOWS)
        .iterator(chunk_size=20000)
    ):
        fact_rows.setdefault(row[0], []).append(row[1:])
    act_rows: dict[str, list] = {}
    for row in (
        activity.filter(day__range=(base, last), is_agency_staff=False)
        .values_list("location_ghl_id", "day", "user_ghl_id", "sessions", "minutes_reputation")
        .iterator(chunk_size=20000)
    ):
        act_rows.setdefault(row[0], []).append(row[1:])

    # Bands and flags just before the range, for band drops and "new flag" alerts at its start.
    earlier_bands: dict[str, dict[date, str]] = {}
    for loc, day, band in (
        HealthScore.objects.for_agency(agency_id)
        .filter(day__range=(first - timedelta(days=7), first - timedelta(days=1)))
        .values_list("location_ghl_id", "day", "band")
    ):
        earlier_bands.setdefault(loc, {})[day] = band
    earlier_flags: dict[str, set[str]] = {}
    for loc, code in (
        RiskFlag.objects.for_agency(agency_id)
        .filter(day=first - timedelta(days=1))
        .values_list("location_ghl_id", "code")
    ):
        earlier_flags.setdefault(loc, set()).add(code)

    score_objs, flag_objs, alert_objs = [], [], []
    for loc in sorted(set(fact_rows) | set(act_rows)):
        h = _History(n, fact_rows.get(loc, ()), act_rows.get(loc, ()), base, first_days.get(loc))
        bands_by_day = earlier_bands.get(loc, {})
        prev_codes = earlier_flags.get(loc, set())
        for i in range(start_i, n):
            day = base + timedelta(days=i)
            tracked = tracked_since is not None and tracked_since <= day
            comps = _score_day(h, i, tracked)
            ctx = comps.pop("_ctx")
            combined = scores.combine(comps, weights)
            band = None
            if combined is not None:
                score, contributions = combined
                band = scores.band_for(score, bands)
                score_objs.append(
                    (
                        agency_id,
                        loc,
                        day,
                        score,
                        band,
                        json.dumps(
                            {c: (None if v is None else round(v, 2)) for c, v in comps.items()}
                        ),
                        json.dumps(contributions),
                    )
                )
                yesterday = bands_by_day.get(day - timedelta(days=1))
                if yesterday and scores.BAND_RANK[band] < scores.BAND_RANK[yesterday]:
                    alert_objs.append(
                        Alert(
                            agency_id=agency_id,
                            location_ghl_id=loc,
                            day=day,
                            kind=Alert.KIND_BAND_DROP,
                            message=f"Score fell to {score}: {scores.BAND_LABELS[yesterday]} → "
                            f"{scores.BAND_LABELS[band]}",
                        )
                    )
                bands_by_day[day] = band
            flags = _flags_for(
                h, i, base, ctx, tracked, band, bands_by_day.get(day - timedelta(days=7))
            )
            codes = set()
            for code, evidence in flags:
                codes.add(code)
                flag_objs.append(
                    (agency_id, loc, day, code, risk.FLAG_WEIGHTS[code], evidence[:300])
                )
                if code not in prev_codes:
                    alert_objs.append(
                        Alert(
                            agency_id=agency_id,
                            location_ghl_id=loc,
                            day=day,
                            kind=Alert.KIND_NEW_FLAG,
                            code=code,
                            message=f"{risk.FLAG_LABELS[code]}: {evidence}"[:300],
                        )
                    )
            prev_codes = codes

    with transaction.atomic(using=DB):
        for model in (HealthScore, RiskFlag, Alert):
            model.objects.for_agency(agency_id).filter(day__range=(first, last)).delete()
        _write_rows(
            HealthScore,
            ("agency_id", "location_ghl_id", "day", "score", "band", "components", "contributions"),
            score_objs,
        )
        _write_rows(
            RiskFlag,
            ("agency_id", "location_ghl_id", "day", "code", "weight", "evidence"),
            flag_objs,
        )
        Alert.objects.bulk_create(alert_objs, batch_size=BATCH)
    result.scores, result.flags, result.alerts = len(score_objs), len(flag_objs), len(alert_objs)
    return result
