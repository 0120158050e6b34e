"""Predicted churn per agency (analytics.churn): its stored history read back as labels and
features, its own model (never another agency's data), the cold-start fallback, and where users
see it (overview, at-risk list, sub-account page, Churn prediction page)."""

import csv
import io
import math
from datetime import date, timedelta

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Location
from analytics import churn, churnmodel, current_state
from analytics.models import (
    ChurnModel,
    ChurnPrediction,
    HealthScore,
    Lifecycle,
    LocationDay,
    LocationState,
    MRRSource,
    RiskFlag,
    UserActivityDay,
)

LAST = date(2026, 3, 31)
DAYS = 420


def _history(
    agency,
    churners: int,
    fading: int = 3,
    healthy: int = 22,
    flip: bool = False,
    sentiment: bool = False,
    seed: int = 0,
):
    """Sub-accounts with DAYS days of stored state ending LAST. Churners go quiet (no logins,
    a no-login flag, a low score) 40 days before their paid subscription is cancelled for good;
    `fading` ones went quiet lately and are still paying; healthy ones log in and keep paying.
    `flip`: the opposite behaviour (the quiet ones stay, busy ones leave), for another agency."""
    rng = np.random.default_rng(seed)
    first = LAST - timedelta(days=DAYS - 1)
    plan = []
    for i in range(churners):
        plan.append(("churn", int(rng.integers(90, DAYS - 160))))
    plan += [("fading", None)] * fading + [("healthy", None)] * healthy
    days, scores_, flags, activity = [], [], [], []
    for i, (kind, churn_at) in enumerate(plan):
        loc = f"Loc{i:04d}"
        Location.objects.for_agency(agency).get_or_create(
            agency=agency, ghl_id=loc, defaults={"name": f"Sub {i}"}
        )
        quiet_from = (
            churn_at - 40 if kind == "churn" else DAYS - 35 if kind == "fading" else DAYS + 1
        )
        if flip:
            quiet_from = DAYS + 1 if kind == "churn" else 0 if kind == "healthy" else quiet_from
        for k in range(DAYS):
            d = first + timedelta(days=k)
            gone = churn_at is not None and k >= churn_at
            lifecycle = (
                Lifecycle.CHURNED
                if gone
                else Lifecycle.ONBOARDING
                if k < 30
                else Lifecycle.CONNECTED
            )
            days.append(
                LocationDay(
                    agency_id=agency.pk,
                    location_ghl_id=loc,
                    day=d,
                    lifecycle=lifecycle,
                    scored=not gone,
                    subscription_status="canceled" if gone else "active",
                    mrr_cents=0 if gone else 9700 + 1000 * (i % 5),
                    currency="USD",
                    mrr_source=MRRSource.GHL,
                )
            )
            if gone:
                continue
            quiet = k >= quiet_from
            score = 20 if quiet else 80
            comps = {"login_activity": 5.0 if quiet else 85.0, "adoption": 60.0}
            if sentiment:
                comps["sentiment"] = 30.0 if quiet else 70.0
            scores_.append(
                HealthScore(
                    agency_id=agency.pk,
                    location_ghl_id=loc,
                    day=d,
                    score=score,
                    band="at_risk" if quiet else "thriving",
                    components=comps,
                    contributions={},
                )
            )
            if quiet and k - quiet_from >= 30:
                flags.append(
                    RiskFlag(
                        agency_id=agency.pk,
                        location_ghl_id=loc,
                        day=d,
                        code="no_login_30",
                        weight=0.5,
                        evidence="No login for 30+ days",
                    )
                )
            if not quiet and (k + i) % 3 == 0:
                activity.append(
                    UserActivityDay(
                        agency_id=agency.pk,
                        location_ghl_id=loc,
                        user_ghl_id=f"U{i}",
                        day=d,
                        sessions=1 + (k % 2),
                    )
                )
    for model, rows in (
        (LocationDay, days),
        (HealthScore, scores_),
        (RiskFlag, flags),
        (UserActivityDay, activity),
    ):
        model.objects.using("analytics").bulk_create(rows, batch_size=2000)
    current_state.refresh(agency.pk)
    return plan


