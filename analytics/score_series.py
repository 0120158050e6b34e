"""One sub-account's scores, flags and alerts for a run of days, computed column by column.

The definitions are those of analytics.scores and analytics.risk (their docstrings); this module
only evaluates them quickly. Every window sum, forward-filled level and per-user tier mix is an
array over the day offsets computed once, so each scored day costs a handful of array reads
instead of dictionaries and function calls. Arithmetic is written in the same order as the
scores functions so the floats (and therefore the rounded scores) are identical; the reference
test tests/analytics/test_pipeline_equivalence.py holds us to that.
"""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

from analytics import risk, scores
from analytics.scores import round_half_up

W = scores.WINDOW
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
FACT_COLUMNS = (*LEVELS, *FLOWS)
# Tier points of a user active on d of the last 30 days, d = 0..30 (scores.TIERS).
_TIER_POINTS = [
    {name: pts for name, _f, pts in scores.TIERS}[scores.tier_for_share(d / W)]
    for d in range(W + 1)
]
_STATUS_POINTS = scores.STATUS_POINTS
_PAYING = scores.PAYING_STATUSES
_BAND_RANK = scores.BAND_RANK
_FLAG_WEIGHTS = risk.FLAG_WEIGHTS
_BITS_SET = [bin(b).count("1") for b in range(64)]


def _fill(values: list) -> list:
    return list(itertools.accumulate(values, lambda a, b: a if b is None else b))


def _prefix(values) -> list[int]:
    return [0, *itertools.accumulate(v or 0 for v in values)]


def _windows(pre: list[int], n: int) -> tuple[list[int], list[int]]:
    """(sum over the 30 days ending on i, sum over the 30 days before those) for every i."""
    cur = [pre[i + 1] - pre[i - W + 1 if i >= W - 1 else 0] for i in range(n)]
    prev = [0] * n
    for i in range(W, n):
        hi = i - W
        prev[i] = pre[hi + 1] - pre[hi - W + 1 if hi >= W - 1 else 0]
    return cur, prev


def _round_score(x: float) -> int:
    # Same result as scores.round_half_up (half up on the shortest decimal repr): for x >= 0,
    # repr(x) lies on the same side of k + 0.5 as x does, and x - floor(x) is exact.
    if x >= 0:
        f = math.floor(x)
        return f + 1 if x - f >= 0.5 else f
    return round_half_up(x)


def _band(score: int, bands: dict) -> str:
    if score >= bands["thriving"]:
        return "thriving"
    if score >= bands["healthy"]:
        return "healthy"
    if score >= bands["steady"]:
        return "steady"
    return "at_risk"


_JSON_TEXT: dict = {None: "null"}


def _j(value: float | None) -> str:
    """A number as JSON rounded to 2 decimals (what json.dumps(round(v, 2)) writes), or null.
    Remembered: the same values recur across days and sub-accounts."""
    text = _JSON_TEXT.get(value)
    if text is None:
        if len(_JSON_TEXT) > 200_000:
            _JSON_TEXT.clear()
            _JSON_TEXT[None] = "null"
        text = _JSON_TEXT[value] = repr(round(value, 2))
    return text


def _growth(cols: list[list], n: int) -> list:
    """Component 5 for every day index (None before day W or with no metric at both ends)."""
    changes = []
    for col in cols:
        ch = [None] * min(W, n)
        ch.extend(
            None
            if a is None or b is None
            else (-1.0 if (x := (a - b) / max(b, 1)) < -1.0 else 1.0 if x > 1.0 else x)
            for a, b in zip(col[W:], col, strict=False)
        )
        changes.append(ch)
    out = []
    for known in zip(*changes, strict=True):
        present = [c for c in known if c is not None]
        out.append(50 + 50 * sum(present) / len(present) if present else None)
    return out


