"""Predicted churn: labels, features, the model and its backtest, over arrays (no database).

analytics.churn loads an agency's stored history into a Panel and stores what comes out; the
bench (bench/churn.py) builds a Panel from a synthetic world. Definitions (also on the "Churn
prediction" page):

**Alive and ended.** On day D a sub-account is *ended* when it exists and either its lifecycle
(analytics.daystate) is not connected (GoCSM uninstalled, or the sub-account deleted in GHL) or
churned (its paid subscription ended: cancelled or gone, or its manual MRR set to 0 after paying),
or it paid before and its MRR on D is 0. It is *alive* when it exists and is not ended.

**Churn event.** A sub-account churns on day D when it was alive on D-1 and is ended on each of
the WINDOW (30) days D .. D+29. Reactivation within the window (alive again on any of those
days) undoes it: nothing churned then; if it ends again later, that later day is tested the same
way. So a churn on D is known on D+29, and a sub-account can churn again after coming back.

**Label.** For a day d on which the sub-account is alive and a horizon h (30, 60 or 90 days):
1 if it churns on a day in d+1 .. d+h, else 0. The label is known on d+h+29 (the last possible
churn day's window), so a model trained at a cutoff c only learns from days d with
d + h + 29 <= c, and its labels are computed from the history up to c only.

**Features** of (sub-account, d) read only days <= d of what GoCSM stores for the agency: the
health score and each stored component (any component present, e.g. sentiment where an agency
has it) with 7/30-day changes, the risk flags raised on d and how many of the last 30 days had
each, the rules' risk weight, own users' login recency (days since the last session, 7/14/30-day
steps), sessions over 7 and 30 days, their trend and how far they fell from their 180-day peak,
active days, login tiers, the share of the sub-account's people active in 30 days and its
60-day change, its number of users against 30 and 90 days before (seats removed), usage
(conversations created + appointments booked) over 30 days, its 14-, 30- and 90-day trend and
its fall from its 180-day peak (also on a log scale), usage, sessions and login days against
the sub-account's own previous 90 days and days since the last login against its usual gap
between logins (a team that logs in every other week is not declining after 10 quiet days; a
daily one is), the subscription status, past-due days, MRR and its 30/90-day change, tenure,
and a few products of those signals. Missing values count as neutral, with an indicator saying
they were missing.

**Model.** Features are standardised (mean 0, variance 1 over the training rows) and an
L2-regularised logistic regression is fitted on one row per alive sub-account per
week (the weekly grid ending on the cutoff, from day WARM_UP (60) of the stored history on, so
windows lie within it); above MAX_ROWS rows, non-churners are sampled and weighted back. The
penalty C is chosen per agency and fit on a time split inside the training rows: fitted on the
rows whose labels were known before the last VALIDATION_DAYS (91) training days, scored by AUC on
those last days, the best of PENALTIES (0.001 .. 0.3) wins (ties: the stronger); with fewer than
MIN_EVENTS churners on either side, C = 0.003 (strong, because what drives churn drifts and the
rows a model learns from are older than the day it predicts for). No class weighting: the
probabilities stay calibrated (expected MRR lost multiplies them by MRR). p = 1 /
(1 + exp(-logit)), logit = intercept + sum_j coef_j * z_j: each feature's contribution coef_j *
z_j is exact and, summed per driver with the intercept, gives the logit. A model needs at least
MIN_EVENTS (10) churn events within its training rows' horizons; with fewer (cold start) the
agency keeps the rule-based ranking, and so does a backtest cutoff.

**Rule-based ranking** (what the model is compared with): the risk weight of the flags raised
(analytics.risk), ties broken by the lower health score.

**At-risk threshold.** The model calls a sub-account at risk within h days when its probability
is at least AT_RISK_90 * h / 90 (20 % over 90 days, 13.3 % over 60, 6.7 % over 30).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

WINDOW = 30
HORIZONS = (30, 60, 90)
HORIZON = 90  # what the pages show
MIN_EVENTS = 10
AT_RISK_90 = 0.20
GRID_DAYS = 7
# The default penalty (when a time split inside the training rows cannot choose one): strong,
# because the rows a model learns from are older than the day it predicts for and what drives
# churn drifts.
C = 0.003
# The penalties choose_penalty tries on a time split inside an agency's training rows, and the
# days at the end of them it scores on.
PENALTIES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
VALIDATION_DAYS = 91
SELECT_PENALTY = True
PEAK_SPAN = 180
# Training rows start this many days into the stored history, so their 30- and 60-day windows
# lie within it (before it, sums would read days GoCSM never saw as zero use).
WARM_UP = 60
MAX_ROWS = 40_000  # training rows a fit uses at most (churners always kept)
TOP_SHARE = 0.10
MIN_TRAIN_DAYS = 90  # a backtest cutoff needs this much history before its training rows
CALIBRATION_BINS = (0.0, 0.05, 0.10, 0.20, 0.30, 0.50, 1.0)
STATUSES = ("", "active", "trialing", "past_due", "unpaid", "paused", "canceled", "none")
TIERS = ("heavy", "regular", "casual", "ghosting")


def at_risk_threshold(horizon: int) -> float:
    return AT_RISK_90 * horizon / 90


def expected_loss(probability: float | None, mrr_cents: int | None, mrr_source: str) -> int | None:
    """Expected MRR lost = probability x MRR (minor units); None when either is unknown (no
    prediction, or not billed in GHL and no manual figure)."""
    if probability is None or mrr_source == "none" or mrr_cents is None:
        return None
    return round(probability * mrr_cents)


@dataclass
class Panel:
    """An agency's stored history as (sub-account x day) arrays; day k is `start` + k.

    NaN marks what is not known (a component without data, an unknown MRR)."""

    locations: list[str]
    days: list  # the dates (or day numbers) of the columns, oldest first
    exists: np.ndarray  # bool: on or after the sub-account's first day
    ended: np.ndarray  # bool: see "Alive and ended"
    score: np.ndarray  # float, NaN: no score
    components: dict[str, np.ndarray]  # 0-100, NaN: no data
    flags: dict[str, np.ndarray]  # bool per flag code
    risk_weight: np.ndarray  # float: the rules' risk weight on the day (0 without flags)
    sessions: np.ndarray  # float: own users' sessions that day
    active_users: np.ndarray  # float: own users with a session that day
    tiers: dict[str, np.ndarray]  # own users per login tier on the day (TIERS)
    users: np.ndarray  # float: users of the sub-account (level), NaN unknown
    usage: np.ndarray  # float: conversations created + appointments booked that day
    mrr: np.ndarray  # float: counted MRR in major units, NaN unknown
    status: np.ndarray  # int8: index into STATUSES
    first: np.ndarray  # int: index of each sub-account's first day (may be < 0)
    tracked_from: int | None = None  # first day with tracker data (None: none)

    @property
    def n(self) -> int:
        return self.exists.shape[1]

    @property
    def alive(self) -> np.ndarray:
        return self.exists & ~self.ended

    def upto(self, cutoff: int) -> Panel:
        """The panel as it was known on day `cutoff` (columns 0..cutoff)."""
        k = cutoff + 1

        def cut(x):
            return x[:, :k]

        return Panel(
            locations=self.locations,
            days=self.days[:k],
            exists=cut(self.exists),
            ended=cut(self.ended),
            score=cut(self.score),
            components={c: cut(v) for c, v in self.components.items()},
            flags={c: cut(v) for c, v in self.flags.items()},
            risk_weight=cut(self.risk_weight),
            sessions=cut(self.sessions),
            active_users=cut(self.active_users),
            tiers={t: cut(v) for t, v in self.tiers.items()},
            users=cut(self.users),
            usage=cut(self.usage),
            mrr=cut(self.mrr),
            status=cut(self.status),
            first=self.first,
            tracked_from=self.tracked_from
            if self.tracked_from is None or self.tracked_from <= cutoff
            else None,
        )


# --- Labels -------------------------------------------------------------------------------------


def churn_events(exists: np.ndarray, ended: np.ndarray) -> np.ndarray:
    """(sub-account x day) True on each churn day (module docstring, "Churn event"). Days whose
    window runs past the last column are not known yet and are False."""
    n = ended.shape[1]
    alive = exists & ~ended
    was_alive = np.zeros_like(alive)
    was_alive[:, 1:] = alive[:, :-1]
    run = np.zeros((ended.shape[0], n + 1), dtype=np.int32)
    np.cumsum(ended, axis=1, out=run[:, 1:])
    held = np.zeros_like(ended)
    if n >= WINDOW:
        held[:, : n - WINDOW + 1] = (run[:, WINDOW:] - run[:, : n - WINDOW + 1]) == WINDOW
    return ended & was_alive & held


def labels(events: np.ndarray, rows: np.ndarray, cols: np.ndarray, horizon: int) -> np.ndarray:
    """1 where sub-account rows[k] churns on a day in cols[k]+1 .. cols[k]+horizon."""
    n = events.shape[1]
    c = np.zeros((events.shape[0], n + 1), dtype=np.int32)
    np.cumsum(events, axis=1, out=c[:, 1:])
    hi = np.minimum(cols + horizon + 1, n)
    return (c[rows, hi] - c[rows, np.minimum(cols + 1, n)]) > 0


def label_known(cols: np.ndarray, horizon: int, cutoff: int) -> np.ndarray:
    """Labels of day d are known on cutoff when d + horizon + WINDOW - 1 <= cutoff."""
    return cols + horizon + WINDOW - 1 <= cutoff


# --- Features -----------------------------------------------------------------------------------


class _Reader:
    """Values of panel arrays at (rows, cols), lagged, and sums over windows ending there."""

    def __init__(self, panel: Panel, rows: np.ndarray, cols: np.ndarray):
        self.p, self.rows, self.cols = panel, rows, cols
        # Cumulative sums per array, keyed by id() and holding the array itself: a temporary
        # array freed after one call could otherwise hand its id to the next one.
        self._sums: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def at(self, x: np.ndarray, lag: int = 0) -> np.ndarray:
        c = self.cols - lag
        out = x[self.rows, np.maximum(c, 0)].astype(np.float64)
        out[c < 0] = np.nan
        return out

    def total(self, x: np.ndarray, days: int, lag: int = 0) -> np.ndarray:
        """Sum of x over the `days` days ending `lag` days before each column (clipped at 0)."""
        key = id(x)
        if key not in self._sums or self._sums[key][0] is not x:
            s = np.zeros((x.shape[0], x.shape[1] + 1))
            np.cumsum(np.nan_to_num(x.astype(np.float64)), axis=1, out=s[:, 1:])
            self._sums[key] = (x, s)
        s = self._sums[key][1]
        hi = np.clip(self.cols - lag + 1, 0, None)
        lo = np.clip(self.cols - lag - days + 1, 0, None)
        return s[self.rows, hi] - s[self.rows, lo]

    def decline_from_peak(self, x: np.ndarray, days: int = 30, span: int = PEAK_SPAN) -> np.ndarray:
        """(sum over the last `days` days - its highest value over the `span` days before) /
        (that highest + 1): 0 at its peak, towards -1 as it falls from it. Trailing windows
        only: nothing after the day is read."""
        from scipy.ndimage import maximum_filter1d

        c = np.zeros((x.shape[0], x.shape[1] + 1))
        np.cumsum(np.nan_to_num(x.astype(np.float64)), axis=1, out=c[:, 1:])
        idx = np.arange(x.shape[1])
        sums = c[:, idx + 1] - c[:, np.maximum(idx - days + 1, 0)]
        size = 2 * (span // 2) + 1  # odd: the window is [d - size + 1, d]
        peak = maximum_filter1d(sums, size=size, axis=1, origin=size // 2, mode="nearest")
        now = sums[self.rows, self.cols]
        top = peak[self.rows, self.cols]
        return (now - top) / (top + 1.0)

    def log_from_peak(self, x: np.ndarray, days: int = 30, span: int = PEAK_SPAN) -> np.ndarray:
        """log(1 + sum over the last `days` days) - log(1 + its highest value over the `span`
        days before): 0 at its peak, negative below it, on the scale of a ratio. Trailing
        windows only."""
        from scipy.ndimage import maximum_filter1d

        c = np.zeros((x.shape[0], x.shape[1] + 1))
        np.cumsum(np.nan_to_num(x.astype(np.float64)), axis=1, out=c[:, 1:])
        idx = np.arange(x.shape[1])
        sums = c[:, idx + 1] - c[:, np.maximum(idx - days + 1, 0)]
        size = 2 * (span // 2) + 1
        peak = maximum_filter1d(sums, size=size, axis=1, origin=size // 2, mode="nearest")
        return np.log1p(sums[self.rows, self.cols]) - np.log1p(peak[self.rows, self.cols])

    def since_last(self, active: np.ndarray) -> np.ndarray:
        """Days since the last day `active` was True, on or before each column (NaN: never)."""
        n = active.shape[1]
        last = np.where(active, np.arange(n), -1)
        np.maximum.accumulate(last, axis=1, out=last)
        got = last[self.rows, self.cols]
        return np.where(got >= 0, self.cols - got, np.nan).astype(np.float64)


def _trend(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """(now - before) / (now + before + 1): -1 .. 1, 0 when flat or both empty."""
    return (now - before) / (now + before + 1.0)


def _neutral(x: np.ndarray, value: float = 0.0) -> np.ndarray:
    return np.where(np.isnan(x), value, x)


@dataclass
class Features:
    names: list[str]
    groups: list[str]  # the driver each feature belongs to (what a page shows)
    X: np.ndarray


def features(panel: Panel, rows: np.ndarray, cols: np.ndarray, labels_of: dict) -> Features:
    """The feature rows of (rows[k], cols[k]) pairs; every value reads days <= cols[k] only.
    `labels_of`: {component or flag code: label} for the driver names."""
    r = _Reader(panel, rows, cols)
    names: list[str] = []
    groups: list[str] = []
    cols_out: list[np.ndarray] = []

    def add(name: str, group: str, value: np.ndarray) -> None:
        names.append(name)
        groups.append(group)
        cols_out.append(np.asarray(value, dtype=np.float64))

    score = r.at(panel.score) / 100
    add("score", "Health score", _neutral(score, 0.5))
    add("score_missing", "Health score", np.isnan(score))
    add("score_change_7", "Health score", _neutral(score - r.at(panel.score, 7) / 100))
    add("score_change_30", "Health score", _neutral(score - r.at(panel.score, 30) / 100))
    for comp in sorted(panel.components):
        x = panel.components[comp]
        label = labels_of.get(comp, comp.replace("_", " ").capitalize())
        now = r.at(x) / 100
        add(f"{comp}", label, _neutral(now, 0.5))
        add(f"{comp}_missing", label, np.isnan(now))
        add(f"{comp}_change_30", label, _neutral(now - r.at(x, 30) / 100))
    for code in sorted(panel.flags):
        label = labels_of.get(code, code)
        f = panel.flags[code]
        add(f"flag_{code}", label, r.at(f) > 0)
        add(f"flag_{code}_days_30", label, r.total(f, 30) / 30)
    add("risk_weight", "Risk signals", r.at(panel.risk_weight))

    # Logins: meaningful only once the agency has tracker data.
    tracked = (
        np.zeros(len(cols), dtype=bool)
        if panel.tracked_from is None
        else cols >= panel.tracked_from
    )
    quiet = r.since_last(panel.sessions > 0)
    age = cols - panel.first[rows]
    watched = np.where(
        tracked, np.maximum(cols - np.maximum(panel.first[rows], panel.tracked_from or 0), 0), 0
    ).astype(np.float64)
    quiet = np.where(np.isnan(quiet), watched, quiet)  # never logged in: quiet since watched
    quiet = np.where(tracked, np.minimum(quiet, 180), 0)
    add("login_quiet_log", "Login recency", np.log1p(quiet) / np.log1p(180))
    for step in (7, 14, 30, 60):
        add(f"login_quiet_{step}", "Login recency", tracked & (quiet >= step))
    add("login_untracked", "Login recency", ~tracked)
    s7, s30 = r.total(panel.sessions, 7), r.total(panel.sessions, 30)
    s_prev = r.total(panel.sessions, 30, lag=30)
    add("sessions_7_log", "Logins", np.log1p(s7))
    add("sessions_30_log", "Logins", np.log1p(s30))
    add("sessions_trend", "Logins", _trend(s30, s_prev))
    add("sessions_trend_7", "Logins", _trend(s7 * 30 / 7, s30))
    users = _neutral(r.at(panel.users), 0)
    a30 = r.total(panel.active_users, 30)
    add("active_user_days_share", "Logins", a30 / (30 * np.maximum(users, 1)))
    tier_total = sum(r.at(panel.tiers[t]) for t in TIERS)
    tier_total = _neutral(tier_total, 0)
    for t in TIERS:
        add(
            f"tier_{t}",
            "Login tiers",
            _neutral(r.at(panel.tiers[t]), 0) / np.maximum(tier_total, 1),
        )
    # People active in the last 30 days (every tier counts a person seen then) per user, and
    # how that share moved over 60 days: people leaving one by one show here first.
    seen_then = _neutral(sum(r.at(panel.tiers[t], 60) for t in TIERS), 0)
    users_then = _neutral(r.at(panel.users, 60), 0)
    share_now = np.minimum(tier_total / np.maximum(users, 1), 1)
    share_then = np.minimum(seen_then / np.maximum(users_then, 1), 1)
    add("people_active_share", "Active people", share_now)
    add("people_active_change_60", "Active people", share_now - share_then)
    add("people_active_log", "Active people", np.log1p(tier_total))
    # Seats removed: a client cutting its GHL users down is winding down before it cancels.
    for lag in (30, 90):
        then = r.at(panel.users, lag)
        add(
            f"users_change_{lag}",
            "Users",
            _neutral(np.log1p(np.maximum(users, 0)) - np.log1p(np.maximum(then, 0))),
        )

    u30, u_prev = r.total(panel.usage, 30), r.total(panel.usage, 30, lag=30)
    u7 = r.total(panel.usage, 7)
    add("usage_30_log", "Usage", np.log1p(u30))
    add("usage_trend", "Usage", _trend(u30, u_prev))
    add("usage_trend_7", "Usage", _trend(u7 * 30 / 7, u30))
    add("usage_trend_90", "Usage", _trend(u30, r.total(panel.usage, 30, lag=90)))
    add("usage_from_peak", "Usage", r.decline_from_peak(panel.usage))
    add("sessions_from_peak", "Logins", r.decline_from_peak(panel.sessions))
    # Against the sub-account's own habit (the 90 days before the last 30): a team that logs in
    # every other week is not declining when it has not logged in for 10 days; one that logged
    # in daily is.
    u_hist = r.total(panel.usage, 90, lag=30) / 3
    s_hist = r.total(panel.sessions, 90, lag=30) / 3
    add("usage_vs_own_90", "Usage", np.log1p(u30) - np.log1p(u_hist))
    add("sessions_vs_own_90", "Logins", np.log1p(s30) - np.log1p(s_hist))
    add("usage_log_from_peak", "Usage", r.log_from_peak(panel.usage))
    add("sessions_log_from_peak", "Logins", r.log_from_peak(panel.sessions))
    u14, u14_prev = r.total(panel.usage, 14), r.total(panel.usage, 14, lag=14)
    add("usage_slope_14", "Usage", np.log1p(u14) - np.log1p(u14_prev))
    logged_in = panel.sessions > 0
    login_days = r.total(logged_in, 30)
    login_days_hist = r.total(logged_in, 90, lag=30) / 3
    add("login_days_30", "Logins", login_days / 30)
    add("login_days_vs_own_90", "Logins", np.log1p(login_days) - np.log1p(login_days_hist))
    usual_gap = 30 / (login_days_hist + 1)  # days between logins in its usual month
    add(
        "login_quiet_vs_usual",
        "Login recency",
        np.where(tracked, np.log1p(quiet) - np.log1p(usual_gap), 0),
    )

    status = panel.status[rows, cols]
    for k, s in enumerate(STATUSES):
        if s:
            add(f"status_{s}", "Subscription status", status == k)
    trouble = np.isin(panel.status, [STATUSES.index("past_due"), STATUSES.index("unpaid")])
    past_due_60 = r.total(trouble, 60) / 60
    add("past_due_days_60", "Subscription status", past_due_60)
    mrr = r.at(panel.mrr)
    add("mrr_log", "MRR", np.log1p(_neutral(np.maximum(mrr, 0), 0)))
    add("mrr_unknown", "MRR", np.isnan(mrr))
    for lag in (30, 90):
        then = r.at(panel.mrr, lag)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(then > 0, (mrr - then) / then, np.nan)
        add(f"mrr_change_{lag}", "MRR change", np.clip(_neutral(change), -1, 1))

    add("tenure_log", "Tenure", np.log1p(np.maximum(age, 0)) / np.log1p(730))
    add("tenure_under_90", "Tenure", age < 90)

    # A few interactions: signals that matter more together than apart.
    quiet_n = np.log1p(quiet) / np.log1p(180)
    use_tr = _trend(u30, u_prev)
    sess_tr = _trend(s30, s_prev)
    add("quiet_x_usage_down", "Logins and usage", quiet_n * np.maximum(-use_tr, 0))
    add("quiet_x_past_due", "Logins and payments", quiet_n * past_due_60)
    add("usage_down_x_past_due", "Usage and payments", np.maximum(-use_tr, 0) * past_due_60)
    add(
        "sessions_down_x_usage_down",
        "Logins and usage",
        np.maximum(-sess_tr, 0) * np.maximum(-use_tr, 0),
    )
    add(
        "score_x_drop",
        "Health score",
        _neutral(score, 0.5) * _neutral(score - r.at(panel.score, 30) / 100),
    )

    X = np.column_stack(cols_out) if cols_out else np.zeros((len(rows), 0))
    return Features(names, groups, X)


def rule_rank_score(panel: Panel, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The rule-based ranking's key (higher = riskier): risk weight, then the lower score."""
    score = panel.score[rows, cols].astype(np.float64)
    return panel.risk_weight[rows, cols] + (100 - _neutral(score, 50)) / 1000


