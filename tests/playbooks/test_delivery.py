"""Delivery in-process: the claim makes a second run a no-op, a receiver that is down is retried
with backoff and then recorded as failed, a dead worker's claim is not sent again, a refused URL
is logged failed, and no URL secret reaches the log."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

from django.utils import timezone as dj_tz

from analytics.playbooks.models import Delivery
from analytics.playbooks.sending import run_delivery
from analytics.playbooks.tasks import sweep_deliveries
from tests.playbooks.conftest import DAY, QUIET, make_play, set_state


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fire(evaluate, agency, **play_fields):
    make_play(agency, **play_fields)
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    evaluate(agency)
    return Delivery.objects.for_agency(agency).exclude(action="task")


def test_running_a_delivery_again_sends_nothing(evaluate, world, receivers):
    agency, slack = world["agency_a"], receivers["slack"]
    (d,) = _fire(evaluate, agency, slack_url=slack.new_webhook())
    assert len(slack.messages) == 1
    for _ in range(3):
        assert run_delivery(d.pk).status == "sent"
    assert len(slack.messages) == 1
    d.refresh_from_db()
    assert (d.status, d.attempts, d.response_code) == ("sent", 1, 200)


def test_a_receiver_that_is_down_is_retried_then_recorded_failed(
    evaluate, world, receivers, settings
):
    agency = world["agency_a"]
    port = _free_port()
    settings.PLAYBOOKS_LOCAL_RECEIVERS = [f"127.0.0.1:{port}"]
    (d,) = _fire(evaluate, agency, slack_url=f"http://127.0.0.1:{port}/services/T1/B1/zz")
    d.refresh_from_db()
    assert (d.status, d.attempts, d.error) == ("retrying", 1, "connection refused")
    assert d.next_attempt_at > d.claimed_at
    # The backoff doubles: 0.2 s, then 0.4 s (PLAYBOOKS_RETRY_BASE_SECONDS in the fixture).
    time.sleep(0.25)
    sweep_deliveries()
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("retrying", 2)
    assert (d.next_attempt_at - d.claimed_at).total_seconds() >= 0.4
    time.sleep(0.45)
    sweep_deliveries()
    d.refresh_from_db()
    assert (d.status, d.attempts, d.error) == ("failed", 3, "connection refused")
    sweep_deliveries()
    d.refresh_from_db()
    assert d.attempts == 3


def test_a_server_error_is_retried_and_then_delivered_once(evaluate, world, receivers):
    agency, slack = world["agency_a"], receivers["slack"]
    slack.fail_next = 1
    (d,) = _fire(evaluate, agency, slack_url=slack.new_webhook())
    d.refresh_from_db()
    assert (d.status, d.response_code) == ("retrying", 500)
    time.sleep(0.25)
    sweep_deliveries()
    d.refresh_from_db()
    assert (d.status, d.attempts, d.response_code, d.error) == ("sent", 2, 200, "")
    assert len(slack.messages) == 1


def test_a_client_error_is_not_retried(evaluate, world, receivers):
    agency, ghl = world["agency_a"], receivers["ghl"]
    unknown = ghl.add_inbound_webhook("Loc0")[:-4] + "0000"  # no such workflow trigger
    (d,) = _fire(evaluate, agency, ghl_url=unknown)
    d.refresh_from_db()
    assert (d.status, d.attempts, d.response_code) == ("failed", 1, 404)


def test_a_dead_workers_claim_is_not_sent_again(evaluate, world, receivers, settings):
    agency, slack = world["agency_a"], receivers["slack"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    play = make_play(agency, slack_url=slack.new_webhook())
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    from analytics.playbooks.engine import evaluate_agency

    evaluate_agency(agency.pk)  # deliveries written; their tasks never run (no commit hook)
    (d,) = Delivery.objects.for_agency(agency).filter(play=play)
    # A worker claimed it and died mid-send.
    claimed = dj_tz.now() - timedelta(seconds=1)
    Delivery.objects.for_agency(agency).filter(pk=d.pk).update(
        status="sending", attempts=1, claimed_at=claimed
    )
    assert run_delivery(d.pk).retry_in is not None  # too fresh to judge: look again later
    later = claimed + timedelta(minutes=5)
    assert run_delivery(d.pk, now=later).status == "interrupted"
    d.refresh_from_db()
    assert d.status == "interrupted" and "not sent again" in d.error
    assert slack.messages == []


def test_past_the_deadline_it_fails_without_sending(evaluate, world, receivers):
    agency, slack = world["agency_a"], receivers["slack"]
    play = make_play(agency, slack_url=slack.new_webhook())
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    from analytics.playbooks.engine import evaluate_agency

    evaluate_agency(agency.pk)
    (d,) = Delivery.objects.for_agency(agency).filter(play=play)
    assert run_delivery(d.pk, now=d.deadline + timedelta(seconds=1)).status == "failed"
    assert slack.messages == []


def test_a_url_refused_at_send_time_is_logged_failed(evaluate, world, receivers, settings):
    agency, slack = world["agency_a"], receivers["slack"]
    url = slack.new_webhook()
    settings.PLAYBOOKS_LOCAL_RECEIVERS = []  # the play's URL is loopback: refused
    (d,) = _fire(evaluate, agency, slack_url=url)
    d.refresh_from_db()
    assert d.status == "failed" and d.error.startswith("refused:")
    assert slack.messages == []


def test_no_url_or_secret_reaches_the_log(evaluate, world, receivers, caplog):
    agency, ghl, slack = world["agency_a"], receivers["ghl"], receivers["slack"]
    ghl_url, slack_url = ghl.add_inbound_webhook("Loc0"), slack.new_webhook()
    slack.fail_next = 1
    with caplog.at_level(logging.DEBUG):
        _fire(evaluate, agency, ghl_url=ghl_url, slack_url=slack_url, secret="whsec_planted_9f8e")
    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (ghl_url.rsplit("/", 1)[1], slack_url.rsplit("/", 1)[1], "whsec_planted_9f8e"):
        assert secret not in text
    logged = [d.target for d in Delivery.objects.for_agency(agency)]
    assert all("webhook-trigger" not in t and "/services/" not in t for t in logged)


def test_rotate_playbook_keys_reencrypts_urls_and_secret(world, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from gocsm.encryption import decrypt

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old]
    play = make_play(world["agency_a"], slack_url="https://hooks.example.com/services/T/B/s1")
    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_playbook_keys")
    settings.TOKEN_ENCRYPTION_KEYS = [new]
    play.refresh_from_db()
    assert decrypt(play.slack_webhook_secret_url) == "https://hooks.example.com/services/T/B/s1"
    assert decrypt(play.signing_secret).startswith("whsec_")


def test_webhook_urls_are_redacted_by_the_log_filter():
    from gocsm.logredact import redact_text

    ghl = "https://services.leadconnectorhq.com/hooks/Loc0/webhook-trigger/0b6f7c1e-aaaa-bbbb"
    slack = "https://hooks.slack.com/" + "services/T0AAA/B0BBB/" + "z" * 24
    line = redact_text(f"posting to {ghl} and {slack}")
    assert "0b6f7c1e" not in line and "z" * 24 not in line
    assert "https://services.leadconnectorhq.com/[REDACTED]" in line
