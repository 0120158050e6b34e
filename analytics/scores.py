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
   summed over the window; sessions count only when the agency's tracker data starts on or
   before D-59 (it covered both W and P: otherwise P would hold no sessions and every
   sub-account would look like it doubled its use). No data unless the sub-account's first fact
   or activity day is on or before D-59 (P lies wholly in its history: days before it existed
   are not zero use). If V(P) = 0: 100 when V(W) > 0, else 0. Otherwise
   clamp(50 + 50 * (V(W) - V(P)) / V(P), 0, 100)  (flat = 50, halved = 25, doubled = 100).
4. Revenue status: s = level(subscription_status, D); no data if unknown or "none". Base points
   active 100, trialing 70, past_due 30, paused 20, unpaid 10, canceled 0. If m1 =
   level(mrr_cents, D) and m0 = level(mrr_cents, D-30) are both > 0 in the same currency:
   clamp(base + 50 * (m1 - m0) / m0, 0, 100), else base.
5. Growth: for each of users_total, workflows_total, calendars_total, products_total with both
   level(x, D) and level(x, D-30) known: g = clamp((now - then) / max(then, 1), -1, 1).
   Growth = 50 + 50 * mean(g). No metric known at both ends -> no data.
6. Sentiment (the in-app NPS prompt; analytics.models.NpsResponse): for each own user of the
   sub-account, their latest answer (a rating 0-10; dismissals do not count) given on a day in
   D-179..D, of age a = D - the answer's day (0..179 days). Its value v = 10 * rating (0 -> 0,
   7 -> 70, 10 -> 100) and its weight w = 0.5 ** (a / 90) (half-life decay: an answer given on
   D weighs 1, one 90 days old 0.5, one 179 days old about 0.25; older ones are not read).
   Sentiment = sum(w * v) / sum(w) over those users. No user with such an answer -> no data.
   Example: a 10 given on D and a 2 given 90 days before D: (1*100 + 0.5*20) / 1.5 = 73.33.

Default weights (editable on the settings page): login 30, adoption 25, engagement 20, revenue 15,
growth 10, sentiment 25. Where sentiment has data it is 25/125, a fifth of the score; where it has
none the other five share the score exactly as they did before sentiment existed.
Score = sum(w_c * C_c) / sum(w_c) over the components that have data (a component without data
is left out and its weight shared by the rest, never counted as zero), rounded half up to an
integer. Contribution of c = w_c * C_c / sum(w_c) (stored to 2 decimals; they add up to the
unrounded score). No component with data -> no score that day.
Bands (defaults, configurable): Thriving 76-100, Healthy 51-75, Steady 26-50, Critical 0-25.
"At risk" is not a band: a sub-account is at risk when a churn-risk flag is raised on it, and a
score in the Critical band is one of those flags (analytics.risk).

