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
ONBOARDING_MIN_AGE, ONBOARDING_MAX_AGE, ONBOARDING_DAYS = 14, 60, 30


def risk_weight(codes) -> float:
    return min(1.0, sum(FLAG_WEIGHTS[c] for c in codes))


def no_login_flag(days_since_login: int | None, last_login_day) -> tuple[str, str] | None:
    if days_since_login is not None and days_since_login < 7:
        return None
    if days_since_login is None:
        return "no_login_30", "No login by the sub-account's users on record (30+ days)"
    code = (
        "no_login_30"
        if days_since_login >= 30
        else "no_login_14"
        if days_since_login >= 14
        else "no_login_7"
    )
    return code, f"No login for {days_since_login} days (last {last_login_day.isoformat()})"


def usage_down_flag(current: int, previous: int) -> tuple[str, str] | None:
    if previous <= 0:
        return None
    change = (current - previous) / previous
    if change > USAGE_DROP:
        return None
    return "usage_down", f"Usage down {round(-change * 100)} % ({previous} → {current} in 30 days)"


def payment_flag(status: str | None) -> tuple[str, str] | None:
    if status in ("past_due", "unpaid"):
        return "payment_failed", f"Subscription is {status.replace('_', ' ')}"
    return None


def downgrade_flag(
    mrr_now: int | None, mrr_then: int | None, currency: str | None, plans: tuple
) -> tuple[str, str] | None:
    if not (mrr_now and mrr_then) or mrr_now >= mrr_then:
        return None
    cur = currency or ""
    plan_note = f" (plan {plans[1]} → {plans[0]})" if plans[0] != plans[1] and all(plans) else ""
    return (
        "downgraded",
        f"MRR {mrr_then / 100:.2f} → {mrr_now / 100:.2f} {cur} in 30 days{plan_note}".strip(),
    )


def band_drop_flag(band_now: str, band_week_ago: str | None, rank) -> tuple[str, str] | None:
    if band_week_ago is None or rank[band_now] >= rank[band_week_ago]:
        return None
    return "band_dropped", f"Band fell from {band_week_ago} to {band_now} in 7 days"


def onboarding_flag(age: int | None, milestone_reached: bool) -> tuple[str, str] | None:
    if age is None or not ONBOARDING_MIN_AGE <= age <= ONBOARDING_MAX_AGE or milestone_reached:
        return None
    return (
        "onboarding_stalled",
        f"Day {age} and no workflow published, calendar active or conversation yet",
    )
