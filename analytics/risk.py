"""Churn-risk flags: each is a rule over the same daily history the score uses, with evidence.

Rules on day D (W, P, level() and "own users" as in analytics.scores):
- no_login_30 / no_login_14 / no_login_7 (weight 0.50 / 0.35 / 0.20, only the most severe one):
  the agency has tracker data, the sub-account has users, and its own users' last session is
  at least 30 / 14 / 7 days before D (no session known at all counts as 30+).
- usage_down (0.30): V(P) > 0 and (V(W) - V(P)) / V(P) <= -0.40, V as in the engagement trend.
- payment_failed (0.40): level(subscription_status, D) is past_due or unpaid.
- downgraded (0.30): level(mrr_cents, D) < level(mrr_cents, D-30), both > 0, same currency.
- band_dropped (0.25): the score's band on D is lower than its band on D-7.
- onboarding_stalled (0.30): the sub-account's age a = D - first day with facts or activity is
  14..60 days, and during its first min(30, a + 1) days no day had workflows_published > 0,
  calendars_active > 0, conversations_created > 0 or conversations_total > 0.

Risk weight of a sub-account = min(1, sum of its flags' weights); MRR at risk = counted MRR x
risk weight (analytics.revenue.counted_mrr).
"""

from __future__ import annotations

import numpy as np

from analytics.scores import masked_division

FLAG_WEIGHTS = {
    "no_login_30": 0.50,
    "no_login_14": 0.35,
    "no_login_7": 0.20,
    "usage_down": 0.30,
    "payment_failed": 0.40,
    "downgraded": 0.30,
    "band_dropped": 0.25,
    "onboarding_stalled": 0.30,
}
FLAG_LABELS = {
    "no_login_30": "No login for 30+ days",
    "no_login_14": "No login for 14+ days",
    "no_login_7": "No login for 7+ days",
    "usage_down": "Usage down 40 %+ over 30 days",
    "payment_failed": "Past due / payment failed",
    "downgraded": "Plan downgraded",
    "band_dropped": "Dropped a health band",
    "onboarding_stalled": "Onboarding stalled",
}
USAGE_DROP = -0.40
PAYMENT_FAILED_STATUSES = ("past_due", "unpaid")
ONBOARDING_MIN_AGE, ONBOARDING_MAX_AGE, ONBOARDING_DAYS = 14, 60, 30


def risk_weight(codes) -> float:
    return min(1.0, sum(FLAG_WEIGHTS[c] for c in codes))


# Rules over arrays (sub-account x day); each returns where its flag is raised.


def no_login(tracked, has_users, days_since_login) -> dict[str, np.ndarray]:
    """no_login_30 / _14 / _7, only the most severe; r = NaN (no session known) counts as 30+."""
    r = days_since_login
    applies = tracked & has_users
    return {
        "no_login_30": applies & (np.isnan(r) | (r >= 30)),
        "no_login_14": applies & (r >= 14) & (r < 30),
        "no_login_7": applies & (r >= 7) & (r < 14),
    }


@masked_division
def usage_down(v_now, v_prev):
    return (v_prev > 0) & ((v_now - v_prev) / v_prev <= USAGE_DROP)


def payment_failed(status):
    """`status`: level(subscription_status), a history.TextLevel."""
    return status.isin(PAYMENT_FAILED_STATUSES)


def downgraded(mrr_now, mrr_then):
    """`mrr_then` is NaN when unknown or in another currency."""
    return (mrr_now > 0) & (mrr_then > 0) & (mrr_now < mrr_then)


def band_dropped(band_now, band_week_ago):
    """Band ranks (scores.BAND_RANK), -1 where the day has no score."""
    return (band_now >= 0) & (band_week_ago >= 0) & (band_now < band_week_ago)


def onboarding_stalled(age, milestone_age):
    """`age`: D minus the first fact/activity day; `milestone_age`: the age of the first
    milestone (NaN: none yet)."""
    reached = milestone_age <= np.minimum(age, ONBOARDING_DAYS - 1)
    return (age >= ONBOARDING_MIN_AGE) & (age <= ONBOARDING_MAX_AGE) & ~reached


# Evidence, written only for the flags raised.


def no_login_evidence(days_since_login: int | None, last_login_day) -> str:
    if days_since_login is None:
        return "No login by the sub-account's users on record (30+ days)"
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


def onboarding_evidence(age: int) -> str:
    return f"Day {age} and no workflow published, calendar active or conversation yet"
