"""Predicted churn on a synthetic world whose churn follows a known generator (issue 17).

Builds 2,000 sub-accounts over two years (730 days), turns their behaviour into what GoCSM
stores (scores and components, risk flags, logins, usage, subscription and MRR: a
analytics.churnmodel.Panel), rolls backtest cutoffs month by month and prints, per horizon, the
pooled AUC, precision and recall at the at-risk threshold, precision in the top 10 % for the
model and for the rule-based ranking, then training time and peak memory.
Run: .venv/bin/python bench/churn.py [N] [SEED] [bench|fade]     (no database needed)
"fade" swaps in a second hidden generator shaped like the demo's (see _fade_generator), to
check the model on churn it was not written against.

## The generator (what the model does not see)
Per sub-account: created on a day U(-400, 640) (those created before day 0 start with a
history), users 1..8, a usage base ~ logN(0, 0.5), a per-user login habit U(0.15, 0.9), SaaS with
p = 0.8 on a plan of 97/297/497, a frailty exp(0.5 z). Hidden episodes, each starting on a
random day of its life: a decline (p = 0.35: engagement falls linearly to U(0.1, 0.6) of normal
over 15-90 days, and recovers after 30-120 days with p = 0.2), people going quiet (p = 0.12:
logins stop, usage halves), payment trouble (p = 0.15: a 10-50-day spell of past-due weeks),
a downgrade while declining (p = 0.3 of declines).
Daily cancel hazard = 0.0003 x frailty x exp(3 x decline + 0.5 x min(weeks quiet, 6) + 4 x (share of the last
60 days past due) + 2 x (share of its people who left) + 0.8 x [age < 90] - 0.4 x log(base)),
capped at 0.05. People leave one by one (p = 0.3: from a random day, one every 10-40 days,
the first user stays). On cancelling: back on the plan after
5-25 days with p = 0.15 (inside the 30-day window: no churn), else it stays cancelled; 40 % of
those are deleted (uninstalled) 10-60 days later. Sessions, usage and the score's inputs carry
day-to-day noise, so the signals are noisy views of the hidden state.
"""

from __future__ import annotations

import os

# One BLAS thread: the fits are small and the machine is shared.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import churnmodel as cm

N_DAYS = 730
START = date(2024, 12, 1)
FLAG_WEIGHTS = {
    "no_login_30": 0.50,
    "no_login_14": 0.35,
    "no_login_7": 0.20,
    "usage_down": 0.30,
    "payment_failed": 0.40,
    "downgraded": 0.30,
    "band_dropped": 0.25,
    "low_score": 0.50,
}


def _window(x: np.ndarray, days: int) -> np.ndarray:
    """Sum over the `days` days ending on each day."""
    c = np.zeros((x.shape[0], x.shape[1] + 1))
    np.cumsum(x, axis=1, out=c[:, 1:])
    idx = np.arange(x.shape[1])
    return c[:, idx + 1] - c[:, np.maximum(idx - days + 1, 0)]


def _lag(x: np.ndarray, days: int, fill=np.nan) -> np.ndarray:
    out = np.full_like(x, fill, dtype=np.float64)
    out[:, days:] = x[:, :-days]
    return out


def _ramp(t, start, length, depth):
    """0 before start, rising linearly to depth over length days, then depth."""
    return np.clip((t - start) / length, 0, 1) * depth


