"""A chunk of sub-accounts' daily history as arrays, shaped for the score definitions.

Every array is (sub-account x day): row k is `locs[k]`, column j is day `base + j`. The read
covers days base..last, i.e. the recomputed range and the LOOKBACK days before it, so every
30-day window (W) and the 30 days before it (P) of a recomputed day lie inside it.

- level(x): the latest known value of fact x on or before the day (NaN, or -1 for text facts,
  until the first known one); values older than `base` are not seen.
- flows are summed over windows with cumulative sums: `window_sum(x)` is W ending on each day,
  `window_sum(x, lag=30)` is P.
- own users' sessions give, per day, A (users active in W) and the sum of their tier points.
- NPS answers (read from SENTIMENT_WINDOW - 1 days before `base`, so each day sees its whole
  window) give each user's latest rating and its age on each day: the sentiment component's
  sums and the detractors of risk.nps_detractor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db import connections

from analytics import risk, scores
from analytics.models import LocationDayFact, NpsResponse, UserActivityDay

DB = "analytics"
W = scores.WINDOW
NUMBER_LEVELS = (
    "users_total",
    "workflows_total",
    "workflows_published",
    "calendars_total",
    "calendars_active",
    "products_total",
    "conversations_total",
    "mrr_cents",
)
TEXT_LEVELS = ("saas_plan_id", "subscription_status", "mrr_currency")
FLOWS = ("appointments_booked", "conversations_created")
FACT_COLUMNS = (*NUMBER_LEVELS, *TEXT_LEVELS, *FLOWS)
# Facts that show a first onboarding milestone (risk.onboarding_stalled).
MILESTONE_FACTS = (
    "workflows_published",
    "calendars_active",
    "conversations_total",
    "conversations_created",
)


@dataclass
class TextLevel:
    """level() of a text fact: codes (-1 = not known yet) into `labels`."""

    codes: np.ndarray
    labels: list[str]

    def isin(self, values) -> np.ndarray:
        wanted = [k for k, label in enumerate(self.labels) if label in values]
        return np.isin(self.codes, wanted)

    def label(self, code: int) -> str | None:
        return None if code < 0 else self.labels[code]


@dataclass
class History:
    locs: list[str]
    base: date
    n: int
    level: dict  # NUMBER_LEVELS -> float arrays, TEXT_LEVELS -> TextLevel
    flow: dict[str, np.ndarray]  # FLOWS -> ints (NULL counts 0)
    created_known: np.ndarray  # conversations_created is known that day
    sessions: np.ndarray  # own users' sessions
    reputation: np.ndarray  # own users' minutes in reputation
    active_users: np.ndarray  # A: own users with a session on some day in W
    tier_points: np.ndarray  # sum of the tier points of those users
    users_seen: np.ndarray  # (sub-account,): own users with a session on any day read
    last_login: np.ndarray  # index of the latest day <= j with an own session, -1 = none
    first_day: np.ndarray  # (sub-account,): index of the first fact/activity day, NaN = none
    milestone: np.ndarray  # (sub-account,): index of the first fact row with a milestone
    # Sentiment: sum(w * v) and sum(w) of the users' latest NPS answers (scores.sentiment_sums);
    # detractors: own users whose latest answer is a detractor one of the last 90 days, and
    # detractor_pick the most recent of those answers (index into `answers`, -1 = none).
    sentiment_weighted: np.ndarray | None = None
    sentiment_weights: np.ndarray | None = None
    detractors: np.ndarray | None = None
    detractor_pick: np.ndarray | None = None
    answers: list | None = None  # (user name, rating, day) of the answers read


def window_sum(x: np.ndarray, lag: int = 0, days: int = W) -> np.ndarray:
    """Per day j, the sum of x over the `days` days ending on j - lag (clipped at day 0)."""
    n = x.shape[1]
    cum = np.zeros((x.shape[0], n + 1), dtype=np.int64)
    np.cumsum(x, axis=1, dtype=np.int64, out=cum[:, 1:])
    hi = np.clip(np.arange(n) - lag + 1, 0, None)
    lo = np.clip(hi - days, 0, None)
    return cum[:, hi] - cum[:, lo]


def latest_index(known: np.ndarray) -> np.ndarray:
    """Per day j, the index of the latest day <= j where `known` holds (-1: none yet)."""
    idx = np.where(known, np.arange(known.shape[1]), -1)
    return np.maximum.accumulate(idx, axis=1)


def forward_fill(values: np.ndarray, known: np.ndarray, missing):
    idx = latest_index(known)
    filled = np.take_along_axis(values, np.maximum(idx, 0), axis=1)
    return np.where(idx >= 0, filled, missing)


def _day_index(days, base: date) -> np.ndarray:
    if days and isinstance(days[0], str):  # a driver that hands dates back as text
        return (np.array(days, dtype="datetime64[D]") - np.datetime64(base, "D")).astype(np.int64)
    ordinals = np.fromiter(map(date.toordinal, days), dtype=np.int64, count=len(days))
    return ordinals - base.toordinal()


def _text_codes(values) -> tuple[np.ndarray, list[str]]:
    labels = [v for v in dict.fromkeys(values) if v is not None]
    code_of = {label: k for k, label in enumerate(labels)}
    code_of[None] = -1
    return np.fromiter(map(code_of.__getitem__, values), dtype=np.int64, count=len(values)), labels


# Rows fetched from the database at a time.
FETCH = 20_000


class _Stream:
    """The rows of a query ordered by sub-account, handed out one chunk of sub-accounts at a
    time (the chunks come in the same order)."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.buffer: list = []
        self.at = 0
        self.done: set[str] = set()

    def take(self, wanted: set[str]) -> list:
        rows: list = []
        while True:
            if self.at == len(self.buffer):
                self.buffer, self.at = self.cursor.fetchmany(FETCH), 0
                if not self.buffer:
                    break
            end = self.at
            while end < len(self.buffer) and self.buffer[end][0] in wanted:
                end += 1
            rows.extend(self.buffer[self.at : end])
            self.at = end
            if end < len(self.buffer):
                if self.buffer[end][0] in self.done:  # the chunks' order is not the query's
                    raise RuntimeError("history read out of sub-account order")
                break
        self.done |= wanted
        return rows


