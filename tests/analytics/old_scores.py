"""Health score: 0-100 per sub-account per day, explained by its components.

Definitions (also shown on the settings page, templates/analytics/settings.html). D is the scored
day in the agency's timezone; W = the 30 days D-29..D; P = the 30 days before, D-59..D-30.
level(x, d) is the latest known (non-NULL) value of fact x on a day <= d. "Own users" excludes
agency staff. Every component is 0-100 and is computed from unrounded numbers.

1. Login activity (needs tracker data: the agency has any activity row on or before D, and the
   sub-account has N > 0 users where N = max(level(users_total, D), A)):
     A        = own users with >= 1 session on some day in W
     active   = 100 * A / N
     recency  = 100 * max(0, 30 - r) / 30, r = days since the last own session (no session: 0)
     tier     = (sum of tier points of the users active in W) / N, where a user's share of days
                active in W (days/30) gives Heavy >= 0.85 -> 100, Regular >= 0.50 -> 70,
                Casual >= 0.20 -> 40, Ghosting < 0.20 -> 10; users not seen in W add 0
     login    = 0.4 * active + 0.3 * recency + 0.3 * tier
2. Adoption breadth = 100 * used / known over the features whose facts are known:
     workflows      known if level(workflows_published) is known; used if it is > 0
     calendars      known if level(calendars_active) is known; used if it is > 0 and
                    appointments booked in W > 0
     products       known if level(products_total) is known; used if it is > 0
     conversations  known if level(conversations_total) or any conversations_created in W is
                    known; used if conversations created in W > 0, or (no created count known in
                    W) level(conversations_total) > 0
     payments/SaaS  known if level(subscription_status) is known; used if active, trialing or
                    past_due
     reputation     known if the agency has tracker data; used if own minutes in reputation in
                    W > 0
   No feature known -> no data.
3. Engagement trend: V(window) = own sessions + conversations created + appointments booked,
   summed over the window. No data unless the sub-account's first fact or activity day is on or
   before D-30. If V(P) = 0: 100 when V(W) > 0, else 0. Otherwise
   clamp(50 + 50 * (V(W) - V(P)) / V(P), 0, 100)  (flat = 50, halved = 25, doubled = 100).
4. Revenue status: s = level(subscription_status, D); no data if unknown or "none". Base points
   active 100, trialing 70, past_due 30, paused 20, unpaid 10, canceled 0. If m1 =
   level(mrr_cents, D) and m0 = level(mrr_cents, D-30) are both > 0 in the same currency:
   clamp(base + 50 * (m1 - m0) / m0, 0, 100), else base.
5. Growth: for each of users_total, workflows_total, calendars_total, products_total with both
   level(x, D) and level(x, D-30) known: g = clamp((now - then) / max(then, 1), -1, 1).
   Growth = 50 + 50 * mean(g). No metric known at both ends -> no data.

Score = sum(w_c * C_c) / sum(w_c) over the components that have data (a component without data
is left out and its weight shared by the rest, never counted as zero), rounded half up to an
integer. Contribution of c = w_c * C_c / sum(w_c) (stored to 2 decimals; they add up to the
unrounded score). No component with data -> no score that day.
Bands (defaults, configurable): Thriving 76-100, Healthy 51-75, Steady 26-50, At risk 0-25.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

COMPONENTS = ("login_activity", "adoption", "engagement", "revenue", "growth")
COMPONENT_LABELS = {
    "login_activity": "Login activity",
    "adoption": "Adoption breadth",
    "engagement": "Engagement trend",
    "revenue": "Revenue status",
    "growth": "Growth",
}
DEFAULT_WEIGHTS = {
    "login_activity": 30,
    "adoption": 25,
    "engagement": 20,
    "revenue": 15,
    "growth": 10,
}
# Lowest score of each band; below steady is "at risk".
DEFAULT_BANDS = {"thriving": 76, "healthy": 51, "steady": 26}
BANDS = ("thriving", "healthy", "steady", "at_risk")
BAND_LABELS = {
    "thriving": "Thriving",
    "healthy": "Healthy",
    "steady": "Steady",
    "at_risk": "At risk",
}
BAND_RANK = {"at_risk": 0, "steady": 1, "healthy": 2, "thriving": 3}

WINDOW = 30
TIERS = (("heavy", 0.85, 100), ("regular", 0.50, 70), ("casual", 0.20, 40), ("ghosting", 0.0, 10))
STATUS_POINTS = {
    "active": 100,
    "trialing": 70,
    "past_due": 30,
    "paused": 20,
    "unpaid": 10,
    "canceled": 0,
}
PAYING_STATUSES = frozenset({"active", "trialing", "past_due"})
GROWTH_METRICS = ("users_total", "workflows_total", "calendars_total", "products_total")


def clamp(x: float, lo: float = 0.0, hi: float = 100.0) -> float:
    return lo if x < lo else hi if x > hi else x


def round_half_up(x: float) -> int:
    return int(Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tier_for_share(share: float) -> str:
    """Activity tier for the share of the last 30 days a user was active (0..1)."""
    for name, floor, _points in TIERS:
        if share >= floor:
            return name
    return "ghosting"


_TIER_POINTS = {name: points for name, _floor, points in TIERS}


def login_activity(
    users_total: int | None,
    days_active_per_user: list[int],
    days_since_login: int | None,
) -> float | None:
    """Component 1. `days_active_per_user`: days in W with a session, for each own user active
    in W. `days_since_login`: r, or None if no own session is known."""
    active = len(days_active_per_user)
    n = max(users_total or 0, active)
    if n == 0:
        return None
    recency = 0.0 if days_since_login is None else 100 * max(0, WINDOW - days_since_login) / WINDOW
    tier = sum(_TIER_POINTS[tier_for_share(d / WINDOW)] for d in days_active_per_user) / n
    return 0.4 * (100 * active / n) + 0.3 * recency + 0.3 * tier


def adoption(features: dict[str, bool | None]) -> float | None:
    """Component 2. `features`: feature -> used (True/False), or None when not known."""
    known = [used for used in features.values() if used is not None]
    if not known:
        return None
    return 100 * sum(1 for used in known if used) / len(known)


def engagement(current: int, previous: int, has_history: bool) -> float | None:
    """Component 3 from V(W) = current and V(P) = previous."""
    if not has_history:
        return None
    if previous == 0:
        return 100.0 if current > 0 else 0.0
    return clamp(50 + 50 * (current - previous) / previous)


def revenue(status: str | None, mrr_now: int | None, mrr_then: int | None) -> float | None:
    """Component 4. Pass mrr_then=None when the currencies differ."""
    if not status or status not in STATUS_POINTS:
        return None
    base = STATUS_POINTS[status]
    if mrr_now and mrr_then and mrr_now > 0 and mrr_then > 0:
        return clamp(base + 50 * (mrr_now - mrr_then) / mrr_then)
    return float(base)


def growth(pairs: list[tuple[int, int]]) -> float | None:
    """Component 5 from (now, then) pairs of the metrics known at both ends."""
    if not pairs:
        return None
    changes = [clamp((now - then) / max(then, 1), -1.0, 1.0) for now, then in pairs]
    return 50 + 50 * sum(changes) / len(changes)


def combine(
    components: dict[str, float | None], weights: dict[str, float]
) -> tuple[int, dict[str, float]] | None:
    """Weighted mean over components with data and a positive weight.

    Returns (score, contributions) or None when nothing has data."""
    present = {c: v for c, v in components.items() if v is not None and weights.get(c, 0) > 0}
    total = sum(weights[c] for c in present)
    if not present or total <= 0:
        return None
    parts = {c: weights[c] * v / total for c, v in present.items()}
    score = round_half_up(sum(parts.values()))
    return score, {c: round(p, 2) for c, p in parts.items()}


def band_for(score: int, bands: dict[str, int] | None = None) -> str:
    b = bands or DEFAULT_BANDS
    if score >= b["thriving"]:
        return "thriving"
    if score >= b["healthy"]:
        return "healthy"
    if score >= b["steady"]:
        return "steady"
    return "at_risk"


def validate_weights(raw: dict) -> dict[str, int]:
    """Weights are integers 0-100 per component with a positive sum; ValueError otherwise."""
    weights = {}
    for c in COMPONENTS:
        value = raw.get(c)
        if isinstance(value, str):
            value = value.strip()
            if not value.isdigit():
                raise ValueError(f"{COMPONENT_LABELS[c]}: weight must be a whole number 0-100")
            value = int(value)
        if not isinstance(value, int) or not 0 <= value <= 100:
            raise ValueError(f"{COMPONENT_LABELS[c]}: weight must be a whole number 0-100")
        weights[c] = value
    if sum(weights.values()) == 0:
        raise ValueError("At least one weight must be above zero")
    return weights


def validate_bands(raw: dict) -> dict[str, int]:
    """Band floors must satisfy 0 < steady < healthy < thriving <= 100."""
    bands = {}
    for name in ("thriving", "healthy", "steady"):
        value = raw.get(name)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int):
            raise ValueError(f"{BAND_LABELS[name]}: lower bound must be a whole number")
        bands[name] = value
    if not 0 < bands["steady"] < bands["healthy"] < bands["thriving"] <= 100:
        raise ValueError("Band bounds must rise: 0 < Steady < Healthy < Thriving <= 100")
    return bands