def _fade_generator(rng, n, t, created, saas):
    """A second, different hidden generator (the shape of the demo's, sync/fakeghl/world.py):
    a fade with p = 0.12 (usage falls linearly over 20-60 days to U(0.30, 0.55) of normal and
    stays), logins stopping for good with p = 0.07, shaky payers (8 %: past due each week with
    p = 0.15, else 0.008); weekly hazard min(0.35, 0.002 x frailty x exp(3 x decline + 0.45 x
    min(weeks quiet, 6) + 0.6 x past-due weeks among the last 8)), frailty exp(0.5 z)."""
    life = np.maximum(N_DAYS - np.maximum(created[:, 0], 0), 1)
    start0 = np.maximum(created[:, 0], -400) + 30

    def when():
        return (start0 + (rng.random(n) * (life + 300)).astype(int))[:, None]

    fades = rng.random(n) < 0.12
    f_start, f_len = when(), rng.integers(20, 60, n)[:, None]
    floor = rng.uniform(0.30, 0.55, n)[:, None]
    decline = np.where(fades[:, None], _ramp(t, f_start, f_len, 1 - floor), 0.0)
    quiets = rng.random(n) < 0.07
    q_start = when()
    quiet = quiets[:, None] & (t >= q_start)
    quiet_weeks = np.where(quiet, (t - q_start) // 7, 0)
    shaky = rng.random(n) < 0.08
    weeks = N_DAYS // 7 + 1
    past_due_week = (rng.random((n, weeks)) < np.where(shaky, 0.15, 0.008)[:, None]) & saas[:, None]
    trouble = np.repeat(past_due_week, 7, axis=1)[:, :N_DAYS]
    failed8 = _window(past_due_week.astype(np.float64), 8)
    failed = np.repeat(failed8, 7, axis=1)[:, :N_DAYS]
    frailty = np.exp(0.5 * rng.normal(0, 1, n))[:, None]
    weekly = np.minimum(
        0.35,
        0.002 * frailty * np.exp(3.0 * decline + 0.45 * np.minimum(quiet_weeks, 6) + 0.6 * failed),
    )
    daily = 1 - (1 - weekly) ** (1 / 7)
    return decline, quiet, trouble, daily, daily / frailty


def world(n: int = 2000, seed: int = 7, generator: str = "bench") -> tuple[cm.Panel, dict]:
    rng = np.random.default_rng(seed)
    t = np.arange(N_DAYS)[None, :].astype(np.float64)
    created = rng.integers(-400, 640, n)[:, None]
    exists = t >= created
    age = t - created
    users_n = rng.integers(1, 9, n)
    base = np.exp(rng.normal(0, 0.5, n))[:, None]
    frailty = np.exp(0.5 * rng.normal(0, 1, n))[:, None]
    saas = rng.random(n) < 0.8
    plan = rng.choice([97.0, 297.0, 497.0], n)[:, None]
    life = np.maximum(N_DAYS - np.maximum(created[:, 0], 0), 1)

    def start_in_life(p):
        has = rng.random(n) < p
        s = np.maximum(created[:, 0], 0) + 20 + (rng.random(n) * life).astype(int)
        return has, s[:, None].astype(np.float64)

    has_dec, dec_start = start_in_life(0.35)
    dec_len = rng.integers(15, 90, n)[:, None]
    dec_depth = 1 - rng.uniform(0.1, 0.6, n)[:, None]
    recovers = rng.random(n) < 0.2
    rec_at = dec_start + dec_len + rng.integers(30, 120, n)[:, None]
    decline = np.where(has_dec[:, None], _ramp(t, dec_start, dec_len, dec_depth), 0.0)
    decline = np.where(recovers[:, None] & (t >= rec_at), decline * 0.2, decline)
    has_q, q_start = start_in_life(0.12)
    quiet = has_q[:, None] & (t >= q_start)
    has_tr, tr_start = start_in_life(0.15)
    tr_len = rng.integers(10, 50, n)[:, None]
    trouble = has_tr[:, None] & saas[:, None] & (t >= tr_start) & (t < tr_start + tr_len)
    trouble &= rng.random((n, N_DAYS)) < 0.8
    downgrade = has_dec & (rng.random(n) < 0.3)
    down_at = dec_start + dec_len // 2

    # People leaving one by one (p = 0.3): user k >= 1 stops for good U(10, 40) days after
    # the one before, from a random day on; the first user stays.
    has_l, l_start = start_in_life(0.3)
    gaps = rng.integers(10, 40, (n, 8)).cumsum(axis=1)
    leave = np.where(has_l[:, None], l_start + gaps, np.inf)  # (n, 8) day each user leaves
    leave[:, 0] = np.inf
    left = (t[:, :, None] >= leave[:, None, :]) & (np.arange(8) < users_n[:, None])[:, None, :]
    lost_share = left.sum(axis=2) / users_n[:, None]

    # The cancel hazard and each sub-account's fate.
    quiet_weeks = np.where(quiet, (t - q_start) // 7, 0)
    trouble_60 = _window(trouble.astype(np.float64), 60) / 60
    hazard = (
        0.0003
        * frailty
        * np.exp(
            3.0 * decline
            + 0.5 * np.minimum(quiet_weeks, 6)
            + 4.0 * trouble_60
            + 2.0 * lost_share
            + 0.8 * (age < 90)
            - 0.4 * np.log(base)
        )
    )
    hazard = np.minimum(hazard, 0.05)
    if generator == "fade":
        decline, quiet, trouble, hazard, behaviour = _fade_generator(rng, n, t, created, saas)
    else:
        behaviour = hazard / frailty
    hazard = hazard * (exists & (age >= 14))
    draws = rng.random((n, N_DAYS)) < hazard
    cancel = np.where(draws.any(axis=1), draws.argmax(axis=1), N_DAYS + 10_000)[:, None]
    comes_back = rng.random(n) < 0.15
    back_at = cancel + rng.integers(5, 25, n)[:, None]
    deleted = ~comes_back & (rng.random(n) < 0.4)
    delete_at = cancel + rng.integers(10, 60, n)[:, None]
    cancelled = (t >= cancel) & ~(comes_back[:, None] & (t >= back_at))
    gone = deleted[:, None] & (t >= delete_at)
    # A comeback is followed by a fresh chance to leave (the hazard goes on after it).
    ended = exists & (cancelled | gone)

    # Behaviour seen by GoCSM.
    level = base * (1 - decline) * np.where(quiet, 0.5, 1.0) * np.where(cancelled, 0.1, 1.0)
    level = level * np.minimum(1, 0.55 + age / 90)
    habit = rng.uniform(0.15, 0.9, (n, 8))
    p_login = np.clip(habit[:, :, None] * np.minimum(level, 1.3)[:, None, :], 0, 0.97)
    p_login[:, :, :] *= ~(quiet | cancelled)[:, None, :]
    p_login *= np.transpose(~left, (0, 2, 1))  # people who left log in no more
    mine = np.arange(8)[None, :, None] < users_n[:, None, None]
    logged = (rng.random((n, 8, N_DAYS)) < p_login) & mine & exists[:, None, :]
    sessions = (logged * rng.integers(1, 4, (n, 8, N_DAYS))).sum(axis=1).astype(np.float64)
    active_users = logged.sum(axis=1).astype(np.float64)
    days30 = np.stack([_window(logged[:, k, :].astype(np.float64), 30) for k in range(8)], 1) / 30
    tiers = {
        "heavy": ((days30 >= 0.85) & mine).sum(1).astype(np.float64),
        "regular": ((days30 >= 0.5) & (days30 < 0.85) & mine).sum(1).astype(np.float64),
        "casual": ((days30 >= 0.2) & (days30 < 0.5) & mine).sum(1).astype(np.float64),
        "ghosting": ((days30 < 0.2) & mine).sum(1).astype(np.float64),
    }
    usage = rng.poisson(np.maximum(level, 0) * 4).astype(np.float64) * exists
    mrr_now = np.where(downgrade[:, None] & (t >= down_at), np.maximum(plan - 200, 47), plan)
    mrr = np.where(saas[:, None], np.where(cancelled, 0.0, mrr_now), np.nan)
    mrr = np.where(exists, mrr, np.nan)
    status = np.full((n, N_DAYS), cm.STATUSES.index(""), dtype=np.int8)
    status[saas] = cm.STATUSES.index("active")
    trial = saas[:, None] & (age < 14)
    status[trial] = cm.STATUSES.index("trialing")
    status[trouble & ~cancelled] = cm.STATUSES.index("past_due")
    status[saas[:, None] & cancelled] = cm.STATUSES.index("canceled")
    status[~exists] = 0

    # Components as analytics.scores defines them (from the noisy observations).
    last = np.where(sessions > 0, np.arange(N_DAYS), -1)
    np.maximum.accumulate(last, axis=1, out=last)
    recency_days = np.where(last >= 0, t - last, 30)
    a30 = (days30 > 0).sum(1)
    tier_pts = (tiers["heavy"] * 100 + tiers["regular"] * 70 + tiers["casual"] * 40) / users_n[
        :, None
    ]
    login = (
        0.4 * 100 * a30 / users_n[:, None]
        + 0.3 * 100 * np.maximum(0, 30 - recency_days) / 30
        + 0.3 * tier_pts
    )
    adopt_base = rng.uniform(30, 100, n)[:, None]
    adoption = np.clip(adopt_base * (1 - 0.5 * decline) + rng.normal(0, 5, (n, N_DAYS)), 0, 100)
    v_now = _window(usage + sessions, 30)
    v_prev = _lag(v_now, 30, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        engagement = np.where(
            v_prev > 0,
            np.clip(50 + 50 * (v_now - v_prev) / v_prev, 0, 100),
            np.where(v_now > 0, 100.0, 0.0),
        )
    engagement = np.where(age >= 59, engagement, np.nan)
    pts = np.array([np.nan, 100, 70, 30, 10, 20, 0, np.nan])
    revenue = pts[status]
    mrr_then = _lag(mrr, 30)
    with np.errstate(divide="ignore", invalid="ignore"):
        revenue = np.where(
            (mrr > 0) & (mrr_then > 0),
            np.clip(revenue + 50 * (mrr - mrr_then) / mrr_then, 0, 100),
            revenue,
        )
    growth = np.clip(50 + rng.normal(0, 8, (n, N_DAYS)) - 20 * decline, 0, 100)
    comps = {
        "login_activity": login,
        "adoption": adoption,
        "engagement": engagement,
        "revenue": revenue,
        "growth": growth,
    }
    weights = {"login_activity": 30, "adoption": 25, "engagement": 20, "revenue": 15, "growth": 10}
    num = sum(weights[c] * np.nan_to_num(v) for c, v in comps.items())
    den = sum(weights[c] * ~np.isnan(v) for c, v in comps.items())
    with np.errstate(invalid="ignore"):
        score = np.where(den > 0, np.round(num / np.maximum(den, 1)), np.nan)
    scored = exists & ~ended
    score = np.where(scored, score, np.nan)
    comps = {c: np.where(scored, v, np.nan) for c, v in comps.items()}

    # The rules (analytics.risk), on scored days.
    r = recency_days
    flags = {
        "no_login_30": r >= 30,
        "no_login_14": (r >= 14) & (r < 30),
        "no_login_7": (r >= 7) & (r < 14),
    }
    u_now, u_prev = _window(usage + sessions, 30), _lag(_window(usage + sessions, 30), 30, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        flags["usage_down"] = (u_prev > 0) & ((u_now - u_prev) / u_prev <= -0.4)
    flags["payment_failed"] = status == cm.STATUSES.index("past_due")
    flags["downgraded"] = (mrr > 0) & (mrr_then > 0) & (mrr < mrr_then)
    band = np.where(score >= 51, 2, np.where(score >= 26, 1, 0))
    flags["low_score"] = score < 26
    flags["band_dropped"] = (band < _lag(band.astype(float), 7, -1)) & (band <= 1)
    flags = {c: f & scored for c, f in flags.items()}
    risk_weight = np.minimum(1.0, sum(FLAG_WEIGHTS[c] * f for c, f in flags.items()))

    first = np.maximum(created[:, 0], -10_000).astype(np.int64)
    panel = cm.Panel(
        locations=[f"loc{i}" for i in range(n)],
        days=[START + timedelta(days=k) for k in range(N_DAYS)],
        exists=exists,
        ended=ended,
        score=score,
        components=comps,
        flags=flags,
        risk_weight=risk_weight,
        sessions=sessions,
        active_users=active_users,
        tiers=tiers,
        users=np.where(exists, users_n[:, None].astype(np.float64), np.nan),
        usage=usage,
        mrr=mrr,
        status=status,
        first=first,
        tracked_from=0,
    )
    return panel, {
        "churns": int(cm.churn_events(exists, ended).sum()),
        "hazard": hazard,
        "behaviour": behaviour,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    generator = sys.argv[3] if len(sys.argv) > 3 else "bench"
    if os.environ.get("CHURN_C"):
        cm.C = float(os.environ["CHURN_C"])  # try another penalty strength
    started = time.perf_counter()
    panel, info = world(n, seed, generator)
    built = time.perf_counter() - started
    world_peak = peak_rss_mb()
    print(
        f"world: {n} sub-accounts x {panel.n} days, {info['churns']} churn events ({built:.1f} s)"
    )
    started = time.perf_counter()
    bt = cm.backtest(panel)
    total = time.perf_counter() - started
    print(
        f"backtest: {len(bt.results)} cutoff x horizon fits, {len(bt.skipped)} skipped (cold start)"
    )
    for h, m in sorted(bt.pooled.items()):
        lift = m["top_model"] / m["top_rules"] if m["top_rules"] else float("nan")
        print(
            f"  {h:>2} d: AUC {m['auc']:.3f} (rules {m['rules_auc']:.3f})"
            f" | at p>={m['threshold']:.3f}: precision {_pct(m['precision'])}"
            f" recall {_pct(m['recall'])} (rules' flags: {_pct(m['rules_precision'])}"
            f" / {_pct(m['rules_recall'])})"
            f" | top 10 %: model {_pct(m['top_model'])} vs rules {_pct(m['top_rules'])}"
            f" = {lift:.2f}x | {m['cutoffs']} cutoffs, {m['churned']}/{m['rows']} churned"
        )
    print(
        "calibration (90 d): "
        + ", ".join(
            f"{c['bin']}: {_pct(c['predicted'])}→{_pct(c['observed'])} (n={c['rows']})"
            for c in bt.calibration.get(90, [])
        )
    )
    oracle = []
    truth = cm.churn_events(panel.exists, panel.ended)
    for c in sorted({r.cutoff for r in bt.results if r.horizon == 90}):
        rows = np.nonzero(panel.alive[:, c])[0]
        y = cm.labels(truth, rows, np.full(len(rows), c), 90)
        oracle.append((y, info["hazard"][rows, c], info["behaviour"][rows, c]))
    if oracle:
        y = np.concatenate([a for a, _b, _c in oracle])
        p = np.concatenate([b for _a, b, _c in oracle])
        q = np.concatenate([c for _a, _b, c in oracle])
        print(
            "for reference, 90 d AUC of the generator's own hidden hazard on the cutoff day:"
            f" {cm.auc(y, p):.3f}; without its unobserved frailty: {cm.auc(y, q):.3f}"
        )
    print(f"training time: {bt.seconds_training:.1f} s over all fits; backtest total {total:.1f} s")
    print(
        f"peak memory (RSS): {peak_rss_mb():.0f} MB"
        f" ({world_peak:.0f} MB already when the world was built)"
    )


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


if __name__ == "__main__":
    main()
