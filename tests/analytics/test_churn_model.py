"""Predicted churn, over arrays (analytics.churnmodel): the labels' written rule (reactivation
within the window undoes a churn), the time-split guarantee (nothing after a cutoff reaches a
training set) and explanations that add up to the prediction."""

import sys
from pathlib import Path

import numpy as np
import pytest

from analytics import churnmodel as cm

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from churn import world

W = cm.WINDOW


def _series(*runs):
    """(exists, ended) of one sub-account from runs of (days, state): "-" absent, "a" alive,
    "e" ended."""
    states = "".join(state * days for days, state in runs)
    exists = np.array([[s != "-" for s in states]])
    ended = np.array([[s == "e" for s in states]])
    return exists, ended


def test_churn_on_the_first_day_of_an_end_that_holds_the_window():
    exists, ended = _series((10, "a"), (W, "e"))
    events = cm.churn_events(exists, ended)
    assert np.flatnonzero(events[0]).tolist() == [10]


def test_reactivation_within_the_window_undoes_the_churn():
    exists, ended = _series((10, "a"), (W - 1, "e"), (5, "a"), (W + 3, "e"))
    events = cm.churn_events(exists, ended)
    # The first end lasted W - 1 days: not a churn. The second held: churn on its first day.
    assert np.flatnonzero(events[0]).tolist() == [10 + W - 1 + 5]


def test_a_comeback_after_the_window_keeps_the_churn_and_a_later_end_is_another_churn():
    exists, ended = _series((5, "a"), (W, "e"), (20, "a"), (W, "e"))
    assert np.flatnonzero(cm.churn_events(exists, ended)[0]).tolist() == [5, 5 + W + 20]


def test_an_end_not_yet_held_for_the_window_is_not_known_and_not_a_churn():
    exists, ended = _series((10, "a"), (W - 1, "e"))
    assert not cm.churn_events(exists, ended).any()


def test_a_sub_account_that_never_was_alive_does_not_churn():
    exists, ended = _series((5, "-"), (W + 5, "e"))
    assert not cm.churn_events(exists, ended).any()


def test_label_is_churn_within_the_horizon_after_the_day():
    exists, ended = _series((40, "a"), (W, "e"))
    events = cm.churn_events(exists, ended)
    cols = np.array([0, 9, 10, 39, 40])
    rows = np.zeros(len(cols), dtype=int)
    # Churn on day 40: within 30 days after days 10..39, not after day 9 (40 > 9 + 30)
    # nor on day 40 itself (the label looks at d+1 .. d+h).
    assert cm.labels(events, rows, cols, 30).tolist() == [False, False, True, True, False]


def test_label_known_only_once_the_last_possible_churn_day_has_its_window():
    assert cm.label_known(np.array([0]), 90, 90 + W - 1).tolist() == [True]
    assert cm.label_known(np.array([0]), 90, 90 + W - 2).tolist() == [False]


@pytest.fixture(scope="module")
def small_world():
    panel, _info = world(300, seed=3)
    return panel


def _scrambled_after(panel: cm.Panel, cutoff: int, seed: int = 1) -> cm.Panel:
    """The same panel with every array's days after `cutoff` replaced by noise."""
    rng = np.random.default_rng(seed)

    def noise(x):
        x = x.copy()
        tail = x[:, cutoff + 1 :]
        if x.dtype == bool:
            x[:, cutoff + 1 :] = rng.random(tail.shape) < 0.5
        else:
            x[:, cutoff + 1 :] = rng.integers(0, 7, tail.shape).astype(x.dtype)
        return x

    return cm.Panel(
        locations=panel.locations,
        days=panel.days,
        exists=panel.exists,  # existence is a fact of the past for days <= cutoff anyway
        ended=noise(panel.ended),
        score=noise(panel.score),
        components={c: noise(v) for c, v in panel.components.items()},
        flags={c: noise(v) for c, v in panel.flags.items()},
        risk_weight=noise(panel.risk_weight),
        sessions=noise(panel.sessions),
        active_users=noise(panel.active_users),
        tiers={t: noise(v) for t, v in panel.tiers.items()},
        users=noise(panel.users),
        usage=noise(panel.usage),
        mrr=noise(panel.mrr),
        status=noise(panel.status),
        first=panel.first,
        tracked_from=panel.tracked_from,
    )


def test_no_future_data_reaches_a_training_set(small_world):
    cutoff, horizon = 400, 90
    ts = cm.training_set(small_world, cutoff, horizon)
    assert ts.y.any() and not ts.y.all()
    assert (ts.cols + horizon + W - 1 <= cutoff).all()
    other = _scrambled_after(small_world, cutoff)
    # The future really differs ...
    assert not np.array_equal(other.ended, small_world.ended)
    ts2 = cm.training_set(other, cutoff, horizon)
    # ... and the training rows, their labels and their features are the same.
    assert np.array_equal(ts.rows, ts2.rows) and np.array_equal(ts.cols, ts2.cols)
    assert np.array_equal(ts.y, ts2.y)
    assert ts.events == ts2.events
    f1 = cm.features(small_world, ts.rows, ts.cols, {})
    f2 = cm.features(other, ts2.rows, ts2.cols, {})
    assert np.array_equal(f1.X, f2.X)
    # The penalty is chosen on a time split inside the training rows: the same, too.
    m1 = cm.fit(f1, ts.y, horizon, ts.events, days=ts.cols)
    m2 = cm.fit(f2, ts2.y, horizon, ts2.events, days=ts2.cols)
    assert m1.penalty == m2.penalty
    assert np.array_equal(m1.coef, m2.coef)