@pytest.fixture
def trained(personas):
    agency = personas["agency_a"]
    plan = _history(agency, churners=15, sentiment=True)
    return agency, plan, churn.train(agency)


def test_stored_state_gives_the_written_labels(personas):
    """Ended = churned or not connected, or MRR 0 after paying; a churn is an end that holds
    30 days, undone by a reactivation within them."""
    agency = personas["agency_b"]
    first = LAST - timedelta(days=99)

    def write(loc, states):
        LocationDay.objects.using("analytics").bulk_create(
            LocationDay(
                agency_id=agency.pk,
                location_ghl_id=loc,
                day=first + timedelta(days=k),
                lifecycle=lifecycle,
                scored=lifecycle in (Lifecycle.CONNECTED, Lifecycle.ONBOARDING),
                subscription_status="active",
                mrr_cents=cents,
                currency="USD" if cents is not None else "",
                mrr_source=MRRSource.GHL if cents is not None else MRRSource.NONE,
            )
            for k, (lifecycle, cents) in enumerate(states)
        )

    c, n = Lifecycle.CONNECTED, Lifecycle.NOT_CONNECTED
    write("Zero", [(c, 5000)] * 40 + [(c, 0)] * 60)  # MRR falls to 0 and stays: churn on 40
    write("Back", [(c, 5000)] * 40 + [(c, 0)] * 20 + [(c, 5000)] * 40)  # back within 30 days
    write("Gone", [(c, None)] * 50 + [(n, None)] * 50)  # uninstalled, never billed: churn on 50
    write("Free", [(c, None)] * 100)  # never paid, never ends
    panel = churn.load_panel(agency)
    events = churnmodel.churn_events(panel.exists, panel.ended)
    got = {loc: np.flatnonzero(events[i]).tolist() for i, loc in enumerate(panel.locations)}
    assert got == {"Back": [], "Free": [], "Gone": [50], "Zero": [40]}


