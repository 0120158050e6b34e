"""The tracker's NPS prompt endpoints: who is asked, what is stored, what is refused (and that a
refusal changes nothing), frequency capping and the per-person rate."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from accounts.models import GHLUser, Location
from analytics.ingest import LocationDayFacts, record_location_day
from analytics.models import (
    NPS_COMMENT_MAX,
    HealthScore,
    NpsOptIn,
    NpsResponse,
    RiskFlag,
    SentimentSettings,
)
from tests.activity.conftest import GHL_ORIGIN, payload_for

pytestmark = pytest.mark.django_db(databases=["default", "analytics"])


@pytest.fixture
def nps(client, tenant):
    """POSTs to the prompt's endpoints; the prompt is switched on for LocAlpha0001 only."""
    agency = tenant["agency"]
    NpsOptIn.objects.create(agency_id=agency.pk, location_ghl_id="LocAlpha0001")

    def post(action, payload=None, location="LocAlpha0001", raw=None, **fields):
        if raw is None:
            body = {
                "payload": payload or payload_for(agency),
                "location_id": location,
                "v": 1,
            }
            if action == "answer":
                body.update({"rating": 9, "comment": ""})
            body.update(fields)
            raw = json.dumps(body)
        return client.post(
            f"/ingest/nps/{action}/",
            data=raw,
            content_type="text/plain;charset=UTF-8",
            HTTP_ORIGIN=GHL_ORIGIN,
        )

    return post


def stored(agency, outcome=None):
    rows = NpsResponse.objects.for_agency(agency).order_by("pk")
    if outcome:
        rows = rows.filter(outcome=outcome)
    return list(
        rows.values_list("location_ghl_id", "user_ghl_id", "user_name", "rating", "comment")
    )


def test_a_sub_account_user_is_asked_with_the_agency_name(nps, tenant):
    response = nps("ask")
    assert response.status_code == 200
    assert response.json() == {"ask": True, "agency": "BrightPath", "comment_max": 1000}
    assert response["Access-Control-Allow-Origin"] == GHL_ORIGIN
    assert response["Cache-Control"] == "no-store"


def test_agency_staff_are_never_asked_and_their_answers_are_refused(nps, tenant):
    staff = payload_for(tenant["agency"], kind="agency", user_id="UserStaff001")
    assert nps("ask", staff).json() == {"ask": False}
    refused = nps("answer", staff, rating=10)
    assert refused.status_code == 403
    assert refused.json()["reason"] == "agency_staff"
    # Without a type in the payload, our synced user list says who is agency staff.
    GHLUser.objects.create(agency=tenant["agency"], ghl_id="UserAdmin002", role="admin")
    untyped = payload_for(tenant["agency"], kind=None, user_id="UserAdmin002")
    assert nps("ask", untyped).json() == {"ask": False}
    assert nps("dismiss", untyped).status_code == 403
    assert stored(tenant["agency"]) == []


def test_a_sub_account_that_did_not_switch_it_on_is_not_asked(nps, tenant):
    assert nps("ask", location="LocBravo0002").json() == {"ask": False}
    refused = nps("answer", location="LocBravo0002")
    assert refused.status_code == 403
    assert refused.json()["reason"] == "not_enabled"
    assert stored(tenant["agency"]) == []


