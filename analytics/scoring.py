"""Scores, flags and alerts of a chunk of sub-accounts over the recomputed days, as rows.

The arithmetic is analytics.scores' and the rules analytics.risk's (their docstrings are the
definitions); this module feeds them a history's arrays, with the recomputed days as columns,
and turns what they return into rows for HealthScore, RiskFlag and Alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from analytics import history, risk, scores
from analytics.history import History, window_sum
from analytics.models import Alert

W = scores.WINDOW
FLAG_CODES = tuple(risk.FLAG_WEIGHTS)


@dataclass
class Before:
    """What is stored for the days before the range: band ranks (-1: no score) and the days
    each flag was raised, over the history's days (those of the range are overwritten)."""

    bands: np.ndarray
    flags: dict[str, np.ndarray]


@dataclass
class Rows:
    scores: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    alerts: list = field(default_factory=list)


def evaluate(
    agency_id: int,
    h: History,
    start: int,
    days: list[date],
    tracked_from: int | None,
    weights: np.ndarray,
    floors: np.ndarray,
    may_score: np.ndarray,
    before: Before,
    now,
    out: Rows,
    plan_names: dict[str, str] | None = None,
) -> None:
    """Append the rows of days start..h.n-1 of the history to `out`.

    weights: (COMPONENTS x day) and floors: (thriving, healthy, steady x day) in force on each of
    the history's days; may_score: (sub-account x day) the days that may be scored at all."""
    n = h.n
    day = np.arange(start, n)

    def on_d(x):
        return x[..., start:n]

    def on_d_minus(lag, x):
        return x[..., start - lag : n - lag]

    lv = h.level
    status, currency, plan = (
        lv["subscription_status"],
        lv["mrr_currency"],
        lv["saas_plan_id"],
    )
    tracked = np.zeros(n - start, dtype=bool) if tracked_from is None else day >= tracked_from
    last = on_d(h.last_login)
    since_login = np.where(last >= 0, day - last, np.nan)
    first_day = h.first_day[:, None]
    # With no session on record, the quiet spell runs from the later of the sub-account's first
    # day and the agency's first tracker day (a new sub-account is not "30+ days" quiet).
    watched_since = np.maximum(first_day, -1 if tracked_from is None else tracked_from)
    quiet_for = np.where(last >= 0, day - last, day - watched_since)
    booked = window_sum(h.flow["appointments_booked"])
    created = window_sum(h.flow["conversations_created"])
    sessions = window_sum(h.sessions)
    # V counts sessions only when the tracker covered both windows (P and W): before that, P
    # would hold no sessions and every sub-account would look like it doubled its use.
    sessions_count = (
        np.zeros(n - start, dtype=bool)
        if tracked_from is None
        else (day - 2 * W + 1 >= tracked_from)
    )
    v_now = on_d(created + booked) + np.where(sessions_count, on_d(sessions), 0)
    v_prev = on_d_minus(W, created + booked) + np.where(sessions_count, on_d_minus(W, sessions), 0)
    mrr_now = on_d(lv["mrr_cents"])
    mrr_then = np.where(
        on_d(currency.codes) == on_d_minus(W, currency.codes),
        on_d_minus(W, lv["mrr_cents"]),
        np.nan,
    )

    if h.sentiment_weights is None:  # a history read without NPS answers
        history.add_answers(h, ())
    sentiment_weighted, sentiment_weights = h.sentiment_weighted, h.sentiment_weights
    known, used = scores.adoption_features(
        tracked=tracked,
        workflows_published=on_d(lv["workflows_published"]),
        calendars_active=on_d(lv["calendars_active"]),
        booked=on_d(booked),
        products_total=on_d(lv["products_total"]),
        conversations_total=on_d(lv["conversations_total"]),
        created=on_d(created),
        created_known=on_d(window_sum(h.created_known)) > 0,
        subscription_paying=on_d(status.isin(scores.PAYING_STATUSES)),
        subscription_known=on_d(status.codes) >= 0,
        reputation_minutes=on_d(window_sum(h.reputation)),
    )
    components = np.stack(
        [
            scores.login_activity(
                tracked,
                on_d(lv["users_total"]),
                on_d(h.active_users),
                since_login,
                on_d(h.tier_points),
            ),
            scores.adoption(known, used),
            # Both windows inside the sub-account's history: P fully known, not zeros.
            scores.engagement(v_now, v_prev, first_day <= day - 2 * W + 1),
            scores.revenue(
                scores.status_points(on_d(status.codes), status.labels), mrr_now, mrr_then
            ),
            scores.growth(
                np.stack([on_d(lv[m]) for m in scores.GROWTH_METRICS]),
                np.stack([on_d_minus(W, lv[m]) for m in scores.GROWTH_METRICS]),
            ),
            scores.sentiment(on_d(sentiment_weighted), on_d(sentiment_weights)),
        ]
    )
    score, contributions = scores.combine(components, on_d(weights))
    may = on_d(may_score)
    score = np.where(may, score, -1)
    band = np.where(score >= 0, scores.band_rank(score, on_d(floors)), -1)
    bands = before.bands.copy()
    bands[:, start:] = band
    confirmed = risk.confirmed_bands(bands)

    users_known = np.maximum(np.nan_to_num(on_d(lv["users_total"])), h.users_seen[:, None])
    raised = {
        **risk.no_login(tracked, users_known > 0, quiet_for),
        "usage_down": risk.usage_down(v_now, v_prev),
        "payment_failed": on_d(risk.payment_failed(status)),
        "downgraded": risk.downgraded(mrr_now, mrr_then),
        "band_dropped": risk.band_dropped(on_d(confirmed), on_d_minus(7, confirmed)),
        "low_score": risk.low_score(band),
        "onboarding_stalled": risk.onboarding_stalled(
            day - first_day, h.milestone[:, None] - first_day
        ),
        "nps_detractor": on_d(h.detractors) > 0,
    }
    flags = {}
    for code in FLAG_CODES:
        flags[code] = before.flags[code].copy()
        flags[code][:, start:] = raised[code] & may

    def evidence(code: str, k: int, j: int) -> str:
        i = start + j
        if code.startswith("no_login"):
            r = since_login[k, j]
            if np.isnan(r):
                # The watch may have begun before the history read: a date, not an index.
                since = days[0] + timedelta(days=int(i - quiet_for[k, j]))
                return risk.no_login_evidence(None, since, int(quiet_for[k, j]))
            return risk.no_login_evidence(int(r), days[int(last[k, j])])
        if code == "usage_down":
            return risk.usage_down_evidence(int(v_now[k, j]), int(v_prev[k, j]))
        if code == "payment_failed":
            return risk.payment_evidence(status.label(status.codes[k, i]))
        if code == "downgraded":
            # Plans by the names the agency gave them in GHL (SaasPlan), not GHL's ids.
            names = plan_names or {}
            plans = tuple(
                names.get(p) or p
                for p in (plan.label(plan.codes[k, i]), plan.label(plan.codes[k, i - W]))
            )
            return risk.downgrade_evidence(
                int(mrr_now[k, j]),
                int(mrr_then[k, j]),
                currency.label(currency.codes[k, i]),
                plans,
            )
        if code == "band_dropped":
            return risk.band_drop_evidence(
                scores.BAND_OF_RANK[confirmed[k, i]], scores.BAND_OF_RANK[confirmed[k, i - 7]]
            )
        if code == "low_score":
            return risk.low_score_evidence(int(score[k, j]), int(floors[2, i]))
        if code == "nps_detractor":
            name, rating, answered = h.answers[h.detractor_pick[k, i]]
            return risk.nps_detractor_evidence(name, rating, answered, int(h.detractors[k, i]) - 1)
        return risk.onboarding_evidence(int(day[j] - first_day[k, 0]))

    # Rows
    locs = h.locs
    bits = (1 << np.arange(len(known)))[:, None, None]
    known_bits, used_bits = (known * bits).sum(axis=0), (used * bits).sum(axis=0)
    ks, js = np.nonzero(score >= 0)
    out.scores.extend(
        (agency_id, locs[k], days[start + j], s, scores.BAND_OF_RANK[b], c, p, kb, ub)
        for k, j, s, b, c, p, kb, ub in zip(
            ks.tolist(),
            js.tolist(),
            score[ks, js].tolist(),
            band[ks, js].tolist(),
            _json_objects(components[:, ks, js], nulls=True),
            _json_objects(contributions[:, ks, js], nulls=False),
            known_bits[ks, js].tolist(),
            used_bits[ks, js].tolist(),
            strict=True,
        )
    )
    for code in FLAG_CODES:
        weight = risk.FLAG_WEIGHTS[code]
        for k, j in zip(*np.nonzero(raised[code] & may), strict=True):
            out.flags.append(
                (agency_id, locs[k], days[start + j], code, weight, evidence(code, k, j)[:300])
            )
    drops, confirmed_before = risk.band_drops(bands)
    for k, j in zip(*np.nonzero(on_d(drops)), strict=True):
        fell_from, fell_to = on_d(confirmed_before)[k, j], band[k, j]
        out.alerts.append(
            (
                agency_id,
                locs[k],
                days[start + j],
                Alert.KIND_BAND_DROP,
                scores.BAND_OF_RANK[fell_to],
                f"Score fell to {score[k, j]}: {_band_label(fell_from)} → "
                f"{_band_label(fell_to)} ({risk.HOLD_DAYS} days in a row)",
                now,
            )
        )
    for code in FLAG_CODES:
        if code in risk.NO_ALERT_FLAGS:
            continue
        for k, j in zip(*np.nonzero(on_d(risk.episode_starts(flags[code]))), strict=True):
            out.alerts.append(
                (
                    agency_id,
                    locs[k],
                    days[start + j],
                    Alert.KIND_NEW_FLAG,
                    code,
                    f"{risk.FLAG_LABELS[code]}: {evidence(code, k, j)}"[:300],
                    now,
                )
            )


def _band_label(rank) -> str:
    return scores.BAND_LABELS[scores.BAND_OF_RANK[rank]]


def _json_objects(values: np.ndarray, nulls: bool) -> list[str]:
    """One {component: value} text per column of `values` (COMPONENTS x rows), as json.dumps
    writes round(value, 2); no data (NaN) writes null, or is left out when not `nulls`.

    The same few thousand values recur across a chunk: each distinct one is formatted once (a
    json.dumps per row cost more than computing the scores)."""
    items = []
    for c, column in zip(scores.COMPONENTS, values, strict=True):
        known = ~np.isnan(column)
        distinct, which = np.unique(column[known], return_inverse=True)
        formatted = [f', "{c}": {round(v, 2)!r}' for v in distinct.tolist()]
        item = np.full(len(column), f', "{c}": null' if nulls else "", dtype=object)
        item[known] = np.array(formatted, dtype=object)[which]
        items.append(item.tolist())
    # Every item starts with ", ": the first one's is cut.
    return ["{" + "".join(parts)[2:] + "}" for parts in zip(*items, strict=True)]