Scored days: a sub-account gets a score (and flags and alerts) only on the days it may be
scored: from its first day with facts or activity on. Before it existed for us (no facts and
no activity yet) it has no score, not a score of 0.
Settings in force: every day is scored with the weights and bands in force on that day, whoever
recomputes it. Saving new settings writes a marker on the score history; the marker's day is
the first day the new settings apply, and the days before it keep the settings (and so the
scores) they had. Several changes on one day: the latest one counts.
"""

from __future__ import annotations

import functools

import numpy as np

from analytics import risk
from analytics.models import ADOPTION_FEATURES

# What the settings page shows: these definitions, then the risk flags' and alerts'.
DEFINITIONS = f"{__doc__}\n{risk.__doc__}"

COMPONENTS = ("login_activity", "adoption", "engagement", "revenue", "growth", "sentiment")
COMPONENT_LABELS = {
    "login_activity": "Login activity",
    "adoption": "Adoption breadth",
    "engagement": "Engagement trend",
    "revenue": "Revenue status",
    "growth": "Growth",
    "sentiment": "Sentiment (NPS)",
}
DEFAULT_WEIGHTS = {
    "login_activity": 30,
    "adoption": 25,
    "engagement": 20,
    "revenue": 15,
    "growth": 10,
    # 25 of 125 = a fifth of the score where sentiment has data; without answers it is left out
    # and the other five keep the shares they always had.
    "sentiment": 25,
}
# Lowest score of each band; below steady is "at risk".
DEFAULT_BANDS = {"thriving": 76, "healthy": 51, "steady": 26}
BANDS = ("thriving", "healthy", "steady", "at_risk")
BAND_LABELS = {
    "thriving": "Thriving",
    "healthy": "Healthy",
    "steady": "Steady",
    # The lowest band (key at_risk, kept for stored rows) reads "Critical": "at risk" names the
    # set of sub-accounts with a churn-risk flag (analytics.risk), one meaning only.
    "at_risk": "Critical",
}
BAND_RANK = {"at_risk": 0, "steady": 1, "healthy": 2, "thriving": 3}
BAND_OF_RANK = ("at_risk", "steady", "healthy", "thriving")

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

# Arrays are (sub-account x day); NaN means "no data" (a component) or "not known" (a level).


def masked_division(rule):
    """Each formula divides over every cell and then keeps only the cells where the definition
    applies (np.where): a division by zero elsewhere is expected and not worth a warning."""

    @functools.wraps(rule)
    def evaluate(*args, **kwargs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return rule(*args, **kwargs)

    return evaluate


def tier_for_share(share: float) -> str:
    """Activity tier for the share of the last 30 days a user was active (0..1)."""
    for name, floor, _points in TIERS:
        if share >= floor:
            return name
    return "ghosting"


_POINTS_OF_TIER = {name: points for name, _floor, points in TIERS}
# Tier points of a user active on d of the 30 days of W, d = 0..30 (0: not active, no points).
_TIER_POINTS_BY_DAYS = np.array(
    [0] + [_POINTS_OF_TIER[tier_for_share(d / WINDOW)] for d in range(1, WINDOW + 1)]
)


def tier_points(days_active: np.ndarray) -> np.ndarray:
    """Tier points of each user from their days active in W (0 for users not seen in W)."""
    return _TIER_POINTS_BY_DAYS[days_active]


def clamp(x, lo: float = 0.0, hi: float = 100.0):
    return np.clip(x, lo, hi)


@masked_division
def login_activity(tracked, users, active, days_since_login, tier_points_sum):
    """Component 1. `users`: level(users_total); `active`: A; `days_since_login`: r (NaN when
    no own session is known); `tier_points_sum`: the tier points of the users active in W."""
    n = np.maximum(np.nan_to_num(users), active)
    recency = np.where(
        np.isnan(days_since_login), 0.0, 100 * np.maximum(0, WINDOW - days_since_login) / WINDOW
    )
    tier = tier_points_sum / n
    login = 0.4 * (100 * active / n) + 0.3 * recency + 0.3 * tier
    return np.where(tracked & (n > 0), login, np.nan)


def adoption_features(
    *,
    tracked,
    workflows_published,
    calendars_active,
    booked,
    products_total,
    conversations_total,
    created,
    created_known,
    subscription_paying,
    subscription_known,
    reputation_minutes,
):
    """Component 2's features, as (known, used) boolean arrays stacked in ADOPTION_FEATURES
    order. Levels are level(x, D); booked, created and reputation_minutes are sums over W and
    created_known says a conversations_created count is known in W."""
    features = {
        "workflows": (~np.isnan(workflows_published), workflows_published > 0),
        "calendars": (~np.isnan(calendars_active), (calendars_active > 0) & (booked > 0)),
        "products": (~np.isnan(products_total), products_total > 0),
        "conversations": (
            created_known | ~np.isnan(conversations_total),
            np.where(created_known, created > 0, conversations_total > 0),
        ),
        "payments": (subscription_known, subscription_paying),
        "reputation": (np.broadcast_to(tracked, created.shape), reputation_minutes > 0),
    }
    known = np.stack([features[f][0] for f in ADOPTION_FEATURES])
    used = np.stack([features[f][1] for f in ADOPTION_FEATURES]) & known
    return known, used


@masked_division
def adoption(known, used):
    """Component 2 = 100 * used / known; no feature known -> no data."""
    n_known = known.sum(axis=0)
    return np.where(n_known > 0, 100 * used.sum(axis=0) / n_known, np.nan)


@masked_division
def engagement(v_now, v_prev, has_history):
    """Component 3 from V(W) = v_now and V(P) = v_prev."""
    trend = clamp(50 + 50 * (v_now - v_prev) / v_prev)
    value = np.where(v_prev == 0, np.where(v_now > 0, 100.0, 0.0), trend)
    return np.where(has_history, value, np.nan)


def status_points(status_codes, labels: list[str]):
    """Base points of level(subscription_status) (NaN when unknown, "none" or unlisted)."""
    table = np.array([STATUS_POINTS.get(label, np.nan) for label in labels] + [np.nan])
    return table[status_codes]  # code -1 (not known) reads the trailing NaN


@masked_division
def revenue(base_points, mrr_now, mrr_then):
    """Component 4. `mrr_then` is NaN when unknown or in another currency than `mrr_now`."""
    change = clamp(base_points + 50 * (mrr_now - mrr_then) / mrr_then)
    return np.where((mrr_now > 0) & (mrr_then > 0), change, base_points)


@masked_division
def growth(now, then):
    """Component 5 from level(x, D) and level(x, D-30) of GROWTH_METRICS, stacked."""
    change = clamp((now - then) / np.maximum(then, 1), -1.0, 1.0)
    known = ~np.isnan(change)
    n_known = known.sum(axis=0)
    mean = 50 + 50 * python_sum(np.where(known, change, 0.0)) / np.maximum(n_known, 1)
    return np.where(n_known > 0, mean, np.nan)


SENTIMENT_WINDOW = 180  # days D-179..D
SENTIMENT_HALF_LIFE = 90


def answer_weight(age):
    """Weight of an answer `age` days old (0 outside 0..SENTIMENT_WINDOW-1 or where NaN)."""
    age = np.asarray(age, dtype=float)
    inside = (age >= 0) & (age < SENTIMENT_WINDOW)
    return np.where(inside, 0.5 ** (np.where(inside, age, 0) / SENTIMENT_HALF_LIFE), 0.0)


def nps_value(rating):
    """An NPS rating 0-10 on the 0-100 scale of the components."""
    return 10.0 * np.asarray(rating, dtype=float)


@masked_division
def sentiment(weighted_sum, weight_sum):
    """Component 6 from sum(w * v) and sum(w) over the users' latest answers (sentiment_sums)."""
    return np.where(weight_sum > 0, weighted_sum / weight_sum, np.nan)