class Reader:
    """Reads an agency's facts and activity over base..last, chunk after chunk of sub-accounts
    given in the database's order of their ids (ORDER BY location_ghl_id): one pass over each
    table through a server-side cursor, so memory holds one chunk whatever the portfolio's size
    and the database reads each row once, however many chunks."""

    def __init__(self, agency_id: int, base: date, last: date):
        self.agency_id, self.base, self.last = agency_id, base, last
        conn = connections[DB]
        self.cursors = [conn.chunked_cursor(), conn.chunked_cursor()]
        facts, activity = self.cursors
        facts.execute(
            f"SELECT location_ghl_id, day, {', '.join(FACT_COLUMNS)} "  # noqa: S608 our names
            f"FROM {LocationDayFact._meta.db_table} WHERE agency_id = %s "
            "AND day BETWEEN %s AND %s ORDER BY location_ghl_id, day",
            [agency_id, base, last],
        )
        activity.execute(
            "SELECT location_ghl_id, day, user_ghl_id, sessions, minutes_reputation "  # noqa: S608
            f"FROM {UserActivityDay._meta.db_table} WHERE agency_id = %s "
            "AND day BETWEEN %s AND %s AND NOT is_agency_staff ORDER BY location_ghl_id",
            [agency_id, base, last],
        )
        self.facts, self.activity = _Stream(facts), _Stream(activity)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for cursor in self.cursors:
            cursor.close()

    def read(self, locs: list[str], first_days: dict[str, date]) -> History:
        """The history of the next chunk of sub-accounts, `locs`."""
        wanted = set(locs)
        facts, activity = self.facts.take(wanted), self.activity.take(wanted)
        h = _arrays(locs, self.base, self.last, facts, activity, first_days)
        add_answers(h, self._answers(locs))
        return h

    def _answers(self, locs: list[str]) -> list:
        since = self.base - timedelta(days=scores.SENTIMENT_WINDOW - 1)
        return list(
            NpsResponse.objects.for_agency(self.agency_id)
            .filter(location_ghl_id__in=locs, rating__isnull=False, day__range=(since, self.last))
            .order_by("at", "pk")
            .values_list("location_ghl_id", "user_ghl_id", "day", "rating", "user_name")
        )


def add_answers(h: History, answers) -> None:
    """Fill in the history's sentiment arrays from NPS answers (location, user, day, rating,
    name), oldest first: a user's later answer on one day replaces their earlier one."""
    n_locs, extra = len(h.locs), scores.SENTIMENT_WINDOW - 1
    width = h.n + extra
    row_of = {loc: k for k, loc in enumerate(h.locs)}
    latest: dict[tuple, dict] = {}
    h.answers = []
    for loc, user, day, rating, name in answers:
        col = (day - h.base).days + extra
        if loc not in row_of or not 0 <= col < width:
            continue
        latest.setdefault((loc, user), {})[col] = len(h.answers)
        h.answers.append((name, int(rating), day))
    users = list(latest)
    picks = np.full((len(users), width), -1, dtype=np.int64)
    for u, key in enumerate(users):
        for col, answer in latest[key].items():
            picks[u, col] = answer
    ratings_by_answer = np.array([a[1] for a in h.answers] + [0], dtype=float)
    # Per day of the history, the column of each user's latest answer (-1: none yet).
    idx = latest_index(picks >= 0)[:, extra:]
    known = idx >= 0
    answer = np.where(known, np.take_along_axis(picks, np.maximum(idx, 0), axis=1), -1)
    ratings = np.where(known, ratings_by_answer[answer], np.nan)
    ages = np.where(known, np.arange(extra, width) - idx, np.nan)
    rows = np.array([row_of[loc] for loc, _user in users], dtype=np.int64)
    h.sentiment_weighted, h.sentiment_weights = scores.sentiment_sums(ratings, ages, rows, n_locs)
    detractor = risk.nps_detractors(ratings, ages)
    h.detractors = np.zeros((n_locs, h.n), dtype=np.int64)
    np.add.at(h.detractors, rows, detractor)
    # The most recent detractor answer of each sub-account and day (the smallest age).
    h.detractor_pick = np.full((n_locs, h.n), -1, dtype=np.int64)
    best_age = np.full((n_locs, h.n), np.inf)
    for u in range(len(users)):
        r = rows[u]
        better = detractor[u] & (ages[u] < best_age[r])
        best_age[r] = np.where(better, ages[u], best_age[r])
        h.detractor_pick[r] = np.where(better, answer[u], h.detractor_pick[r])


