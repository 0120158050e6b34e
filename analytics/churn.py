"""Predicted churn per agency: its stored history as a Panel, its own model, its predictions.

analytics.churnmodel defines labels, features, the model and the backtest. This module reads
one agency's stored days (LocationDay, HealthScore, RiskFlag, UserActivityDay, LocationDayFact;
every read goes through `.for_agency()`, so no agency's data trains another's model), trains
its model (weekly, analytics.tasks), writes its predictions and the LocationState columns the
pages sort on, and answers `probabilities(agency)` for playbook triggers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

import numpy as np
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone as dj_tz

from accounts import pagecache
from analytics import churnmodel as cm
from analytics import daystate, risk, scores
from analytics.models import (
    ChurnModel,
    ChurnPrediction,
    HealthScore,
    Lifecycle,
    LocationDay,
    LocationDayFact,
    LocationState,
    RiskFlag,
    UserActivityDay,
)
from gocsm.agencykeys import agency_cache_key

log = logging.getLogger(__name__)

DB = "analytics"
HISTORY_DAYS = 730
TOP_DRIVERS = 5
LABELS = {**scores.COMPONENT_LABELS, **risk.FLAG_LABELS}
ENDED_LIFECYCLES = frozenset({Lifecycle.CHURNED, Lifecycle.NOT_CONNECTED})


def _agency_id(agency) -> int:
    return agency if isinstance(agency, int) else agency.pk


def load_panel(agency, history_days: int = HISTORY_DAYS) -> cm.Panel | None:
    """The agency's last `history_days` of stored state as a Panel (None: no state yet)."""
    agency_id = _agency_id(agency)
    days_qs = LocationDay.objects.for_agency(agency_id)
    last = days_qs.aggregate(d=Max("day"))["d"]
    if last is None:
        return None
    first = max(days_qs.aggregate(d=Min("day"))["d"], last - timedelta(days=history_days - 1))
    n = (last - first).days + 1
    days = [first + timedelta(days=k) for k in range(n)]
    locs = sorted(
        set(
            days_qs.filter(day__range=(first, last))
            .values_list("location_ghl_id", flat=True)
            .distinct()
        )
    )
    at = {loc: i for i, loc in enumerate(locs)}
    shape = (len(locs), n)
    exists = np.zeros(shape, dtype=bool)
    lifecycle_ended = np.zeros(shape, dtype=bool)
    mrr = np.full(shape, np.nan)
    status = np.zeros(shape, dtype=np.int8)
    status_code = {s: k for k, s in enumerate(cm.STATUSES)}
    for loc, d, lifecycle, cents, sub_status in days_qs.filter(
        day__range=(first, last)
    ).values_list("location_ghl_id", "day", "lifecycle", "mrr_cents", "subscription_status"):
        i, k = at[loc], (d - first).days
        exists[i, k] = True
        lifecycle_ended[i, k] = lifecycle in ENDED_LIFECYCLES
        if cents is not None:
            mrr[i, k] = cents / 100
        status[i, k] = status_code.get(sub_status or "", 0)
    # "Paid before" looks back past the panel's first day as well.
    paid_before = set(
        days_qs.filter(day__lt=first, mrr_cents__gt=0)
        .values_list("location_ghl_id", flat=True)
        .distinct()
    )
    paid = np.maximum.accumulate(np.nan_to_num(mrr) > 0, axis=1)
    paid_earlier = np.zeros(shape, dtype=bool)
    paid_earlier[:, 1:] = paid[:, :-1]
    for loc in paid_before & set(at):
        paid_earlier[at[loc]] = True
    ended = exists & (lifecycle_ended | (paid_earlier & (mrr == 0)))

    score = np.full(shape, np.nan)
    components: dict[str, np.ndarray] = {}
    for loc, d, value, comps in (
        HealthScore.objects.for_agency(agency_id)
        .filter(day__range=(first, last), location_ghl_id__in=locs)
        .values_list("location_ghl_id", "day", "score", "components")
    ):
        i, k = at[loc], (d - first).days
        score[i, k] = value
        # Every stored component, whatever its name (a sentiment component where one exists).
        for name, v in (comps or {}).items():
            if v is not None:
                components.setdefault(name, np.full(shape, np.nan))[i, k] = v
    for name in scores.COMPONENTS:
        components.setdefault(name, np.full(shape, np.nan))

    flags = {code: np.zeros(shape, dtype=bool) for code in risk.FLAG_WEIGHTS}
    for loc, d, code in (
        RiskFlag.objects.for_agency(agency_id)
        .filter(day__range=(first, last), location_ghl_id__in=locs)
        .values_list("location_ghl_id", "day", "code")
    ):
        flags.setdefault(code, np.zeros(shape, dtype=bool))[at[loc], (d - first).days] = True
    risk_weight = np.minimum(
        1.0, sum(risk.FLAG_WEIGHTS.get(c, 0) * f for c, f in flags.items())
    ).astype(np.float64)

    sessions = np.zeros(shape)
    active_users = np.zeros(shape)
    user_days: dict[tuple[str, str], np.ndarray] = {}
    activity = UserActivityDay.objects.for_agency(agency_id)
    tracked_day = activity.aggregate(d=Min("day"))["d"]
    for loc, user, d, count in activity.filter(
        day__range=(first - timedelta(days=29), last),
        location_ghl_id__in=locs,
        is_agency_staff=False,
        sessions__gt=0,
    ).values_list("location_ghl_id", "user_ghl_id", "day", "sessions"):
        k = (d - first).days
        user_days.setdefault((loc, user), np.zeros(n + 29, dtype=bool))[k + 29] = True
        if k >= 0:
            sessions[at[loc], k] += count
            active_users[at[loc], k] += 1
    tiers = {t: np.zeros(shape) for t in cm.TIERS}
    for (loc, _user), active in user_days.items():
        c = np.concatenate([[0], np.cumsum(active)])
        share = (c[30:] - c[:-30]) / 30  # days active in the 30 days ending on each day
        seen = share > 0
        i = at[loc]
        tiers["heavy"][i] += seen & (share >= 0.85)
        tiers["regular"][i] += seen & (share >= 0.50) & (share < 0.85)
        tiers["casual"][i] += seen & (share >= 0.20) & (share < 0.50)
        tiers["ghosting"][i] += seen & (share < 0.20)

    users = np.full(shape, np.nan)
    usage = np.zeros(shape)
    for loc, d, total, convs, booked in (
        LocationDayFact.objects.for_agency(agency_id)
        .filter(day__range=(first, last), location_ghl_id__in=locs)
        .values_list(
            "location_ghl_id", "day", "users_total", "conversations_created", "appointments_booked"
        )
    ):
        i, k = at[loc], (d - first).days
        if total is not None:
            users[i, k] = total
        usage[i, k] = (convs or 0) + (booked or 0)
    users = _forward_fill(users)

    firsts = daystate.first_days(agency_id, locs)
    # Its first day: the earliest fact or activity, or of its stored state if that is earlier.
    first_state = np.where(exists.any(axis=1), exists.argmax(axis=1), n)
    first_index = np.array(
        [
            min((firsts[loc] - first).days, first_state[i]) if loc in firsts else first_state[i]
            for i, loc in enumerate(locs)
        ],
        dtype=np.int64,
    )
    tracked_from = None
    if tracked_day is not None and tracked_day <= last:
        tracked_from = max(0, (tracked_day - first).days)
    return cm.Panel(
        locations=locs,
        days=days,
        exists=exists,
        ended=ended,
        score=score,
        components=components,
        flags=flags,
        risk_weight=risk_weight,
        sessions=sessions,
        active_users=active_users,
        tiers=tiers,
        users=users,
        usage=usage,
        mrr=mrr,
        status=status,
        first=first_index,
        tracked_from=tracked_from,
    )


