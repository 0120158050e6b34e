"""Only the days a sub-account may be scored get a score, flags and alerts (analytics.scores,
"Scored days"): none before its first fact or activity row, none where the caller's mask says no.
"""

from datetime import timedelta

import numpy as np
import pytest

from analytics import history, score_settings, scoring
from analytics.models import Alert, HealthScore, RiskFlag
from analytics.pipeline import LOOKBACK_DAYS, _before, _sub_accounts, refresh_agency_days
from tests.analytics.daily import AGENCY, D, alerts, facts, session


def scored(loc: str) -> list[int]:
    """Day offsets k (the day is D-k) with a score, newest last."""
    return sorted(
        (
            (D - d).days
            for d in HealthScore.objects.for_agency(AGENCY)
            .filter(location_ghl_id=loc)
            .values_list("day", flat=True)
        ),
        reverse=True,
    )


def flagged_days(loc: str) -> set[int]:
    return {
        (D - d).days
        for d in RiskFlag.objects.for_agency(AGENCY)
        .filter(location_ghl_id=loc)
        .values_list("day", flat=True)
    }


@pytest.mark.django_db
def test_no_score_before_the_first_fact_or_activity_row():
    # The agency has tracker data from D-40 (another sub-account's users log in).
    facts("LocOld", 40, users_total=2, workflows_published=1, subscription_status="active")
    for k in range(40, -1, -3):
        session("LocOld", k)
    # LocNew: its users were seen (a session on D-5) before its first facts (D-3).
    facts("LocNew", 3, users_total=1, workflows_published=1)
    session("LocNew", 5)
    # LocFacts: facts from D-8, no activity of its own.
    facts("LocFacts", 8, users_total=1, workflows_published=1)
    refresh_agency_days(AGENCY, D - timedelta(days=20), D)
    assert scored("LocOld") == list(range(20, -1, -1))
    assert scored("LocNew") == [5, 4, 3, 2, 1, 0]
    assert scored("LocFacts") == list(range(8, -1, -1))
    # Flags start with the scores: on D-12 LocFacts did not exist, so its "no login" is not news.
    assert min(flagged_days("LocFacts")) <= 8
    assert max(flagged_days("LocFacts") | flagged_days("LocNew")) <= 8
    assert all(a[0] <= 8 for a in alerts("LocFacts") + alerts("LocNew"))


@pytest.mark.django_db
def test_the_core_scores_only_the_days_the_caller_allows():
    facts("LocA", 30, subscription_status=lambda k: "past_due" if k < 15 else "active")
    facts("LocB", 30, subscription_status="past_due")
    first = D - timedelta(days=20)
    base = first - timedelta(days=LOOKBACK_DAYS)
    days = [base + timedelta(days=i) for i in range((D - base).days + 1)]
    locs, first_days, _tracked = _sub_accounts(AGENCY, base, D)
    with history.Reader(AGENCY, base, D) as reader:
        h = reader.read(locs, first_days)
    weights, floors = score_settings.by_day(AGENCY, days)
    # LocA may not be scored from D-12 to D-6 (as if uninstalled), LocB on every day.
    may = np.ones((2, len(days)), dtype=bool)
    blocked = [days.index(D - timedelta(days=k)) for k in range(12, 5, -1)]
    may[0, blocked] = False
    out = scoring.Rows()
    with np.errstate(all="raise"):
        scoring.evaluate(
            AGENCY,
            h,
            LOOKBACK_DAYS,
            days,
            None,
            weights,
            floors,
            may,
            _before(AGENCY, locs, base, first, len(days)),
            None,
            out,
        )
    days_of = {
        kind: {(row[1], (D - row[2]).days) for row in rows}
        for kind, rows in (("scores", out.scores), ("flags", out.flags), ("alerts", out.alerts))
    }
    assert {k for loc, k in days_of["scores"] if loc == "LocA"} == set(range(21)) - set(
        range(6, 13)
    )
    assert {k for loc, k in days_of["scores"] if loc == "LocB"} == set(range(21))
    assert not {k for loc, k in days_of["flags"] | days_of["alerts"] if loc == "LocA"} & set(
        range(6, 13)
    )
    # payment_failed from D-14: its episode starts on D-14 and, the days between being
    # unscored, on D-5 again (not raised on any scored day of the 7 before).
    assert sorted(
        (D - row[2]).days for row in out.alerts if row[1] == "LocA" and row[4] == "payment_failed"
    ) == [5, 14]
    assert not Alert.objects.for_agency(AGENCY).exists()  # evaluate only returns rows


@pytest.mark.django_db
def test_a_recompute_that_fails_midway_leaves_the_previous_rows(monkeypatch):
    from analytics import pipeline

    for loc in ("LocA", "LocB", "LocC"):
        facts(loc, 20, subscription_status="past_due", workflows_published=1)
    refresh_agency_days(AGENCY, D - timedelta(days=20), D)

    def stored_rows():
        return [
            sorted(model.objects.for_agency(AGENCY).values_list("location_ghl_id", "day"))
            for model in (HealthScore, RiskFlag, Alert)
        ]

    before = stored_rows()
    assert all(before)
    # One sub-account per chunk; the second chunk fails after the first was written.
    monkeypatch.setattr(pipeline, "CHUNK", 1)
    real_evaluate, calls = scoring.evaluate, []

    def failing_evaluate(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(scoring, "evaluate", failing_evaluate)
    with pytest.raises(RuntimeError):
        refresh_agency_days(AGENCY, D - timedelta(days=20), D)
    assert stored_rows() == before


@pytest.mark.django_db
def test_any_chunk_size_writes_the_same_rows(monkeypatch):
    from analytics import pipeline

    # Facts only, activity only, both, and late starters, in an order unlike their ids'.
    facts("LocZ", 40, users_total=2, workflows_published=1, subscription_status="past_due")
    facts("LocA", 10, users_total=1)
    facts("Loc_m", 25, users_total=0, subscription_status="active", mrr_cents=9700)
    for k in (30, 12, 3):
        session("LocZ", k)
        session("LocOnlyActive", k)
    session("LocA", 2, user="U2")

    def everything():
        return [
            sorted(model.objects.for_agency(AGENCY).values_list(*fields))
            for model, fields in (
                (HealthScore, ("location_ghl_id", "day", "score", "components", "contributions")),
                (RiskFlag, ("location_ghl_id", "day", "code", "evidence")),
                (Alert, ("location_ghl_id", "day", "kind", "code", "message")),
            )
        ]

    refresh_agency_days(AGENCY, D - timedelta(days=30), D)
    whole = everything()
    assert {row[0] for row in whole[0]} == {"LocZ", "LocA", "Loc_m", "LocOnlyActive"}
    for size in (1, 2, 3):
        monkeypatch.setattr(pipeline, "CHUNK", size)
        refresh_agency_days(AGENCY, D - timedelta(days=30), D)
        assert everything() == whole