def test_cold_start_keeps_the_rule_ranking_and_says_why(personas, login):
    agency = personas["agency_a"]
    _history(agency, churners=3)
    stored = churn.train(agency)
    assert stored.status == ChurnModel.STATUS_COLD_START
    assert stored.events == 3 and stored.events_needed == 10
    assert stored.fitted == {}
    assert churn.probabilities(agency) == {}
    assert (
        not LocationState.objects.for_agency(agency)
        .filter(churn_probability__isnull=False)
        .exists()
    )
    client = login(personas["owner_a"])
    for name in ("analytics:at-risk", "analytics:overview", "analytics:churn"):
        html = client.get(reverse(name)).content.decode()
        assert "No churn prediction yet" in html
        assert "has 3 churn events a model can learn from" in html and "needs at least 10" in html
        assert "the 60 days before it" in html and "the 30 days after it" in html
        # No column of dashes: the overview's Churn (90 d) column waits for a model.
        assert ">Churn (90 d)</th>" not in html
    # The at-risk list is the rule-based one: ranked by MRR at risk.
    body = client.get(reverse("analytics:at-risk") + "?format=csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and all(r["churn_probability_90d"] == "" for r in rows)
    at_risk = [float(r["mrr_at_risk"]) for r in rows]
    assert at_risk == sorted(at_risk, reverse=True)


def test_model_predicts_every_alive_sub_account_from_its_behaviour(trained):
    agency, plan, stored = trained
    assert stored.status == ChurnModel.STATUS_MODEL
    assert stored.events >= churnmodel.MIN_EVENTS
    assert stored.day == LAST
    probs = churn.probabilities(agency)
    alive = {f"Loc{i:04d}" for i, (kind, _d) in enumerate(plan) if kind != "churn"}
    assert set(probs) == alive
    fading = [probs[f"Loc{i:04d}"] for i, (k, _d) in enumerate(plan) if k == "fading"]
    healthy = [probs[f"Loc{i:04d}"] for i, (k, _d) in enumerate(plan) if k == "healthy"]
    assert min(fading) > max(healthy)
    # The sentiment component is read because it is stored, under its own name.
    assert "sentiment" in stored.fitted["names"]
    for state in LocationState.objects.for_agency(agency).filter(location_ghl_id__in=alive):
        assert state.churn_probability == pytest.approx(probs[state.location_ghl_id])
        assert state.expected_mrr_lost == round(state.churn_probability * state.mrr_cents)


def test_stored_explanations_add_up_to_each_prediction(trained):
    agency, _plan, _stored = trained
    predictions = list(ChurnPrediction.objects.for_agency(agency))
    assert predictions
    for p in predictions:
        assert p.intercept + sum(p.drivers.values()) == pytest.approx(p.logit, abs=1e-9)
        assert 1 / (1 + math.exp(-p.logit)) == pytest.approx(p.probability, abs=1e-12)
        top = churn.top_drivers(p)
        assert len(top) == min(churn.TOP_DRIVERS, len(p.drivers))
        assert [abs(v) for _k, v in top] == sorted((abs(v) for _k, v in top), reverse=True)


def test_pages_show_the_probability_and_rank_by_expected_mrr_lost(trained, personas, login):
    agency, plan, _stored = trained
    client = login(personas["owner_a"])
    overview = client.get(reverse("analytics:overview")).content.decode()
    assert "Churn (90 d)" in overview and "No churn prediction yet" not in overview
    body = client.get(reverse("analytics:at-risk") + "?format=csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    lost = [float(r["expected_mrr_lost"]) for r in rows]
    assert lost and lost == sorted(lost, reverse=True)
    fading = {f"Loc{i:04d}" for i, (k, _d) in enumerate(plan) if k == "fading"}
    assert fading <= {r["id"] for r in rows}
    html = client.get(reverse("analytics:at-risk")).content.decode()
    assert "Expected MRR lost (90 d)" in html
    loc = sorted(fading)[0]
    page = client.get(reverse("analytics:location-detail", args=[loc])).content.decode()
    p = ChurnPrediction.objects.for_agency(agency).get(location_ghl_id=loc)
    assert f"{p.probability * 100:.0f} %" in page and "Top drivers" in page
    assert "Login recency" in page or "Login activity" in page
    churn_page = client.get(reverse("analytics:churn")).content.decode()
    assert "Backtest" in churn_page and "Calibration" in churn_page


def test_no_agency_data_trains_another_agency_model(personas):
    a, b = personas["agency_a"], personas["agency_b"]
    _history(a, churners=15, seed=1)
    first = churn.train(a).fitted
    # Agency B: the same sub-account ids with the opposite behaviour, and more of them.
    _history(b, churners=25, flip=True, seed=2)
    again = churn.train(a).fitted
    assert again == first
    assert set(churn.probabilities(a)) <= set(
        Location.objects.for_agency(a).values_list("ghl_id", flat=True)
    )
    other = churn.train(b)
    assert other.status == ChurnModel.STATUS_MODEL
    assert other.fitted["coef"] != first["coef"]
    assert ChurnModel.objects.for_agency(a).get().fitted == first
    # Each agency's predictions come from its own model.
    pa = ChurnPrediction.objects.for_agency(a).get(location_ghl_id="Loc0030")
    pb = ChurnPrediction.objects.for_agency(b).get(location_ghl_id="Loc0030")
    assert pa.intercept == first["intercept"] and pb.intercept == other.fitted["intercept"]


def test_weekly_beat_trains_each_installed_agency(personas, eager_celery):
    from analytics import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["weekly-train-churn-model-per-agency"]
    assert entry["task"] == "analytics.tasks.train_churn_models"
    _history(personas["agency_a"], churners=2)
    assert tasks.train_churn_models() == 2
    assert ChurnModel.objects.for_agency(personas["agency_a"]).get().events == 2
    assert ChurnModel.objects.for_agency(personas["agency_b"]).get().status == "cold_start"


def test_a_user_limited_to_some_sub_accounts_sees_no_agency_wide_backtest(
    trained, make_user, login
):
    agency, _plan, _stored = trained
    person = make_user(agency, restrict_sub_account=True, location_ids=["Loc0030"])
    html = login(person, location_ids=["Loc0030"]).get(reverse("analytics:churn")).content.decode()
    assert "covers every sub-account of the agency" in html
    assert "Calibration" not in html