def sentiment_sums(ratings, ages, rows, n_rows):
    """sum(w * v) and sum(w) per row (sub-account) and day from each user's latest rating and its
    age on each day (user x day arrays, NaN where the user has no answer yet); `rows` maps each
    user to their sub-account's row."""
    w = answer_weight(np.where(np.isnan(ages), -1, ages))
    wv = w * nps_value(np.nan_to_num(ratings))
    shape = (n_rows, ratings.shape[1])
    weighted, weights = np.zeros(shape), np.zeros(shape)
    np.add.at(weighted, rows, wv)
    np.add.at(weights, rows, w)
    return weighted, weights


@masked_division
def combine(components, weights):
    """Score and contributions from the components (stacked in COMPONENTS order) and each
    day's weights (COMPONENTS x day).

    Returns (score, contributions): score is -1 where no component with a positive weight has
    data; a contribution is NaN where its component is left out."""
    w = weights[:, None, :]
    counted = ~np.isnan(components) & (w > 0)
    total = np.where(counted, w, 0).sum(axis=0)
    contributions = np.where(counted, w * components / np.where(total > 0, total, 1), np.nan)
    unrounded = python_sum(np.nan_to_num(contributions))
    return np.where(total > 0, round_half_up(unrounded), -1), contributions


def round_half_up(x):
    """Round to the nearest integer, halves up (x >= 0; x - floor(x) is exact)."""
    whole = np.floor(x)
    return (whole + (x - whole >= 0.5)).astype(np.int64)


def python_sum(terms):
    """Sum over the first axis as Python's built-in sum() adds floats (Neumaier's compensated
    summation, Python 3.12+): a score is the sum of its contributions to the last bit, exactly
    as every earlier implementation computed and stored it. Zero terms change nothing."""
    total = np.zeros(terms.shape[1:])
    compensation = np.zeros(terms.shape[1:])
    for x in terms:
        t = total + x
        compensation += np.where(np.abs(total) >= np.abs(x), (total - t) + x, (x - t) + total)
        total = t
    return total + compensation


def band_rank(score, floors):
    """BAND_RANK of each score under each day's band floors (thriving, healthy, steady)."""
    thriving, healthy, steady = floors
    return np.select([score >= thriving, score >= healthy, score >= steady], [3, 2, 1], 0)


def band_for(score: int, bands: dict[str, int] | None = None) -> str:
    b = bands or DEFAULT_BANDS
    floors = (b["thriving"], b["healthy"], b["steady"])
    return BAND_OF_RANK[int(band_rank(np.asarray(score), floors))]


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