class LocationSeries:
    """Arrays for one sub-account over day offsets 0..n-1 from `base`."""

    def __init__(self, n: int, fact_rows, activity_rows, base: date, first_day: date | None):
        self.n = n
        cols = [[None] * n for _ in FACT_COLUMNS]
        milestone = None
        for row in fact_rows:
            i = (row[0] - base).days
            for k in range(len(FACT_COLUMNS)):
                cols[k][i] = row[k + 1]
            if milestone is None and (
                (row[3] or 0) > 0 or (row[5] or 0) > 0 or (row[7] or 0) > 0 or (row[13] or 0) > 0
            ):
                milestone = i
        self.milestone_idx = milestone
        self.level = {f: _fill(cols[k]) for k, f in enumerate(LEVELS)}
        booked, created = cols[len(LEVELS)], cols[len(LEVELS) + 1]
        self.booked, self.booked_prev = _windows(_prefix(booked), n)
        self.created, self.created_prev = _windows(_prefix(created), n)
        known, _ = _windows(_prefix(1 if v is not None else 0 for v in created), n)
        self.created_known = known
        sessions = [0] * n
        reputation = [0] * n
        per_user: dict[str, list[int]] = {}
        for day, user, sess, rep in activity_rows:
            i = (day - base).days
            sessions[i] += sess
            reputation[i] += rep
            if sess > 0:
                per_user.setdefault(user, [0] * n)[i] = 1
        self.sess, self.sess_prev = _windows(_prefix(sessions), n)
        self.rep, _ = _windows(_prefix(reputation), n)
        self.users_seen = len(per_user)
        active = [0] * n
        tier_sum = [0] * n
        for days in per_user.values():
            win, _ = _windows(_prefix(days), n)
            for i, d in enumerate(win):
                if d > 0:
                    active[i] += 1
                    tier_sum[i] += _TIER_POINTS[d]
        self.active, self.tier_sum = active, tier_sum
        self.last_login = _fill([i if s > 0 else None for i, s in enumerate(sessions)])
        self.first_idx = None if first_day is None else (first_day - base).days


