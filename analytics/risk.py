"""Churn-risk flags and alerts: rules over the same daily history the score uses, with evidence.

A sub-account is at risk on a day when at least one churn-risk flag is raised on it that day.
Flags are raised only on scored days (analytics.scores, "Scored days"). Rules on day D (W, P,
level() and "own users" as in analytics.scores):
- no_login_30 / no_login_14 / no_login_7 (weight 0.50 / 0.35 / 0.20, only the most severe one):
  the agency has tracker data, the sub-account has users, and its own users' last session is
  at least 30 / 14 / 7 days before D. With no session on record, the days count from the later
  of the sub-account's first day and the agency's first day with tracker data.
- usage_down (0.30): V(P) > 0 and (V(W) - V(P)) / V(P) <= -0.40, V as in the engagement trend.
- payment_failed (0.40): level(subscription_status, D) is past_due or unpaid.
- downgraded (0.30): level(mrr_cents, D) < level(mrr_cents, D-30), both > 0, same currency.
- band_dropped (0.25): the band confirmed on D is Steady or Critical and lower than the band
  confirmed on D-7 (a band is confirmed by HOLD_DAYS scored days in a row in it, as for alerts,
  so a score flapping across a band edge raises nothing; Thriving -> Healthy is no churn risk).
- low_score (0.50): the score on D is in the Critical band (below the Steady floor in force).
- onboarding_stalled (0.30): the sub-account's age a = D - first day with facts or activity is
  14..60 days, and during its first min(30, a + 1) days no day had workflows_published > 0,
  calendars_active > 0, conversations_created > 0 or conversations_total > 0.
- nps_detractor (0.35): an own user's latest NPS answer (analytics.scores, component 6) was
  given in D-89..D and is a detractor rating (0-6). Evidence: who (the name GHL gave for them),
  the rating and its day, for the most recent such answer, and how many other detractors.
  A later passive or promoter answer from the same person clears it.

Risk weight of a sub-account = min(1, sum of its flags' weights); MRR at risk = counted MRR x
risk weight (analytics.revenue.counted_mrr).

Alerts, one per event:
- band_drop: a band is confirmed on D when D and the 2 days before are scored days in that band
  (3 days in a row). The alert fires on D when D confirms a band lower than the band confirmed
  last before D (within the 60 days before): so a score flapping across a band edge raises
  nothing, and a drop that holds alerts once, on its third day. Its code is the band dropped
  into (steady, at_risk, ...), so drops into Steady or Critical can be ranked first.
- new_flag: a flag raised on D that was not raised on any of the 7 days before (one alert per
  episode; no_login_7 -> no_login_14 -> no_login_30 are three events). band_dropped and
  low_score add no alert of their own: the band_drop alert is that event.
"""

from __future__ import annotations

import numpy as np

FLAG_WEIGHTS = {
    "no_login_30": 0.50,
    "no_login_14": 0.35,
    "no_login_7": 0.20,
    "usage_down": 0.30,
    "payment_failed": 0.40,
    "downgraded": 0.30,
    "band_dropped": 0.25,
    "low_score": 0.50,
    "onboarding_stalled": 0.30,
    "nps_detractor": 0.35,
}
FLAG_LABELS = {
    "no_login_30": "No login for 30+ days",
    "no_login_14": "No login for 14+ days",
    "no_login_7": "No login for 7+ days",
    "usage_down": "Usage down 40 %+ over 30 days",
    "payment_failed": "Past due / payment failed",
    "downgraded": "Plan downgraded",
    "band_dropped": "Dropped a health band",
    "low_score": "Health score in the Critical band",
    "onboarding_stalled": "Onboarding stalled",
    "nps_detractor": "NPS detractor",
}
USAGE_DROP = -0.40
PAYMENT_FAILED_STATUSES = ("past_due", "unpaid")
AT_RISK, STEADY = 0, 1  # scores.BAND_RANK["at_risk"], ["steady"]
# Alerts: a band holds HOLD_DAYS scored days before it counts; a flag's episode starts after
# EPISODE_GAP days without it; a confirmed band is remembered for CONFIRMED_WITHIN days.
HOLD_DAYS, EPISODE_GAP, CONFIRMED_WITHIN = 3, 7, 60
# Their event is the band change, which has its own alert.
NO_ALERT_FLAGS = frozenset({"band_dropped", "low_score"})
ONBOARDING_MIN_AGE, ONBOARDING_MAX_AGE, ONBOARDING_DAYS = 14, 60, 30
DETRACTOR_MAX, DETRACTOR_DAYS = 6, 90


def risk_weight(codes) -> float:
    return min(1.0, sum(FLAG_WEIGHTS[c] for c in codes))


# Rules over arrays (sub-account x day); each returns where its flag is raised.


def no_login(tracked, has_users, days_since_login) -> dict[str, np.ndarray]:
    """no_login_30 / _14 / _7, only the most severe. r: days since the last session (with none
    on record, since the sub-account or the tracker started); NaN counts as 30+."""
    r = days_since_login
    applies = tracked & has_users
    return {
        "no_login_30": applies & (np.isnan(r) | (r >= 30)),
        "no_login_14": applies & (r >= 14) & (r < 30),
        "no_login_7": applies & (r >= 7) & (r < 14),
    }