def test_an_answer_is_stored_and_the_person_is_not_asked_again_for_90_days(nps, tenant):
    agency = tenant["agency"]
    start = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        answered = nps("answer", rating=7, comment="  Great support, slow onboarding.  ")
        assert answered.status_code == 204
        assert stored(agency) == [
            ("LocAlpha0001", "UserOwn0001", "Pat Doe", 7, "Great support, slow onboarding.")
        ]
        assert NpsResponse.objects.for_agency(agency).get().day == date(2026, 5, 1)  # Chicago
        assert nps("ask").json() == {"ask": False}
        again = nps("answer", rating=10)
        assert again.status_code == 409
        assert again.json()["reason"] == "already_answered"
        # Per person: in another sub-account the same person is not asked either.
        NpsOptIn.objects.create(agency_id=agency.pk, location_ghl_id="LocBravo0002")
        assert nps("ask", location="LocBravo0002").json() == {"ask": False}
        # Someone else is.
        other = payload_for(agency, user_id="UserOwn0002")
        assert nps("ask", other).json()["ask"] is True
    with time_machine.travel(start + timedelta(days=89), tick=False):
        assert nps("ask").json() == {"ask": False}
    with time_machine.travel(start + timedelta(days=90, seconds=1), tick=False):
        assert nps("ask").json()["ask"] is True
    assert len(stored(agency, "answered")) == 1
    # Each "yes" was recorded as a prompt shown (the other person's, and the one 90 days on).
    assert len(stored(agency, "asked")) == 2


def test_a_dismissal_is_stored_and_starts_the_wait_too(nps, tenant):
    agency = tenant["agency"]
    SentimentSettings.objects.create(agency_id=agency.pk, ask_every_days=30)
    start = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert nps("dismiss").status_code == 204
        assert stored(agency, "dismissed") == [("LocAlpha0001", "UserOwn0001", "Pat Doe", None, "")]
        assert nps("ask").json() == {"ask": False}
    with time_machine.travel(start + timedelta(days=30, seconds=1), tick=False):
        assert nps("ask").json()["ask"] is True


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("foreign", 403, None),
        ("uninstalled_location", 403, None),
        ("deleted_location", 403, None),
        ("uninstalled_agency", 403, None),
        ("bad_payload", 403, None),
        ("other_agency_payload", 403, None),
        ("not_json", 400, "bad_json"),
        ("extra_field", 400, "bad_fields"),
        ("missing_comment", 400, "bad_fields"),
        ("rating_11", 400, "bad_rating"),
        ("rating_negative", 400, "bad_rating"),
        ("rating_text", 400, "bad_rating"),
        ("rating_bool", 400, "bad_rating"),
        ("rating_float", 400, "bad_rating"),
        ("comment_not_text", 400, "bad_comment"),
        ("comment_too_long", 400, "comment_too_long"),
        ("bad_location_id", 400, "bad_location"),
        ("oversized", 413, "too_large"),
    ],
)
def test_refusals_are_clear_and_store_nothing(nps, tenant, case, status, reason):
    agency, other = tenant["agency"], tenant["other"]
    kwargs = {}
    if case == "foreign":
        kwargs["location"] = "LocOther0009"  # the other agency's sub-account
    elif case == "uninstalled_location":
        Location.objects.for_agency(agency).filter(ghl_id="LocAlpha0001").update(
            is_installed=False, status=Location.STATUS_UNINSTALLED
        )
    elif case == "deleted_location":
        Location.objects.for_agency(agency).filter(ghl_id="LocAlpha0001").update(
            status=Location.STATUS_DELETED
        )
    elif case == "uninstalled_agency":
        agency.is_installed = False
        agency.save()
    elif case == "bad_payload":
        kwargs["payload"] = "U2FsdGVkX1" + "A" * 40
    elif case == "other_agency_payload":
        kwargs["payload"] = payload_for(other)
    elif case == "not_json":
        kwargs["raw"] = "{rating: 9"
    elif case == "extra_field":
        kwargs["page_title"] = "Contacts"
    elif case == "missing_comment":
        kwargs["raw"] = json.dumps(
            {"payload": payload_for(agency), "location_id": "LocAlpha0001", "v": 1, "rating": 3}
        )
    elif case == "rating_11":
        kwargs["rating"] = 11
    elif case == "rating_negative":
        kwargs["rating"] = -1
    elif case == "rating_text":
        kwargs["rating"] = "7"
    elif case == "rating_bool":
        kwargs["rating"] = True
    elif case == "rating_float":
        kwargs["rating"] = 7.5
    elif case == "comment_not_text":
        kwargs["comment"] = ["a"]
    elif case == "comment_too_long":
        kwargs["comment"] = "x" * (NPS_COMMENT_MAX + 1)
    elif case == "bad_location_id":
        kwargs["location"] = "../../etc"
    elif case == "oversized":
        kwargs["comment"] = "x" * 50_000
    response = nps("answer", **kwargs)
    assert response.status_code == status, response.content
    body = response.json()
    if reason:
        assert body["reason"] == reason
        assert body["message"]
    else:
        # Payload, agency and sub-account failures all look the same from outside.
        assert body == {"error": "forbidden", "message": "You do not have access to this."}
    assert stored(agency) == [] and stored(other) == []