def compute(
    agency_id: int,
    loc: str,
    h: LocationSeries,
    start_i: int,
    days: list[date],
    tracked_from: int | None,
    weights: dict,
    bands: dict,
    earlier_bands: dict[int, str],
    prev_codes: set[str],
    out_scores: list,
    out_flags: list,
    out_alerts: list,
    now,
) -> dict:
    """Append the score, flag and alert rows of days start_i..n-1 to the out lists.

    Returns {day index: band} of the days scored (for the caller's portfolio counts)."""
    lv = h.level
    users_total = lv["users_total"]
    wp_l, ca_l, pt_l = lv["workflows_published"], lv["calendars_active"], lv["products_total"]
    conv_l, status_l, plan_l = (
        lv["conversations_total"],
        lv["subscription_status"],
        lv["saas_plan_id"],
    )
    mrr_l, cur_l = lv["mrr_cents"], lv["mrr_currency"]
    growth_at = _growth([lv[f] for f in scores.GROWTH_METRICS], h.n)
    w_login = weights.get("login_activity", 0)
    w_adopt = weights.get("adoption", 0)
    w_eng = weights.get("engagement", 0)
    w_rev = weights.get("revenue", 0)
    w_grow = weights.get("growth", 0)
    band_at: dict[int, str] = dict(earlier_bands)
    first_idx, milestone = h.first_idx, h.milestone_idx
    # Locals: attribute lookups inside the loop would cost as much as the arithmetic.
    active_a = h.active
    booked_a = h.booked
    booked_prev_a = h.booked_prev
    created_a = h.created
    created_known_a = h.created_known
    created_prev_a = h.created_prev
    last_login_a = h.last_login
    rep_a = h.rep
    sess_a = h.sess
    sess_prev_a = h.sess_prev
    tier_sum_a = h.tier_sum
    for i in range(start_i, h.n):
        day = days[i]
        tracked = tracked_from is not None and tracked_from <= i
        then = i - W
        # 1. login activity
        last = last_login_a[i]
        r = None if last is None else i - last
        login = None
        if tracked:
            a = active_a[i]
            nn = max(users_total[i] or 0, a)
            if nn != 0:
                recency = 0.0 if r is None else 100 * max(0, W - r) / W
                tier = tier_sum_a[i] / nn
                login = 0.4 * (100 * a / nn) + 0.3 * recency + 0.3 * tier
        # 2. adoption breadth
        booked = booked_a[i]
        created = created_a[i]
        created_known = created_known_a[i] > 0
        conv_total = conv_l[i]
        status = status_l[i]
        wp, ca, pt = wp_l[i], ca_l[i], pt_l[i]
        # bits of analytics.models.ADOPTION_BITS, in their order
        kb = ub = 0
        if wp is not None:
            kb |= 1
            ub |= 1 if wp > 0 else 0
        if ca is not None:
            kb |= 2
            ub |= 2 if ca > 0 and booked > 0 else 0
        if pt is not None:
            kb |= 4
            ub |= 4 if pt > 0 else 0
        if created_known:
            kb |= 8
            ub |= 8 if created > 0 else 0
        elif conv_total is not None:
            kb |= 8
            ub |= 8 if conv_total > 0 else 0
        if status is not None:
            kb |= 16
            ub |= 16 if status in _PAYING else 0
        if tracked:
            kb |= 32
            ub |= 32 if rep_a[i] > 0 else 0
        known, used = _BITS_SET[kb], _BITS_SET[ub]
        adopt = 100 * used / known if known else None
        # 3. engagement trend
        v_now = sess_a[i] + created + booked
        v_prev = sess_prev_a[i] + created_prev_a[i] + booked_prev_a[i]
        if first_idx is not None and first_idx <= then:
            if v_prev == 0:
                eng = 100.0 if v_now > 0 else 0.0
            else:
                x = 50 + 50 * (v_now - v_prev) / v_prev
                eng = 0.0 if x < 0.0 else 100.0 if x > 100.0 else x
        else:
            eng = None
        # 4. revenue status
        m_now = mrr_l[i]
        m_then = None
        if then >= 0 and cur_l[i] == cur_l[then]:
            m_then = mrr_l[then]
        rev = None
        if status and status != "none" and status in _STATUS_POINTS:
            base_pts = _STATUS_POINTS[status]
            if m_now and m_then and m_now > 0 and m_then > 0:
                x = base_pts + 50 * (m_now - m_then) / m_then
                rev = 0.0 if x < 0.0 else 100.0 if x > 100.0 else x
            else:
                rev = float(base_pts)
        # 5. growth
        grow = growth_at[i]
        # combine (scores.combine, same order of operations)
        total = 0
        if login is not None and w_login > 0:
            total += w_login
        if adopt is not None and w_adopt > 0:
            total += w_adopt
        if eng is not None and w_eng > 0:
            total += w_eng
        if rev is not None and w_rev > 0:
            total += w_rev
        if grow is not None and w_grow > 0:
            total += w_grow
        band = None
        if total > 0:
            parts = []
            if login is not None and w_login > 0:
                parts.append(("login_activity", w_login * login / total))
            if adopt is not None and w_adopt > 0:
                parts.append(("adoption", w_adopt * adopt / total))
            if eng is not None and w_eng > 0:
                parts.append(("engagement", w_eng * eng / total))
            if rev is not None and w_rev > 0:
                parts.append(("revenue", w_rev * rev / total))
            if grow is not None and w_grow > 0:
                parts.append(("growth", w_grow * grow / total))
            score = _round_score(sum(p for _c, p in parts))
            band = _band(score, bands)
            # json.dumps would write the same text (floats as repr); by hand, it runs a million
            # times per year of a large agency.
            components = (
                f'{{"login_activity": {_j(login)}, "adoption": {_j(adopt)}, '
                f'"engagement": {_j(eng)}, "revenue": {_j(rev)}, "growth": {_j(grow)}}}'
            )
            contributions = "{" + ", ".join(f'"{c}": {_j(p)}' for c, p in parts) + "}"
            out_scores.append((agency_id, loc, day, score, band, components, contributions, kb, ub))
            yesterday = band_at.get(i - 1)
            if yesterday and _BAND_RANK[band] < _BAND_RANK[yesterday]:
                out_alerts.append(
                    (
                        agency_id,
                        loc,
                        day,
                        "band_drop",
                        "",
                        f"Score fell to {score}: {scores.BAND_LABELS[yesterday]} → "
                        f"{scores.BAND_LABELS[band]}",
                        now,
                    )
                )
            band_at[i] = band
        # flags, in analytics.risk's order; each rule is pre-checked before building evidence
        flags = []
        if tracked and (r is None or r >= 7) and max(users_total[i] or 0, h.users_seen) > 0:
            last_day = days[last] if r is not None else None
            flags.append(risk.no_login_flag(r, last_day))
        if v_prev > 0 and (v_now - v_prev) / v_prev <= risk.USAGE_DROP:
            flags.append(risk.usage_down_flag(v_now, v_prev))
        if status == "past_due" or status == "unpaid":
            flags.append(risk.payment_flag(status))
        if m_now and m_then and m_now < m_then:
            plans = (plan_l[i], plan_l[then] if then >= 0 else None)
            flags.append(risk.downgrade_flag(m_now, m_then, cur_l[i], plans))
        if band is not None:
            week_ago = band_at.get(i - 7)
            if week_ago is not None and _BAND_RANK[band] < _BAND_RANK[week_ago]:
                flags.append(risk.band_drop_flag(band, week_ago, _BAND_RANK))
        if first_idx is not None:
            age = i - first_idx
            if risk.ONBOARDING_MIN_AGE <= age <= risk.ONBOARDING_MAX_AGE and not (
                milestone is not None and milestone <= min(i, first_idx + W - 1)
            ):
                flags.append(risk.onboarding_flag(age, False))
        codes = set()
        for code, evidence in flags:
            codes.add(code)
            out_flags.append((agency_id, loc, day, code, _FLAG_WEIGHTS[code], evidence[:300]))
            if code not in prev_codes:
                out_alerts.append(
                    (
                        agency_id,
                        loc,
                        day,
                        "new_flag",
                        code,
                        f"{risk.FLAG_LABELS[code]}: {evidence}"[:300],
                        now,
                    )
                )
        prev_codes = codes
    return band_at


def day_list(base: date, n: int) -> list[date]:
    return [base + timedelta(days=i) for i in range(n)]