def usage_down(v_now, v_prev):
    with np.errstate(divide="ignore", invalid="ignore"):  # V(P) = 0 is masked out
        return (v_prev > 0) & ((v_now - v_prev) / v_prev <= USAGE_DROP)


def payment_failed(status):
    """`status`: level(subscription_status), a history.TextLevel."""
    return status.isin(PAYMENT_FAILED_STATUSES)


def downgraded(mrr_now, mrr_then):
    """`mrr_then` is NaN when unknown or in another currency."""
    return (mrr_now > 0) & (mrr_then > 0) & (mrr_now < mrr_then)


def band_dropped(confirmed_now, confirmed_week_ago):
    """Confirmed band ranks (confirmed_bands), -1 where none: a drop that held, into Steady or
    Critical (a Thriving -> Healthy drop is not a churn risk)."""
    return (
        (confirmed_now >= 0)
        & (confirmed_week_ago >= 0)
        & (confirmed_now < confirmed_week_ago)
        & (confirmed_now <= STEADY)
    )


def low_score(band):
    """`band`: band ranks, -1 where the day has no score."""
    return band == AT_RISK


def onboarding_stalled(age, milestone_age):
    """`age`: D minus the first fact/activity day; `milestone_age`: the age of the first
    milestone (NaN: none yet)."""
    reached = milestone_age <= np.minimum(age, ONBOARDING_DAYS - 1)
    return (age >= ONBOARDING_MIN_AGE) & (age <= ONBOARDING_MAX_AGE) & ~reached


def nps_detractors(ratings, ages):
    """(user x day) where a user's latest answer is a detractor rating given in D-89..D."""
    return (ages >= 0) & (ages < DETRACTOR_DAYS) & (np.nan_to_num(ratings, nan=99) <= DETRACTOR_MAX)


# Evidence, written only for the flags raised.


def no_login_evidence(days_since_login: int | None, last_login_day, quiet_days=None) -> str:
    """`last_login_day`: the last session's day, or with none on record (days_since_login None)
    the day the quiet spell is counted from."""
    if days_since_login is None:
        return (
            f"No login by the sub-account's users on record: {quiet_days} days since "
            f"{last_login_day.isoformat()}"
        )
    return f"No login for {days_since_login} days (last {last_login_day.isoformat()})"


def usage_down_evidence(current: int, previous: int) -> str:
    change = (current - previous) / previous
    return f"Usage down {round(-change * 100)} % ({previous} → {current} in 30 days)"


def payment_evidence(status: str) -> str:
    return f"Subscription is {status.replace('_', ' ')}"


def downgrade_evidence(mrr_now: int, mrr_then: int, currency: str | None, plans: tuple) -> str:
    cur = currency or ""
    plan_note = f" (plan {plans[1]} → {plans[0]})" if plans[0] != plans[1] and all(plans) else ""
    return f"MRR {mrr_then / 100:.2f} → {mrr_now / 100:.2f} {cur} in 30 days{plan_note}".strip()


def band_drop_evidence(band_now: str, band_week_ago: str) -> str:
    return f"Band fell from {band_week_ago} to {band_now} in 7 days"


def low_score_evidence(score: int, steady_floor: int) -> str:
    return f"Health score {score} is in the Critical band (below {steady_floor})"


def onboarding_evidence(age: int) -> str:
    return f"Day {age} and no workflow published, calendar active or conversation yet"


# Alert rules over a sub-account's days (sub-account x day, oldest first), stored days before
# the recomputed range included.


def _shifted(x: np.ndarray, days: int, fill) -> np.ndarray:
    """x of `days` days earlier, on each day (`fill` where that is before the first day)."""
    out = np.full_like(x, fill)
    out[:, days:] = x[:, : x.shape[1] - days]
    return out


def _held(bands: np.ndarray) -> np.ndarray:
    """Days that are the HOLD_DAYS-th scored day in a row in the same band."""
    held = bands >= 0
    for days in range(1, HOLD_DAYS):
        held &= _shifted(bands, days, -1) == bands
    return held


def confirmed_bands(bands: np.ndarray) -> np.ndarray:
    """The band confirmed on each day: the band of the latest day that held it HOLD_DAYS scored
    days in a row, within CONFIRMED_WITHIN days (-1: none), from band ranks (-1: no score)."""
    held = _held(bands)
    last_held = np.maximum.accumulate(np.where(held, np.arange(bands.shape[1]), -1), axis=1)
    recent = (last_held >= 0) & (np.arange(bands.shape[1]) - last_held <= CONFIRMED_WITHIN)
    return np.where(recent, np.take_along_axis(bands, np.maximum(last_held, 0), 1), -1)


def band_drops(bands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(days with a band_drop alert, the band confirmed before each day), from band ranks
    (-1: no score)."""
    before = _shifted(confirmed_bands(bands), 1, -1)
    return _held(bands) & (bands < before), before


def episode_starts(raised: np.ndarray) -> np.ndarray:
    """Days a flag is raised that had it on none of the EPISODE_GAP days before."""
    recent = np.zeros_like(raised)
    for days in range(1, EPISODE_GAP + 1):
        recent |= _shifted(raised, days, False)
    return raised & ~recent


def nps_detractor_evidence(name: str, rating: int, day, others: int) -> str:
    more = f" (+{others} other detractor{'s' if others > 1 else ''})" if others else ""
    return f"{name or 'A sub-account user'} rated {rating}/10 on {day.isoformat()}{more}"
