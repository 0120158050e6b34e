"""Sentiment (component 6) and the nps_detractor flag, hand-computed from the definitions in
analytics.scores and analytics.risk, through the real pipeline."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from analytics import scores
from analytics.models import NpsResponse
from analytics.pipeline import refresh_agency_days
from tests.analytics.daily import AGENCY, D, facts, flags, stored

pytestmark = pytest.mark.django_db(databases=["default", "analytics"])


def answer(loc, user, k, rating, name="", comment="", minute=0):
    """An NPS answer (rating None: a dismissal) given on D-k."""
    day = D - timedelta(days=k)
    NpsResponse.objects.create(
        agency_id=AGENCY,
        location_ghl_id=loc,
        user_ghl_id=user,
        user_name=name,
        outcome="dismissed" if rating is None else "answered",
        rating=rating,
        comment=comment,
        day=day,
        at=datetime(day.year, day.month, day.day, 12, minute, tzinfo=UTC),
    )


def trialing(loc):
    # Adoption 50 (workflows used, calendars/conversations not, payments used: 2 of 4) and
    # revenue 70 (trialing, no MRR); no login, engagement or growth data.
    facts(
        loc,
        10,
        workflows_published=1,
        calendars_active=0,
        conversations_total=0,
        subscription_status="trialing",
    )


def test_the_decay_rule_by_hand():
    assert scores.answer_weight(np.array([0, 90, 179, 180, -1])).tolist() == [
        1.0,
        0.5,
        pytest.approx(0.5 ** (179 / 90)),
        0.0,
        0.0,
    ]
    assert scores.nps_value(np.array([0, 7, 10])).tolist() == [0.0, 70.0, 100.0]
    # A 10 given today and a 2 given 90 days ago, in one sub-account:
    ratings = np.array([[10.0], [2.0]])
    ages = np.array([[0.0], [90.0]])
    weighted, weights = scores.sentiment_sums(ratings, ages, np.array([0, 0]), 1)
    # (1 * 100 + 0.5 * 20) / (1 + 0.5) = 110 / 1.5 = 73.33
    assert scores.sentiment(weighted, weights)[0, 0] == pytest.approx(73.3333333)
    # No answer: no data.
    weighted, weights = scores.sentiment_sums(
        np.full((1, 1), np.nan), np.full((1, 1), np.nan), np.array([0]), 1
    )
    assert np.isnan(scores.sentiment(weighted, weights)[0, 0])


def test_sentiment_joins_the_score_and_takes_its_weight(db):
    trialing("LocA")
    answer("LocA", "U1", 0, 10, "Ann")
    answer("LocA", "U2", 90, 2, "Bob")
    # Bob's older 9 is not his latest answer: only the 2 counts.
    answer("LocA", "U2", 120, 9, "Bob")
    # A dismissal is no answer.
    answer("LocA", "U3", 1, None, "Cy")
    # Another sub-account's and another agency's answers do not count.
    answer("LocB", "U9", 0, 0)
    NpsResponse.objects.create(
        agency_id=AGENCY + 1, location_ghl_id="LocA", user_ghl_id="U4", rating=0, day=D
    )
    refresh_agency_days(AGENCY, D, D)
    row = stored("LocA")
    assert row.components["sentiment"] == pytest.approx(73.33, abs=0.005)
    # (25 * 50 + 15 * 70 + 25 * 73.333) / 65 = (1250 + 1050 + 1833.33) / 65 = 63.59 -> 64
    assert row.contributions["sentiment"] == pytest.approx(28.21, abs=0.005)
    assert (row.score, row.band) == (64, "healthy")


def test_no_answers_is_no_data_and_the_weight_is_shared_as_before(db):
    trialing("LocA")
    answer("LocA", "U1", 1, None)  # dismissed only
    answer("LocA", "U2", 180, 0)  # 180 days old: outside D-179..D
    refresh_agency_days(AGENCY, D, D)
    row = stored("LocA")
    assert row.components["sentiment"] is None
    # (25 * 50 + 15 * 70) / 40 = 57.5 -> 58: the score without the component.
    assert row.contributions == {"adoption": 31.25, "revenue": 26.25}
    assert row.score == 58
    assert flags("LocA") == {}


def test_an_answer_179_days_old_still_counts_at_a_quarter_weight(db):
    trialing("LocA")
    answer("LocA", "U1", 179, 10)
    answer("LocA", "U2", 0, 0)
    refresh_agency_days(AGENCY, D, D)
    w = 0.5 ** (179 / 90)
    # (w * 100 + 1 * 0) / (w + 1)
    assert stored("LocA").components["sentiment"] == pytest.approx(
        round(100 * w / (w + 1), 2), abs=0.005
    )


def test_a_detractor_raises_the_flag_with_who_what_and_when(db):
    trialing("LocA")
    answer("LocA", "U1", 20, 3, "Dana Lombardi")
    answer("LocA", "U2", 5, 6, "Eli")  # the most recent detractor
    answer("LocA", "U3", 2, 9, "Fay")
    refresh_agency_days(AGENCY, D - timedelta(days=1), D)
    assert flags("LocA")["nps_detractor"] == (
        f"Eli rated 6/10 on {(D - timedelta(days=5)).isoformat()} (+1 other detractor)"
    )
    # A passive 7 is no detractor; a later answer from the same person replaces the old one.
    answer("LocA", "U2", 0, 8, "Eli")
    answer("LocA", "U1", 0, 10, "Dana Lombardi")
    refresh_agency_days(AGENCY, D, D)
    assert "nps_detractor" not in flags("LocA")
    # Still raised the day before (the recompute of D alone keeps D-1).
    assert "nps_detractor" in flags("LocA", D - timedelta(days=1))


def test_a_detractor_answer_older_than_90_days_raises_nothing(db):
    trialing("LocA")
    answer("LocA", "U1", 90, 0, "Gus")
    refresh_agency_days(AGENCY, D, D)
    assert "nps_detractor" not in flags("LocA")
    # It still weighs in the component (0 at weight 0.5 is the only answer: 0).
    assert stored("LocA").components["sentiment"] == 0.0