# --- Model --------------------------------------------------------------------------------------


@dataclass
class Model:
    """A fitted model as plain numbers (stored as JSON, applied with numpy)."""

    names: list[str]
    groups: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    horizon: int
    events: int = 0
    rows: int = 0
    penalty: float = C

    def logit(self, X: np.ndarray) -> np.ndarray:
        return self.intercept + self.standardise(X) @ self.coef

    def standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def predict(self, X: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.logit(X)))

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        """Each driver's share of one row's logit (coef x standardised value, summed per
        group); with the intercept they add up to the logit exactly."""
        per_feature = self.standardise(x.reshape(1, -1))[0] * self.coef
        out: dict[str, float] = {}
        for g, v in zip(self.groups, per_feature, strict=True):
            out[g] = out.get(g, 0.0) + float(v)
        return out

    def as_json(self) -> dict:
        return {
            "names": self.names,
            "groups": self.groups,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "horizon": self.horizon,
            "events": self.events,
            "rows": self.rows,
            "penalty": self.penalty,
        }

    @classmethod
    def from_json(cls, data: dict) -> Model:
        return cls(
            names=list(data["names"]),
            groups=list(data["groups"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
            horizon=int(data["horizon"]),
            events=int(data.get("events", 0)),
            rows=int(data.get("rows", 0)),
            penalty=float(data.get("penalty", C)),
        )


def _weighted_sample(X, y, seed: int = 0):
    """Above MAX_ROWS rows every churner is kept and the others are sampled (the same draw for
    the same data), weighted by the inverse of their sampling rate so the probabilities stay
    calibrated. Returns (kept row mask, weights of the kept rows)."""
    keep = np.ones(len(y), dtype=bool)
    weight = np.ones(len(y))
    positives = int(y.sum())
    if len(y) > MAX_ROWS and positives < MAX_ROWS // 2:
        rate = (MAX_ROWS - positives) / (len(y) - positives)
        keep = (y == 1) | (np.random.default_rng(seed).random(len(y)) < rate)
        weight = np.where(y == 1, 1.0, 1.0 / rate)
    return keep, weight[keep]


def _fit_standardised(X, y, weight, penalty: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        # A constant feature's weighted variance may round below 0 (sqrt warns); it is set to
        # 1 just below.
        warnings.simplefilter("ignore", RuntimeWarning)
        scaler = StandardScaler().fit(X, sample_weight=weight)
    mean = scaler.mean_.astype(np.float64)
    # A feature constant over the rows (or whose weighted variance rounds below 0) divides by 1.
    scale = np.asarray(scaler.scale_, dtype=np.float64)
    scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
    Z = (X - mean) / scale
    lr = LogisticRegression(C=penalty, max_iter=2000).fit(Z, y, sample_weight=weight)
    return mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def choose_penalty(X: np.ndarray, y: np.ndarray, days: np.ndarray, horizon: int) -> float:
    """The penalty C (PENALTIES) that ranked best on a time split inside the training rows: fit
    on the rows whose labels were known VALIDATION_DAYS before the last training day, score
    AUC on the rows of those last VALIDATION_DAYS (their label windows start after every
    fitting row's ended). The default C when the split leaves fewer than MIN_EVENTS churners
    on either side. Ties go to the stronger penalty."""
    y = y.astype(int)
    last = int(days.max()) if len(days) else 0
    valid = days > last - VALIDATION_DAYS
    fit_rows = days + horizon + WINDOW - 1 <= last - VALIDATION_DAYS
    if y[valid].sum() < MIN_EVENTS or y[fit_rows].sum() < MIN_EVENTS or y[valid].all():
        return C
    Xf, yf = X[fit_rows], y[fit_rows]
    keep, weight = _weighted_sample(Xf, yf)
    best, best_auc = C, -1.0
    for penalty in PENALTIES:
        mean, scale, coef, intercept = _fit_standardised(Xf[keep], yf[keep], weight, penalty)
        score = auc(y[valid], ((X[valid] - mean) / scale) @ coef + intercept)
        if score is not None and score > best_auc + 1e-3:
            best, best_auc = penalty, score
    return best


def fit(
    feats: Features,
    y: np.ndarray,
    horizon: int,
    events: int,
    days: np.ndarray | None = None,
) -> Model:
    """Standardise, then an L2-regularised logistic regression (scikit-learn). Its penalty C is
    chosen by choose_penalty when the rows' days are given, else the default C. Above MAX_ROWS
    rows churners are all kept and the others sampled and weighted back (_weighted_sample)."""
    X, y = feats.X, y.astype(int)
    penalty = C if days is None else choose_penalty(X, y, np.asarray(days), horizon)
    keep, weight = _weighted_sample(X, y)
    mean, scale, coef, intercept = _fit_standardised(X[keep], y[keep], weight, penalty)
    return Model(
        names=feats.names,
        groups=feats.groups,
        mean=mean,
        scale=scale,
        coef=coef,
        intercept=intercept,
        horizon=horizon,
        events=events,
        rows=len(feats.X),
        penalty=penalty,
    )


# --- Training sets ------------------------------------------------------------------------------


@dataclass
class TrainingSet:
    rows: np.ndarray
    cols: np.ndarray
    y: np.ndarray
    events: int  # churn events within the labelled rows' horizons


def grid_days(cutoff: int, first: int = 0) -> np.ndarray:
    """The weekly grid ending on `cutoff`: cutoff, cutoff - 7, ... >= first."""
    return np.arange(cutoff, first - 1, -GRID_DAYS)[::-1]


def training_set(panel: Panel, cutoff: int, horizon: int) -> TrainingSet:
    """Rows (alive sub-account, grid day d) with d + horizon + WINDOW - 1 <= cutoff, labelled
    from the history up to the cutoff only (the panel is cut there first)."""
    known = panel.upto(cutoff)
    events = churn_events(known.exists, known.ended)
    days = grid_days(cutoff, WARM_UP)
    days = days[label_known(days, horizon, cutoff)]
    alive = known.alive[:, days]
    li, di = np.nonzero(alive)
    rows, cols = li, days[di]
    y = labels(events, rows, cols, horizon)
    # Churn events the labels can see: on days up to the last labelled row's horizon.
    seen = int(cols.max()) + horizon + 1 if len(cols) else 0
    counted = int(events[np.unique(rows), :seen].sum()) if len(rows) else 0
    return TrainingSet(rows, cols, y, counted)


# --- Backtest -----------------------------------------------------------------------------------


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if y.min(initial=1) == y.max(initial=0):
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def top_precision(y: np.ndarray, key: np.ndarray, share: float = TOP_SHARE) -> float:
    """Share of churners among the `share` highest keys (stable order on ties)."""
    k = max(1, math.ceil(share * len(y)))
    order = np.argsort(-key, kind="stable")[:k]
    return float(y[order].mean())


@dataclass
class CutoffResult:
    cutoff: int
    day: str
    horizon: int
    alive: int
    churned: int
    auc: float | None
    rules_auc: float | None
    precision: float | None
    recall: float | None
    rules_precision: float | None
    rules_recall: float | None
    top_model: float
    top_rules: float
    events: int


@dataclass
class Backtest:
    results: list[CutoffResult] = field(default_factory=list)
    skipped: list[tuple[str, int, int]] = field(default_factory=list)  # (day, horizon, events)
    pooled: dict[int, dict] = field(default_factory=dict)
    calibration: dict[int, list[dict]] = field(default_factory=dict)
    seconds_training: float = 0.0


def month_starts(days: list) -> list[int]:
    """Column indexes of the first day of each month (days are dates)."""
    return [k for k, d in enumerate(days) if getattr(d, "day", None) == 1]


def backtest(
    panel: Panel,
    cutoffs: list[int] | None = None,
    horizons=HORIZONS,
    labels_of: dict | None = None,
) -> Backtest:
    """Roll the cutoff month by month: train on what was known at it, predict churn within each
    horizon for the sub-accounts alive at it, and compare with what happened."""
    import time

    labels_of = labels_of or {}
    if cutoffs is None:
        cutoffs = month_starts(panel.days)
    cutoffs = [c for c in cutoffs if c >= MIN_TRAIN_DAYS + min(horizons) + WINDOW]
    truth = churn_events(panel.exists, panel.ended)
    out = Backtest()
    # Features read days <= their own column, so one pass over every day needed serves every
    # cutoff: a training row of day d is the same whichever later cutoff trains on it.
    need = set()
    for c in cutoffs:
        need.update(grid_days(c).tolist())
        need.add(c)
    days = np.array(sorted(need))
    alive = panel.alive[:, days]
    li, di = np.nonzero(alive)
    all_rows, all_cols = li, days[di]
    feats = features(panel, all_rows, all_cols, labels_of)
    index = np.full(panel.alive.shape, -1, dtype=np.int64)
    index[all_rows, all_cols] = np.arange(len(all_rows))
    pooled: dict[int, list] = {h: [] for h in horizons}
    for c in cutoffs:
        for h in horizons:
            if c + h + WINDOW > panel.n:
                continue  # the outcome is not known yet
            ts = training_set(panel, c, h)
            if ts.events < MIN_EVENTS or ts.y.sum() == 0 or ts.y.all():
                out.skipped.append((_label(panel.days[c]), h, ts.events))
                continue
            take = index[ts.rows, ts.cols]
            started = time.perf_counter()
            model = fit(
                Features(feats.names, feats.groups, feats.X[take]),
                ts.y,
                h,
                ts.events,
                days=ts.cols if SELECT_PENALTY else None,
            )
            out.seconds_training += time.perf_counter() - started
            now = np.nonzero(all_cols == c)[0]
            rows = all_rows[now]
            y = labels(truth, rows, np.full(len(rows), c), h)
            if len(rows) == 0:
                continue
            p = model.predict(feats.X[now])
            rules = rule_rank_score(panel, rows, np.full(len(rows), c))
            flagged = panel.risk_weight[rows, c] > 0
            t = at_risk_threshold(h)
            out.results.append(
                CutoffResult(
                    cutoff=c,
                    day=_label(panel.days[c]),
                    horizon=h,
                    alive=len(rows),
                    churned=int(y.sum()),
                    auc=auc(y, p),
                    rules_auc=auc(y, rules),
                    precision=_ratio(((p >= t) & y).sum(), (p >= t).sum()),
                    recall=_ratio(((p >= t) & y).sum(), y.sum()),
                    rules_precision=_ratio((flagged & y).sum(), flagged.sum()),
                    rules_recall=_ratio((flagged & y).sum(), y.sum()),
                    top_model=top_precision(y, p),
                    top_rules=top_precision(y, rules),
                    events=ts.events,
                )
            )
            pooled[h].append((y, p, rules, flagged))
    for h, parts in pooled.items():
        if not parts:
            continue
        y = np.concatenate([a for a, *_ in parts])
        p = np.concatenate([b for _a, b, *_ in parts])
        rules = np.concatenate([c for _a, _b, c, _f in parts])
        flagged = np.concatenate([f for *_x, f in parts])
        t = at_risk_threshold(h)
        mine = [r for r in out.results if r.horizon == h]
        out.pooled[h] = {
            "cutoffs": len(parts),
            "rows": len(y),
            "churned": int(y.sum()),
            "auc": auc(y, p),
            "rules_auc": auc(y, rules),
            "precision": _ratio(((p >= t) & y).sum(), (p >= t).sum()),
            "recall": _ratio(((p >= t) & y).sum(), y.sum()),
            "rules_precision": _ratio((flagged & y).sum(), flagged.sum()),
            "rules_recall": _ratio((flagged & y).sum(), y.sum()),
            # Top 10 % is taken per cutoff (the list a user would have seen), then averaged.
            "top_model": float(np.mean([r.top_model for r in mine])),
            "top_rules": float(np.mean([r.top_rules for r in mine])),
            "threshold": t,
        }
        out.calibration[h] = calibration(y, p)
    return out


def calibration(y: np.ndarray, p: np.ndarray) -> list[dict]:
    """Predicted vs observed churn per probability bin (CALIBRATION_BINS)."""
    out = []
    for lo, hi in itertools.pairwise(CALIBRATION_BINS):
        inside = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        n = int(inside.sum())
        out.append(
            {
                "bin": f"{lo * 100:.0f}-{hi * 100:.0f} %",
                "rows": n,
                "predicted": float(p[inside].mean()) if n else None,
                "observed": float(y[inside].mean()) if n else None,
            }
        )
    return out


def _ratio(a, b) -> float | None:
    return None if not b else float(a) / float(b)


def _label(day) -> str:
    return day.isoformat() if hasattr(day, "isoformat") else str(day)