def test_the_penalty_is_chosen_on_the_last_training_days_or_left_at_the_default(small_world):
    cutoff = 600
    ts = cm.training_set(small_world, cutoff, 90)
    feats = cm.features(small_world, ts.rows, ts.cols, {})
    late = ts.cols > ts.cols.max() - cm.VALIDATION_DAYS
    assert ts.y[late].sum() >= cm.MIN_EVENTS  # the split has churners to score on
    chosen = cm.choose_penalty(feats.X, ts.y, ts.cols, 90)
    assert chosen in cm.PENALTIES
    model = cm.fit(feats, ts.y, 90, ts.events, days=ts.cols)
    assert model.penalty == chosen == cm.Model.from_json(model.as_json()).penalty
    # Too few churners on one side of the split: the default penalty.
    y = ts.y.copy()
    y[late] = False
    y[np.flatnonzero(late)[: cm.MIN_EVENTS - 1]] = True
    assert cm.choose_penalty(feats.X, y, ts.cols, 90) == cm.C
    # Without the rows' days (no split possible), the default penalty.
    assert cm.fit(feats, ts.y, 90, ts.events).penalty == cm.C


def test_the_backtest_model_at_a_cutoff_ignores_what_came_after_it(small_world):
    cutoff = 400
    # Prediction rows at the cutoff read days <= cutoff only.
    rows = np.flatnonzero(small_world.alive[:, cutoff])
    cols = np.full(len(rows), cutoff)
    other = _scrambled_after(small_world, cutoff, seed=5)
    a = cm.features(small_world, rows, cols, {}).X
    b = cm.features(other, rows, cols, {}).X
    assert np.array_equal(a, b)


def test_explanations_add_up_to_the_prediction(small_world):
    cutoff = 500
    ts = cm.training_set(small_world, cutoff, 90)
    feats = cm.features(small_world, ts.rows, ts.cols, {})
    model = cm.fit(feats, ts.y, 90, ts.events)
    stored = cm.Model.from_json(model.as_json())  # what the database keeps
    rows = np.flatnonzero(small_world.alive[:, cutoff])[:50]
    X = cm.features(small_world, rows, np.full(len(rows), cutoff), {}).X
    p = stored.predict(X)
    for x, prob in zip(X, p, strict=True):
        drivers = stored.contributions(x)
        logit = stored.intercept + sum(drivers.values())
        assert logit == pytest.approx(float(stored.logit(x.reshape(1, -1))[0]), abs=1e-9)
        assert 1 / (1 + np.exp(-logit)) == pytest.approx(prob, abs=1e-12)
    assert len(set(stored.groups)) < len(stored.names)  # drivers group several features


def test_the_backtest_reports_each_horizon_and_the_rules_on_the_same_cutoffs(small_world):
    bt = cm.backtest(small_world, cutoffs=[400, 500])
    assert {r.cutoff for r in bt.results} == {400, 500}
    for h in cm.HORIZONS:
        m = bt.pooled[h]
        assert 0 <= m["auc"] <= 1 and 0 <= m["top_rules"] <= 1
        assert m["rows"] == sum(r.alive for r in bt.results if r.horizon == h)
    bins = bt.calibration[90]
    assert sum(b["rows"] for b in bins) == bt.pooled[90]["rows"]


def test_below_the_minimum_events_a_cutoff_is_skipped():
    panel, _ = world(40, seed=11)
    bt = cm.backtest(panel, cutoffs=[200])
    counted = {h: cm.training_set(panel, 200, h).events for h in cm.HORIZONS}
    assert max(counted.values()) < cm.MIN_EVENTS
    assert bt.results == []
    assert sorted(h for _day, h, _n in bt.skipped) == list(cm.HORIZONS)


def test_features_do_not_depend_on_which_arrays_were_freed_before(small_world):
    """Window sums are cached per array; a temporary array freed after one feature must not
    hand its sums to another array that reuses its memory."""
    rows = np.flatnonzero(small_world.alive[:, 500])
    cols = np.full(len(rows), 500)
    r = cm._Reader(small_world, rows, cols)
    first = r.total(small_world.sessions > 0, 30)
    for _ in range(20):  # freed temporaries: some reuse the id of the first
        other = np.zeros_like(small_world.sessions, dtype=bool)
        assert not r.total(other, 30).any()
        del other
    assert np.array_equal(r.total(small_world.sessions > 0, 30), first)