def _arrays(locs, base: date, last: date, facts, activity, first_days) -> History:
    n_locs, n = len(locs), (last - base).days + 1
    row_of = {loc: k for k, loc in enumerate(locs)}
    shape = (n_locs, n)
    level: dict = {}
    flow: dict[str, np.ndarray] = {}
    raw: dict[str, np.ndarray] = {}
    columns = list(zip(*facts, strict=True)) if facts else [()] * (2 + len(FACT_COLUMNS))
    rows = np.fromiter(map(row_of.__getitem__, columns[0]), dtype=np.int64, count=len(facts))
    cols = _day_index(columns[1], base)
    for name, values in zip(FACT_COLUMNS, columns[2:], strict=True):
        if name in TEXT_LEVELS:
            codes, labels = _text_codes(values)
            grid = np.full(shape, -1, dtype=np.int64)
            grid[rows, cols] = codes
            level[name] = TextLevel(forward_fill(grid, grid >= 0, -1), labels)
            continue
        grid = np.full(shape, np.nan)
        grid[rows, cols] = np.array(values, dtype=float)  # None -> NaN
        known = ~np.isnan(grid)
        raw[name] = grid
        if name in FLOWS:
            flow[name] = np.where(known, grid, 0).astype(np.int64)
        else:
            level[name] = forward_fill(grid, known, np.nan)
    created_known = ~np.isnan(raw["conversations_created"])
    milestone_days = np.zeros(shape, dtype=bool)
    for name in MILESTONE_FACTS:
        milestone_days |= raw[name] > 0
    milestone = np.where(milestone_days.any(axis=1), milestone_days.argmax(axis=1), np.nan)
    del raw, facts, columns

    sessions = np.zeros(shape, dtype=np.int64)
    reputation = np.zeros(shape, dtype=np.int64)
    active_users = np.zeros(shape, dtype=np.int64)
    tier_points = np.zeros(shape, dtype=np.int64)
    users_seen = np.zeros(n_locs, dtype=np.int64)
    if activity:
        a_locs, a_days, a_users, a_sessions, a_rep = zip(*activity, strict=True)
        rows = np.fromiter(map(row_of.__getitem__, a_locs), dtype=np.int64, count=len(activity))
        cols = _day_index(a_days, base)
        n_sessions = np.array(a_sessions, dtype=np.int64)
        np.add.at(sessions, (rows, cols), n_sessions)
        np.add.at(reputation, (rows, cols), np.array(a_rep, dtype=np.int64))
        # One row per own user (of a sub-account) with a session on some day read.
        on = n_sessions > 0
        keys = [
            (loc, user) for loc, user, s in zip(a_locs, a_users, a_sessions, strict=True) if s > 0
        ]
        user_ids = {key: k for k, key in enumerate(dict.fromkeys(keys))}
        user_of = np.fromiter(map(user_ids.__getitem__, keys), dtype=np.int64, count=len(keys))
        user_row = np.zeros(len(user_ids), dtype=np.int64)
        user_row[user_of] = rows[on]
        days_on = np.zeros((len(user_ids), n), dtype=np.int8)
        days_on[user_of, cols[on]] = 1
        days_in_w = window_sum(days_on)
        np.add.at(active_users, user_row, days_in_w > 0)
        np.add.at(tier_points, user_row, scores.tier_points(days_in_w))
        users_seen = np.bincount(user_row, minlength=n_locs)
    first_day = np.array(
        [np.nan if loc not in first_days else (first_days[loc] - base).days for loc in locs]
    )
    return History(
        locs=locs,
        base=base,
        n=n,
        level=level,
        flow=flow,
        created_known=created_known,
        sessions=sessions,
        reputation=reputation,
        active_users=active_users,
        tier_points=tier_points,
        users_seen=users_seen,
        last_login=latest_index(sessions > 0),
        first_day=first_day,
        milestone=milestone,
    )