def test_a_prompt_shown_counts_even_unanswered_and_its_answer_fills_it_in(nps, tenant):
    agency = tenant["agency"]
    start = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert nps("ask").json()["ask"] is True
        shown = NpsResponse.objects.for_agency(agency).get()
        assert (shown.outcome, shown.rating, shown.answered_at) == ("asked", None, None)
        # Shown once: the person closes the tab, comes back, and is not asked again.
        assert nps("ask").json() == {"ask": False}
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        # The prompt still open in the first tab is answered: the same prompt, filled in.
        assert nps("answer", rating=6, comment="ok").status_code == 204
        answered = NpsResponse.objects.for_agency(agency).get()
        assert (answered.pk, answered.outcome, answered.rating) == (shown.pk, "answered", 6)
        assert answered.at == start and answered.answered_at == start + timedelta(hours=2)
        assert nps("dismiss").status_code == 409
    assert NpsResponse.objects.for_agency(agency).count() == 1


def test_a_comment_of_exactly_the_cap_is_stored(nps, tenant):
    assert nps("answer", comment="é" * NPS_COMMENT_MAX).status_code == 204
    assert len(stored(tenant["agency"])[0][4]) == NPS_COMMENT_MAX


def test_each_person_is_rate_limited_like_beacons(nps, tenant, settings):
    settings.NPS_RATE_BURST = 3
    with time_machine.travel(datetime(2026, 5, 1, 15, 0, tzinfo=UTC), tick=False):
        assert [nps("ask").status_code for _ in range(4)] == [200, 200, 200, 429]
        limited = nps("answer")
        assert limited.status_code == 429
        assert limited["Retry-After"] == "30"
        # Another person has their own bucket.
        assert nps("ask", payload_for(tenant["agency"], user_id="UserOwn0002")).status_code == 200
    with time_machine.travel(datetime(2026, 5, 1, 15, 0, 31, tzinfo=UTC), tick=False):
        assert nps("answer").status_code == 204
    # The first person's prompt (shown, then answered) and the other person's shown one.
    assert len(stored(tenant["agency"], "answered")) == 1
    assert len(stored(tenant["agency"], "asked")) == 1


def test_only_post_and_preflight(client, tenant):
    assert client.get("/ingest/nps/ask/").status_code == 405
    preflight = client.options("/ingest/nps/answer/", HTTP_ORIGIN=GHL_ORIGIN)
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == GHL_ORIGIN


def test_a_detractor_answer_moves_todays_score_and_raises_the_flag(
    nps, tenant, django_capture_on_commit_callbacks, eager_celery
):
    agency = tenant["agency"]
    now = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
    today = date(2026, 5, 1)
    for k in range(10):
        record_location_day(
            agency.pk,
            "LocAlpha0001",
            today - timedelta(days=k),
            LocationDayFacts(workflows_published=1, subscription_status="active"),
        )
    with (
        time_machine.travel(now, tick=False),
        django_capture_on_commit_callbacks(using="analytics", execute=True),
    ):
        assert nps("answer", rating=3, comment="Too expensive").status_code == 204
    score = HealthScore.objects.for_agency(agency).get(location_ghl_id="LocAlpha0001", day=today)
    assert score.components["sentiment"] == 30.0
    flag = RiskFlag.objects.for_agency(agency).get(location_ghl_id="LocAlpha0001", day=today)
    assert (flag.code, flag.evidence) == ("nps_detractor", "Pat Doe rated 3/10 on 2026-05-01")
