"""Predicted churn on a synthetic world whose churn follows a known generator (issue 17).

Builds 2,000 sub-accounts over two years (730 days), turns their behaviour into what GoCSM
stores (scores and components, risk flags, logins, usage, subscription and MRR: a
analytics.churnmodel.Panel), rolls backtest cutoffs month by month and prints, per horizon, the
pooled AUC, precision and recall at the at-risk threshold, precision in the top 10 % for the
model and for the rule-based ranking, then training time and peak memory.
Run: .venv/bin/python bench/churn.py [N] [SEED] [bench|fade]     (no database needed)
"fade" swaps in a second hidden generator shaped like the demo's (see _fade_generator), to
check the model on churn it was not written against. CHURN_C=<C> fixes the penalty instead of
choosing it per fit (analytics.churnmodel.choose_penalty).
For reference it also prints the AUC and top-10 % precision of the generator's own hidden
hazard on each cutoff day (a ranking that knows the hidden state but not its future).

## The default generator (what the model does not see): _engagement_world
Per sub-account: created on a day U(-400, 640) (those created before day 0 start with a
history, simulated from their creation), users 1..8, a business size (usage base) ~ logN(0, 0.9),
a login style exp(U(log 0.06, 0)) times a per-user habit U(0.15, 0.9) (some teams log in daily,
others every week or two), SaaS with p = 0.8 on a plan of 97/297/497, a frailty exp(0.3 z).

A latent engagement e (0 = normal) moves each day towards a target at a per-episode speed, with
noise N(0, 0.06): a new sub-account starts at -1.2 and ramps up to 0 over 15-40 days, unless
its onboarding stalls (p = 0.25: target -1.4 until day 45-150, then 0, or -1.6 for good with
p = 0.4). Gradual declines start at a rate of 1 in 800 days (target -U(0.8, 2.8), reached over
weeks: speed 1/U(20, 70)); after day 150 a decline recovers at 1 in 150 days; rare cliffs
(1 in 3,000 days) drop e by U(1.5, 3) at once. Churn follows engagement late: "patience" is
e smoothed over about 30 days. Payments fail (a past-due spell, mean 9 days) at 0.06 % a day,
0.6 % for shaky payers (8 %), +0.3 % while e < -1; a disengaged SaaS account (e < -1)
downgrades at 0.4 % a day.
Daily cancel hazard = min(0.00006 x frailty x exp(-2 x patience - 0.5 x e + 1.3 x [past due]
+ 0.7 x [downgraded] + 0.7 x [age < 90]), 0.04) + 0.00004 (sudden churn without warning),
from day 14 on. On cancelling: back within 5-25 days with p = 0.15 (no churn), back after
40-200 days with p = 0.08 (a churn, then a reactivation with e at -0.4), else it stays
cancelled; 40 % of those are deleted (uninstalled) 10-60 days later.

What GoCSM sees: usage ~ Poisson(4 x base x exp(min(e, 0.5))) a day; each user k >= 1 logs
in only while e is above that person's own threshold U(-2.6, -0.2) (people drift away as
engagement falls; the first user stays), with p = habit x min(base x exp(e), 1.3) a day and
1-3 sessions; the score's components, the risk flags and the risk weight are computed from
those noisy observations as analytics.scores and analytics.risk define them.
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
    """A second, different hidden generator (the shape the demo's world, sync/fakeghl/world.py,
    had until its churn was tuned for a churn model: it now draws more trouble and less noise):
    a fade with p = 0.12 (usage falls linearly over 20-60 days to U(0.30, 0.55) of normal and
    stays), logins stopping for good with p = 0.07, shaky payers (8 %: past due each week with
    p = 0.15, else 0.008); weekly hazard min(0.35, 0.002 x frailty x exp(3 x decline + 0.45 x
    min(weeks quiet, 6) + 0.6 x past-due weeks among the last 8)), frailty exp(0.5 z). In
    this world every team logs in with a habit U(0.15, 0.9), business sizes are logN(0, 0.5),
    and nobody downgrades or leaves one by one."""
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


def _engagement_world(rng, n, created, saas):
    """The default hidden generator: a latent engagement per sub-account, simulated day by day
    from its creation (see the module docstring). Returns (engagement, past_due, downgraded,
    cancelled, gone, hazard, frailty), each (n x N_DAYS) but frailty (n x 1)."""
    t0 = int(created.min())
    frailty = np.exp(0.3 * rng.normal(0, 1, n))
    card_trouble = rng.random(n) < 0.08  # shaky payers: cards that fail now and then
    stalls = rng.random(n) < 0.25  # onboarding that stalls
    stall_until = rng.integers(45, 150, n)
    never_adopts = stalls & (rng.random(n) < 0.4)
    e = np.zeros(n)
    patience = np.zeros(n)  # engagement smoothed over about a month: churn follows it late
    target = np.zeros(n)
    speed = np.full(n, 1 / 30)
    past_due = np.zeros(n, dtype=bool)
    downgraded = np.zeros(n, dtype=bool)
    cancelled = np.zeros(n, dtype=bool)
    gone = np.zeros(n, dtype=bool)
    back_on = np.full(n, -1)
    delete_on = np.full(n, -1)
    shape = (n, N_DAYS)
    out = {
        "e": np.zeros(shape),
        "past_due": np.zeros(shape, dtype=bool),
        "downgraded": np.zeros(shape, dtype=bool),
        "cancelled": np.zeros(shape, dtype=bool),
        "gone": np.zeros(shape, dtype=bool),
        "hazard": np.zeros(shape),
        "target": np.zeros(shape),
        "patience": np.zeros(shape),
    }
    for day in range(t0, N_DAYS):
        age = day - created[:, 0]
        born = age == 0
        live = age >= 0
        # A new sub-account starts low and ramps up over weeks, unless its onboarding stalls.
        e[born] = -1.2 + 0.3 * rng.normal(0, 1, born.sum())
        patience[born] = -0.3
        target[born] = np.where(stalls[born], -1.4, 0.0)
        speed[born] = 1 / rng.uniform(15, 40, born.sum())
        ends_stall = stalls & (age == stall_until)
        target[ends_stall] = np.where(never_adopts[ends_stall], -1.6, 0.0)
        running = live & ~cancelled
        # Gradual declines (the target falls; engagement glides there over weeks), recoveries,
        # and rare cliffs (a key person leaves: engagement drops at once).
        declines = running & (target > -0.5) & (rng.random(n) < 1 / 800)
        target[declines] = -rng.uniform(0.8, 2.8, declines.sum())
        speed[declines] = 1 / rng.uniform(20, 70, declines.sum())
        recovers = running & (target < -0.5) & (age > 150) & (rng.random(n) < 1 / 150)
        target[recovers] = 0.0
        cliffs = running & (rng.random(n) < 1 / 3000)
        e[cliffs] -= rng.uniform(1.5, 3.0, cliffs.sum())
        target[cliffs] = np.minimum(target[cliffs], e[cliffs] + 0.5)
        e += speed * (target - e) + 0.06 * rng.normal(0, 1, n)
        patience += (e - patience) / 30
        # Payments: cards fail more when the account is disengaged, and for shaky payers.
        start_pd = np.where(card_trouble, 0.006, 0.0006) + 0.003 * (e < -1.0)
        past_due = np.where(past_due, rng.random(n) > 1 / 9, rng.random(n) < start_pd)
        past_due &= running & saas
        downgraded |= running & saas & (e < -1.0) & (rng.random(n) < 0.004)
        # The cancel hazard.
        logit_h = -2.0 * patience - 0.5 * e + 1.3 * past_due + 0.7 * downgraded + 0.7 * (age < 90)
        hazard = np.minimum(0.00006 * frailty * np.exp(logit_h), 0.04) + 0.00004  # + sudden
        hazard = np.where(running & (age >= 14), hazard, 0.0)
        cancel = rng.random(n) < hazard
        cancelled |= cancel
        # On cancelling: back within 5-25 days (no churn), back after 40-200 days (a churn,
        # then a reactivation), or gone for good (40 % of those deleted 10-60 days later).
        fate = rng.random(n)
        back_on = np.where(
            cancel,
            np.where(
                fate < 0.15,
                day + rng.integers(5, 25, n),
                np.where(fate < 0.23, day + rng.integers(40, 200, n), -1),
            ),
            back_on,
        )
        delete_on = np.where(
            cancel & (fate >= 0.23) & (rng.random(n) < 0.4),
            day + rng.integers(10, 60, n),
            delete_on,
        )
        gone |= cancelled & (delete_on == day)
        back = cancelled & ~gone & (back_on == day)
        cancelled[back] = False
        e[back] = -0.4
        patience[back] = -0.4
        target[back] = 0.0
        past_due[back] = False
        downgraded[back] = False
        if day >= 0:
            out["e"][:, day] = e
            out["past_due"][:, day] = past_due
            out["downgraded"][:, day] = downgraded
            out["cancelled"][:, day] = cancelled | gone
            out["gone"][:, day] = gone
            out["hazard"][:, day] = hazard
            out["target"][:, day] = target
            out["patience"][:, day] = patience
    return out, frailty[:, None]


def world(n: int = 2000, seed: int = 7, generator: str = "bench") -> tuple[cm.Panel, dict]:
    rng = np.random.default_rng(seed)
    t = np.arange(N_DAYS)[None, :].astype(np.float64)
    created = rng.integers(-400, 640, n)[:, None]
    exists = t >= created
    age = t - created
    users_n = rng.integers(1, 9, n)
    base = np.exp(rng.normal(0, 0.5 if generator == "fade" else 0.9, n))[:, None]
    saas = rng.random(n) < 0.8
    plan = rng.choice([97.0, 297.0, 497.0], n)[:, None]
    if generator == "fade":
        (decline, quiet, trouble, hazard, behaviour) = _fade_generator(rng, n, t, created, saas)
        hazard = hazard * (exists & (age >= 14))
        draws = rng.random((n, N_DAYS)) < hazard
        cancel = np.where(draws.any(axis=1), draws.argmax(axis=1), N_DAYS + 10_000)[:, None]
        comes_back = rng.random(n) < 0.15
        back_at = cancel + rng.integers(5, 25, n)[:, None]
        deleted = ~comes_back & (rng.random(n) < 0.4)
        delete_at = cancel + rng.integers(10, 60, n)[:, None]
        cancelled = (t >= cancel) & ~(comes_back[:, None] & (t >= back_at))
        gone = deleted[:, None] & (t >= delete_at)
        downgrade_on = np.zeros((n, N_DAYS), dtype=bool)
        level = base * (1 - decline) * np.where(quiet, 0.5, 1.0)
        level = level * np.minimum(1, 0.55 + age / 90)
        left = np.zeros((n, N_DAYS, 8), dtype=bool)
    else:
        sim, frailty = _engagement_world(rng, n, created, saas)
        e = sim["e"]
        hazard, behaviour = sim["hazard"], sim["hazard"] / frailty
        trouble = sim["past_due"]
        cancelled = sim["cancelled"]  # also after it is deleted
        gone = sim["gone"]
        downgrade_on = sim["downgraded"]
        # What the score's inputs see of the hidden state: 0 at normal engagement, up to 1.
        decline = np.clip(-e / 3, 0, 1)
        level = base * np.exp(np.minimum(e, 0.5))
        # Its people drift away as engagement falls: user k >= 1 logs in only while the
        # engagement is above that person's own threshold (the first user stays).
        thresholds = rng.uniform(-2.6, -0.2, (n, 8))
        thresholds[:, 0] = -np.inf
        left = e[:, :, None] < thresholds[:, None, :]
    ended = exists & (cancelled | gone)

    # Behaviour seen by GoCSM.
    quiet = np.zeros((n, N_DAYS), dtype=bool) if generator != "fade" else quiet
    level = level * np.where(cancelled | gone, 0.1, 1.0)
    # How often its people log in at normal engagement: some teams log in daily, others work
    # from the phone app or through staff and open the web app every week or two.
    style = np.exp(rng.uniform(np.log(0.06), 0, n))[:, None] if generator != "fade" else 1.0
    habit = rng.uniform(0.15, 0.9, (n, 8)) * style
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
    mrr_now = np.where(downgrade_on, np.maximum(plan - 200, 47), plan)
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
        cm.C = float(os.environ["CHURN_C"])  # try a fixed penalty strength
        cm.SELECT_PENALTY = False
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
        top = np.mean([cm.top_precision(a, b) for a, b, _c in oracle])
        print(
            "for reference, 90 d AUC of the generator's own hidden hazard on the cutoff day:"
            f" {cm.auc(y, p):.3f}; without its unobserved frailty: {cm.auc(y, q):.3f};"
            f" its top 10 %: {_pct(top)}"
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
