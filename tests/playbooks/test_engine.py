"""Triggers fire once per episode, end on recovery (closing their tasks), and the outcomes count
what happened with the play on and off. Deliveries run inline here (embedded Celery); the real
worker is in test_worker.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.playbooks import outcomes, triggers
from analytics.playbooks.models import Delivery, Episode, Run, Task
from tests.analytics.conftest import build_portfolio
from tests.playbooks.conftest import DAY, PAST_DUE, QUIET, make_play, set_state


def test_every_risk_flag_kind_is_a_trigger_without_code_changes(monkeypatch):
    from analytics import risk

    monkeypatch.setitem(risk.FLAG_LABELS, "nps_detractor", "NPS detractor")
    kinds = dict(triggers.kinds(churn_available=True))
    assert kinds["nps_detractor"] == "NPS detractor"
    assert "nps_detractor" in triggers.risk_kinds()
    assert set(risk.FLAG_LABELS) <= set(kinds)
    assert "recovered" in kinds and "churn_probability" in kinds


def test_a_play_fires_once_per_episode_and_again_only_after_recovery(
    evaluate, world, receivers, mailoutbox
):
    agency, ghl, slack = world["agency_a"], receivers["ghl"], receivers["slack"]
    play = make_play(
        agency,
        name="Gone quiet",
        ghl_url=ghl.add_inbound_webhook("Loc0"),
        slack_url=slack.new_webhook(),
        email_on=True,
        task_on=True,
    )
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    set_state(agency, "Loc1", DAY)
    evaluate(agency)
    # Each action once: the GHL workflow, Slack, the owner's email (no CSM assigned), a task.
    assert len(ghl.inbound_deliveries("Loc0")) == 1
    assert len(slack.messages) == 1
    assert [m.to for m in mailoutbox] == [[world["owner_a"].email]]
    task = Task.objects.for_agency(agency).get()
    assert (task.location_ghl_id, task.assignee, task.due) == (
        "Loc0",
        world["owner_a"],
        DAY + timedelta(days=3),
    )
    statuses = dict(Delivery.objects.for_agency(agency).values_list("action", "status"))
    assert statuses == {"ghl_webhook": "sent", "slack": "sent", "email": "sent", "task": "sent"}
    # The condition holds on later days and later pulls: nothing fires again.
    for k in range(1, 4):
        set_state(agency, "Loc0", DAY + timedelta(days=k), flags=[QUIET])
        evaluate(agency)
    assert len(ghl.inbound_deliveries()) == 1 and len(slack.messages) == 1
    assert len(mailoutbox) == 1 and Run.objects.for_agency(agency).count() == 1
    # Cleared for fewer than 3 days: the same episode (a flapping flag is one episode).
    set_state(agency, "Loc0", DAY + timedelta(days=5))
    evaluate(agency)
    set_state(agency, "Loc0", DAY + timedelta(days=6), flags=[QUIET])
    evaluate(agency)
    assert Episode.objects.for_agency(agency).filter(kind="no_login_14").count() == 1
    # Cleared for 3 days: recovered, and the task it opened closes itself.
    set_state(agency, "Loc0", DAY + timedelta(days=9))
    evaluate(agency)
    episode = Episode.objects.for_agency(agency).get(kind="no_login_14")
    assert episode.end_reason == "recovered" and episode.ended_day == DAY + timedelta(days=7)
    task.refresh_from_db()
    assert (task.status, task.closed_how) == ("done", "recovered")
    # A new episode after it cleared fires again.
    set_state(agency, "Loc0", DAY + timedelta(days=20), flags=[QUIET])
    evaluate(agency)
    assert len(ghl.inbound_deliveries()) == 2 and len(slack.messages) == 2
    assert Run.objects.for_agency(agency).filter(play=play).count() == 2


def test_payload_carries_the_documented_fields_and_a_verifiable_signature(
    evaluate, world, receivers
):
    from analytics.playbooks.payload import verify

    agency, ghl = world["agency_a"], receivers["ghl"]
    make_play(agency, name="Quiet", ghl_url=ghl.add_inbound_webhook("Loc0"), secret="whsec_k1")
    set_state(agency, "Loc0", DAY, score=41, band="steady", flags=[QUIET])
    evaluate(agency)
    (delivery,) = ghl.inbound_deliveries("Loc0")
    body = delivery.json()
    assert body["version"] == 1 and body["event"] == "triggered"
    assert body["sub_account"]["id"] == "Loc0"
    assert body["sub_account"]["name"] == "Gallagher Roofing"
    assert body["sub_account"]["url"].endswith("/app/locations/Loc0/")
    assert (body["score"], body["band"], body["band_label"], body["change_7d"]) == (
        41,
        "steady",
        "Steady",
        -5,
    )
    assert body["flags"] == [
        {"code": "no_login_14", "label": "No login for 14+ days", "evidence": QUIET[1]}
    ]
    assert body["mrr_at_risk"] == {"amount": 118.8, "currency": "USD"}
    assert body["csm"] == {
        "name": world["owner_a"].name,
        "email": world["owner_a"].email,
        "assigned": False,
    }
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    assert verify("whsec_k1", delivery.body, headers["x-gocsm-signature"])
    assert not verify("whsec_other", delivery.body, headers["x-gocsm-signature"])
    assert not verify("whsec_k1", delivery.body + b" ", headers["x-gocsm-signature"])
    assert headers["x-gocsm-delivery"].endswith("-ghl_webhook")


def test_slack_message_has_blocks_and_a_text_fallback(evaluate, world, receivers):
    agency, slack = world["agency_a"], receivers["slack"]
    make_play(
        agency, name="Payment failed", trigger="payment_failed", slack_url=slack.new_webhook()
    )
    set_state(agency, "Loc1", DAY, score=30, band="steady", flags=[PAST_DUE])
    evaluate(agency)
    (msg,) = slack.messages
    assert msg["text"].startswith("Payment failed: Kaur Med Spa")
    assert "*Kaur Med Spa*" in msg["blocks"][0]["text"]["text"]
    facts = msg["blocks"][1]["text"]["text"]
    assert "Past due / payment failed: Subscription is past due" in facts
    assert "MRR at risk: 118.80 USD" in facts
    assert all(len(line) <= 80 for line in facts.splitlines())  # readable on a phone


def test_a_play_switched_on_later_does_not_fire_for_episodes_already_running(
    evaluate, world, receivers
):
    agency, slack = world["agency_a"], receivers["slack"]
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    evaluate(agency)
    make_play(agency, slack_url=slack.new_webhook())
    set_state(agency, "Loc0", DAY + timedelta(days=1), flags=[QUIET])
    evaluate(agency)
    assert slack.messages == []


def test_band_dropped_holds_until_the_band_is_back_up(evaluate, world, receivers):
    agency = world["agency_a"]
    make_play(agency, trigger="band_dropped", task_on=True)
    drop = ("band_dropped", "Band fell from Healthy to Steady in 7 days")
    set_state(agency, "Loc0", DAY, score=45, band="steady", flags=[drop])
    evaluate(agency)
    # The flag itself lapses after a week; the episode lasts while the band stays down.
    for k in range(1, 12):
        set_state(agency, "Loc0", DAY + timedelta(days=k), score=45, band="steady")
        evaluate(agency)
    assert Episode.objects.for_agency(agency).get(kind="band_dropped").ended_day is None
    assert Task.objects.for_agency(agency).get().status == "open"
    for k in range(12, 15):
        set_state(agency, "Loc0", DAY + timedelta(days=k), score=60, band="healthy")
        evaluate(agency)
    ep = Episode.objects.for_agency(agency).get(kind="band_dropped")
    assert ep.end_reason == "recovered" and ep.ended_day == DAY + timedelta(days=12)
    assert Task.objects.for_agency(agency).get().status == "done"


def test_quiet_7_growing_into_14_is_not_a_recovery(evaluate, world, receivers):
    agency = world["agency_a"]
    set_state(agency, "Loc0", DAY, flags=[("no_login_7", "No login for 8 days")])
    evaluate(agency)
    for k in range(1, 10):
        set_state(agency, "Loc0", DAY + timedelta(days=k), flags=[QUIET])
        evaluate(agency)
    seven = Episode.objects.for_agency(agency).get(kind="no_login_7")
    assert seven.ended_day is None


def test_recovered_play_fires_on_recovery_and_churn_is_not_recovery(evaluate, world, receivers):
    agency, slack = world["agency_a"], receivers["slack"]
    make_play(agency, name="Recovered", trigger="recovered", slack_url=slack.new_webhook())
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    set_state(agency, "Loc1", DAY, flags=[PAST_DUE])
    evaluate(agency)
    set_state(agency, "Loc0", DAY + timedelta(days=4))
    set_state(agency, "Loc1", DAY + timedelta(days=4), score=None, lifecycle="churned")
    evaluate(agency)
    assert [m["text"] for m in slack.messages] == [
        "Recovered: Gallagher Roofing — No login for 14+ days (score 60, Healthy)"
    ]
    ends = dict(Episode.objects.for_agency(agency).values_list("location_ghl_id", "end_reason"))
    assert ends == {"Loc0": "recovered", "Loc1": "churned"}


def test_a_sub_account_without_a_score_today_changes_nothing(evaluate, world, receivers):
    agency = world["agency_a"]
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    evaluate(agency)
    set_state(agency, "Loc0", DAY + timedelta(days=10), score=None)
    evaluate(agency)
    assert Episode.objects.for_agency(agency).get(kind="no_login_14").ended_day is None


def test_outcomes_compare_fired_with_the_same_trigger_while_off(evaluate, world, receivers):
    from analytics.playbooks.views import _switch

    agency = world["agency_a"]
    # Loc0 went quiet before the play existed and recovered in 5 days; Loc1 went quiet while
    # it was on, then churned; Loc2 went quiet while on and is still quiet, 10 days later.
    set_state(agency, "Loc0", DAY - timedelta(days=60), flags=[QUIET])
    evaluate(agency)
    set_state(agency, "Loc0", DAY - timedelta(days=52))
    evaluate(agency)
    play = make_play(agency, task_on=True)
    set_state(agency, "Loc1", DAY - timedelta(days=40), flags=[QUIET])
    evaluate(agency)
    set_state(agency, "Loc1", DAY - timedelta(days=35), score=None, lifecycle="churned")
    set_state(agency, "Lombardi", DAY - timedelta(days=10), flags=[QUIET])
    evaluate(agency)
    _switch(play, False)
    fired, control = outcomes.for_play(play, DAY)
    assert (fired.episodes, fired.decided, fired.recovered, fired.churned, fired.open) == (
        2,
        1,
        0,
        1,
        1,
    )
    assert (control.episodes, control.decided, control.recovered, control.churned) == (1, 1, 1, 0)
    assert control.recovered_rate == 100 and fired.churned_rate == 100
    # Episodes that start after it was switched off count as "off".
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    evaluate(agency)
    assert outcomes.for_play(play, DAY)[1].episodes == 2


@pytest.mark.parametrize("lifecycle", ["not_connected"])
def test_disconnected_ends_episodes_as_gone(evaluate, world, receivers, lifecycle):
    agency = world["agency_a"]
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    evaluate(agency)
    set_state(agency, "Loc0", DAY + timedelta(days=1), score=None, lifecycle=lifecycle)
    evaluate(agency)
    ends = set(Episode.objects.for_agency(agency).values_list("end_reason", flat=True))
    assert ends == {"gone"}


def test_the_recompute_evaluates_playbooks(world, receivers):
    """The nightly recompute and the pulls both end in refresh_agency_days: it evaluates."""
    agency = world["agency_a"]
    make_play(agency, trigger="payment_failed", task_on=True)
    build_portfolio(agency, 4, days=40)
    # build_portfolio leaves every 4th sub-account past due.
    tasks = set(Task.objects.for_agency(agency).values_list("location_ghl_id", flat=True))
    assert tasks == {"Loc0000"}


def test_without_an_owner_on_record_the_first_admin_is_told(world, make_user):
    from analytics.playbooks import seams

    agency = world["agency_a"]
    owner = world["owner_a"]
    assert seams.csm_for(agency, "Loc0") == (owner, False)  # no CSM assigned
    owner.role, owner.is_agency_owner = "admin", False
    owner.save()
    admin = make_user(agency, role="admin")
    # The earliest admin with an email address: the former owner, now an admin.
    assert seams.csm_for(agency, "Loc0") == (owner, False)
    owner.email = ""
    owner.save()
    assert seams.csm_for(agency, "Loc0") == (admin, False)


def test_the_nps_detractor_flag_from_sentiment_is_a_trigger(evaluate, world, receivers):
    from analytics import risk

    agency = world["agency_a"]
    assert "nps_detractor" in risk.FLAG_LABELS  # defined by sentiment, not by playbooks
    make_play(agency, name="Detractor", trigger="nps_detractor", task_on=True)
    detractor = ("nps_detractor", "Scored 3 in the NPS prompt")
    set_state(agency, "Loc1", DAY, flags=[detractor])
    evaluate(agency)
    assert Task.objects.for_agency(agency).get().title == "Detractor: Kaur Med Spa"


def test_a_churn_probability_threshold_fires_once_per_episode(evaluate, world, receivers):
    from analytics.models import ChurnPrediction

    agency = world["agency_a"]
    assert "churn_probability" in dict(triggers.kinds(churn_available=True))
    make_play(
        agency, name="Likely to churn", trigger="churn_probability", threshold=0.6, task_on=True
    )

    def predict(loc, p):
        ChurnPrediction.objects.for_agency(agency.pk).update_or_create(
            agency_id=agency.pk,
            location_ghl_id=loc,
            defaults={"day": DAY, "probability": p, "logit": 0.0, "intercept": 0.0},
        )

    predict("Loc0", 0.72)
    predict("Loc1", 0.35)
    set_state(agency, "Loc0", DAY)
    set_state(agency, "Loc1", DAY)
    evaluate(agency)
    assert list(Task.objects.for_agency(agency).values_list("location_ghl_id", flat=True)) == [
        "Loc0"
    ]
    ep = Episode.objects.for_agency(agency).get(kind="churn_probability")
    assert ep.evidence == "72% predicted"
    set_state(agency, "Loc0", DAY + timedelta(days=1))
    evaluate(agency)
    assert Task.objects.for_agency(agency).count() == 1
    predict("Loc0", 0.2)
    for k in range(2, 6):
        set_state(agency, "Loc0", DAY + timedelta(days=k))
        evaluate(agency)
    assert (
        Episode.objects.for_agency(agency).get(kind="churn_probability").end_reason == "recovered"
    )


def test_a_play_narrowed_to_a_tag_fires_only_for_its_sub_accounts(evaluate, world, receivers):
    from accounts.models import Location, LocationTag, Tag

    agency = world["agency_a"]
    tag = Tag.objects.create(agency=agency, name="dental")
    loc1 = Location.objects.for_agency(agency).get(ghl_id="Loc1")
    LocationTag.objects.create(agency=agency, location=loc1, tag=tag)
    play = make_play(agency, task_on=True, tag=str(tag.pk))
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    set_state(agency, "Loc1", DAY, flags=[QUIET])
    evaluate(agency)
    assert set(Task.objects.for_agency(agency).values_list("location_ghl_id", flat=True)) == {
        "Loc1"
    }
    # Loc0 met the trigger while the play was on but outside its tag: not its comparison group.
    fired, off = outcomes.for_play(play, DAY)
    assert (fired.episodes, off.episodes) == (1, 0)


def test_the_assigned_csm_is_told_and_named_in_the_payload(evaluate, world, receivers, mailoutbox):
    from accounts.models import CSMAssignment, Location

    agency, ghl = world["agency_a"], receivers["ghl"]
    csm = world["user_a"]
    CSMAssignment.objects.create(
        agency=agency, location=Location.objects.for_agency(agency).get(ghl_id="Loc0"), csm=csm
    )
    make_play(agency, ghl_url=ghl.add_inbound_webhook("Loc0"), email_on=True, task_on=True)
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    set_state(agency, "Loc1", DAY, flags=[QUIET])
    evaluate(agency)
    named = {d.json()["sub_account"]["id"]: d.json()["csm"] for d in ghl.inbound_deliveries()}
    assert named["Loc0"] == {"name": csm.name, "email": csm.email, "assigned": True}
    assert named["Loc1"]["assigned"] is False and named["Loc1"]["email"] == world["owner_a"].email
    assert sorted(m.to[0] for m in mailoutbox) == sorted([csm.email, world["owner_a"].email])
    tasks = dict(Task.objects.for_agency(agency).values_list("location_ghl_id", "assignee"))
    assert tasks == {"Loc0": csm.pk, "Loc1": world["owner_a"].pk}
