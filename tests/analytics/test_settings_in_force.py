"""Every day is scored with the weights and bands in force on that day (analytics.score_settings).

Saving settings on D writes a marker; a later recompute of any range, nightly or full, keeps the
days before D exactly as they were scored, and nothing drops or alerts before the change.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from analytics import score_settings, scores
from analytics.models import Alert, HealthScore, RiskFlag, ScoreSettings, WeightChange
from analytics.pipeline import refresh_agency_days
from tests.analytics.daily import D, facts

DEFAULT_W = [scores.DEFAULT_WEIGHTS[c] for c in scores.COMPONENTS]


def history_of(agency_id: int) -> dict:
    return {
        (loc, day): (score, band, components, contributions)
        for loc, day, score, band, components, contributions in HealthScore.objects.for_agency(
            agency_id
        ).values_list("location_ghl_id", "day", "score", "band", "components", "contributions")
    }


def events_before(agency_id: int, day) -> tuple[set, set]:
    """(flags, alerts) stored for the days before `day`."""
    return (
        set(
            RiskFlag.objects.for_agency(agency_id)
            .filter(day__lt=day)
            .values_list("location_ghl_id", "day", "code", "evidence")
        ),
        set(
            Alert.objects.for_agency(agency_id)
            .filter(day__lt=day)
            .values_list("location_ghl_id", "day", "kind", "code", "message")
        ),
    )


@pytest.mark.django_db
def test_markers_decide_the_settings_of_each_day():
    days = [D - timedelta(days=k) for k in (3, 2, 1, 0)]
    weights, floors = score_settings.by_day(9, days)
    assert weights.T.tolist() == [DEFAULT_W] * 4  # nothing saved: defaults every day
    a = {"weights": {**scores.DEFAULT_WEIGHTS, "growth": 1}, "bands": {"steady": 10}}
    b = {"weights": {**scores.DEFAULT_WEIGHTS, "growth": 2}, "bands": {"steady": 20}}
    c = {"weights": {**scores.DEFAULT_WEIGHTS, "growth": 3}, "bands": {"steady": 30}}
    at = datetime(2026, 3, 1, tzinfo=UTC)
    # Two changes on D-2 (the later one counts), one on D: the current settings are c's.
    WeightChange.objects.create(agency_id=9, day=days[1], at=at, old={}, new=a)
    WeightChange.objects.create(agency_id=9, day=days[1], at=at + timedelta(hours=1), old=a, new=b)
    WeightChange.objects.create(agency_id=9, day=days[3], at=at + timedelta(days=2), old=b, new=c)
    ScoreSettings.objects.create(agency_id=9, weights=c["weights"], bands=c["bands"])
    weights, floors = score_settings.by_day(9, days)
    # D-3: before the first marker, its `old` ({}: the defaults); D-2 and D-1: b; D: current.
    assert weights[scores.COMPONENTS.index("growth")].tolist() == [10, 2, 2, 3]
    assert floors[2].tolist() == [26, 20, 20, 30]
    assert floors[0].tolist() == [76, 76, 76, 76]  # keys a marker leaves out: defaults


@pytest.mark.django_db
def test_saving_new_settings_keeps_the_history_before_the_marker(personas, login):
    agency = personas["agency_a"]
    # LocA: adoption 100, revenue 100 -> 100. LocB: adoption 50 -> (25 * 50 + 15 * 100) / 40
    # = 68.75 -> 69, Healthy under the defaults (its one workflow was unpublished after its first
    # day). Twenty days: no engagement or growth data.
    facts("LocA", 20, agency=agency.pk, subscription_status="active", workflows_published=1)
    facts(
        "LocB",
        20,
        agency=agency.pk,
        subscription_status="active",
        workflows_published=lambda k: int(k == 20),
    )
    first = D - timedelta(days=20)
    refresh_agency_days(agency.pk, first, D)
    before = history_of(agency.pk)
    flags_before, alerts_before = events_before(agency.pk, D)
    assert before[("LocB", D)][:2] == (69, "healthy")
    with time_machine.travel(datetime(2026, 3, 31, 17, 0, tzinfo=UTC)):  # D in Chicago
        form = {
            "w_login_activity": "30",
            "w_adoption": "50",
            "w_engagement": "20",
            "w_revenue": "15",
            "w_growth": "10",
            "w_sentiment": "25",
            "b_thriving": "90",
            "b_healthy": "80",
            "b_steady": "70",
        }
        response = login(personas["owner_a"]).post(reverse("analytics:settings"), form)
        assert response.status_code == 302
    assert WeightChange.objects.for_agency(agency.pk).get().day == D
    # The nightly refresh of the last 7 days, then a full recompute.
    refresh_agency_days(agency.pk, D - timedelta(days=6), D)
    refresh_agency_days(agency.pk, first, D)
    after = history_of(agency.pk)
    assert {k: v for k, v in after.items() if k[1] < D} == {
        k: v for k, v in before.items() if k[1] < D
    }
    # D uses the new weights and bands: (50 * 50 + 15 * 100) / 65 = 61.5 -> 62, below 70.
    assert after[("LocB", D)][:2] == (62, "at_risk")
    assert after[("LocA", D)][:2] == (100, "thriving")
    # Nothing before the marker moved: no flag (LocB's first-day Thriving -> Healthy never held
    # and is no churn risk) and no alert, before or after the save.
    flags_after, alerts_after = events_before(agency.pk, D)
    assert flags_after == flags_before == set()
    assert alerts_after == alerts_before == set()


def test_the_settings_page_shows_the_definitions_in_force(personas, login):
    page = login(personas["owner_a"]).get(reverse("analytics:settings")).content.decode()
    # Scores, scored days and settings in force; flags (low_score among them) and alerts.
    for text in ("Scored days:", "Settings in force:", "low_score (0.50)", "3 days in a row"):
        assert text in page