def _forward_fill(x: np.ndarray) -> np.ndarray:
    known = ~np.isnan(x)
    idx = np.where(known, np.arange(x.shape[1]), -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = np.take_along_axis(x, np.maximum(idx, 0), axis=1)
    return np.where(idx >= 0, out, np.nan)


def _backtest_json(bt: cm.Backtest) -> dict:
    return {
        "pooled": {str(h): m for h, m in bt.pooled.items()},
        "calibration": {str(h): c for h, c in bt.calibration.items()},
        "cutoffs": [{k: v for k, v in vars(r).items() if k != "cutoff"} for r in bt.results],
        "skipped": [list(s) for s in bt.skipped],
    }


def train(agency) -> ChurnModel:
    """Train the agency's model on its own history (the latest day is the cutoff), backtest it,
    store both and write its predictions. Below MIN_EVENTS churn events: cold start."""
    agency_id = _agency_id(agency)
    panel = load_panel(agency_id)
    fields = {
        "trained_at": dj_tz.now(),
        "day": None,
        "status": ChurnModel.STATUS_COLD_START,
        "horizon_days": cm.HORIZON,
        "events": 0,
        "events_needed": cm.MIN_EVENTS,
        "training_rows": 0,
        "fitted": {},
        "backtest": {},
    }
    model = None
    if panel is not None:
        cutoff = panel.n - 1
        fields["day"] = panel.days[cutoff]
        ts = cm.training_set(panel, cutoff, cm.HORIZON)
        fields["events"], fields["training_rows"] = ts.events, len(ts.y)
        if ts.events >= cm.MIN_EVENTS and 0 < ts.y.sum() < len(ts.y):
            feats = cm.features(panel, ts.rows, ts.cols, LABELS)
            model = cm.fit(feats, ts.y, cm.HORIZON, ts.events, days=ts.cols)
            fields["status"] = ChurnModel.STATUS_MODEL
            fields["fitted"] = model.as_json()
            fields["backtest"] = _backtest_json(cm.backtest(panel, labels_of=LABELS))
    with transaction.atomic(using=DB):
        stored, _ = ChurnModel.objects.for_agency(agency_id).update_or_create(
            agency_id=agency_id, defaults=fields
        )
        _write_predictions(agency_id, panel, model)
    return stored


def _write_predictions(agency_id: int, panel: cm.Panel | None, model: cm.Model | None) -> int:
    ChurnPrediction.objects.for_agency(agency_id).delete()
    states = LocationState.objects.for_agency(agency_id)
    states.update(churn_probability=None, expected_mrr_lost=None)
    if model is None or panel is None:
        return 0
    c = panel.n - 1
    rows = np.nonzero(panel.alive[:, c])[0]
    if not len(rows):
        return 0
    cols = np.full(len(rows), c)
    X = cm.features(panel, rows, cols, LABELS).X
    logits = model.logit(X)
    out = []
    for x, i, logit in zip(X, rows, logits, strict=True):
        out.append(
            ChurnPrediction(
                agency_id=agency_id,
                location_ghl_id=panel.locations[i],
                day=panel.days[c],
                probability=float(1 / (1 + math.exp(-logit))),
                logit=float(logit),
                intercept=model.intercept,
                drivers=model.contributions(x),
            )
        )
    ChurnPrediction.objects.using(DB).bulk_create(out, batch_size=500)
    probability = {p.location_ghl_id: p.probability for p in out}
    changed = []
    for state in states.filter(location_ghl_id__in=list(probability)).only(
        "pk", "location_ghl_id", "mrr_cents", "mrr_source"
    ):
        state.churn_probability = probability[state.location_ghl_id]
        state.expected_mrr_lost = cm.expected_loss(
            state.churn_probability, state.mrr_cents, state.mrr_source
        )
        changed.append(state)
    states.bulk_update(changed, ["churn_probability", "expected_mrr_lost"], batch_size=500)
    return len(out)


def model_for(agency) -> ChurnModel | None:
    return ChurnModel.objects.for_agency(_agency_id(agency)).first()


@dataclass(frozen=True)
class Summary:
    """What the portfolio pages say of the agency's model (not its fitted numbers or backtest)."""

    status: str
    day: date | None
    events: int
    events_needed: int


_SUMMARY_FIELDS = ("status", "day", "events", "events_needed")
# Kept in the shared cache: every portfolio page shows it, and it changes once a week (train()).
# The receivers in AnalyticsConfig.ready() drop it when the agency's ChurnModel row is written;
# the expiry bounds a write that bypassed them.
SUMMARY_SECONDS = 60 * 60


def summary_key(agency_id: int) -> str:
    return agency_cache_key(agency_id, "churn", "summary")


def summary_for(agency, cached_get=None) -> Summary | None:
    """The agency's model as the pages describe it; None: never trained. One cache read (one
    query of four columns when not cached, or when the cache cannot answer); `cached_get`
    reads the cached copy instead of a cache read of its own."""
    agency_id = _agency_id(agency)
    key = summary_key(agency_id)
    try:
        cached = cached_get() if cached_get is not None else cache.get(key)
    except Exception as exc:  # the shared cache being away must not break every page
        log.warning("churn summary cache unavailable (%s)", type(exc).__name__)
        cached, key = None, None
    if cached is not None:
        return Summary(*cached) if cached else None
    row = ChurnModel.objects.for_agency(agency_id).values_list(*_SUMMARY_FIELDS).first()
    if key is not None:
        try:
            cache.set(key, tuple(row or ()), SUMMARY_SECONDS)
        except Exception as exc:
            log.warning("churn summary cache unavailable (%s)", type(exc).__name__)
    return Summary(*row) if row else None


def summary_for_request(request) -> Summary | None:
    """summary_for() the request's agency, read with the page's other cached values
    (accounts.pagecache)."""
    return summary_for(request.agency, lambda: pagecache.get(request, "churn summary"))


def _drop_summary(agency_id: int) -> None:
    try:
        cache.delete(summary_key(agency_id))
    except Exception as exc:
        log.error("churn summary not cleared agency=%s (%s)", agency_id, type(exc).__name__)


def on_model_change(sender, instance, using=None, **kwargs) -> None:
    """post_save/post_delete of ChurnModel: drop the cached summary now and again on commit (a
    page reading before the commit may have cached the old one)."""
    _drop_summary(instance.agency_id)
    transaction.on_commit(partial(_drop_summary, instance.agency_id), using=using)


def in_use(model: ChurnModel | Summary | None) -> bool:
    return model is not None and model.status == ChurnModel.STATUS_MODEL


def probabilities(agency) -> dict[str, float]:
    """{sub-account GHL id: probability of churn within 90 days} from the agency's own model,
    for playbook triggers; empty while the agency is in cold start (no model)."""
    return dict(
        ChurnPrediction.objects.for_agency(_agency_id(agency)).values_list(
            "location_ghl_id", "probability"
        )
    )


def top_drivers(prediction: ChurnPrediction, count: int = TOP_DRIVERS) -> list[tuple[str, float]]:
    """The drivers that moved this prediction most, by the size of their contribution."""
    items = sorted(prediction.drivers.items(), key=lambda kv: -abs(kv[1]))
    return items[:count]
