"""Deliveries through real Celery workers (subprocesses on the real Redis broker and PostgreSQL)
against the local receivers: the fake GHL's workflow Inbound Webhook endpoint, the fake Slack,
and a file email backend the worker writes to. Each action once per episode; duplicate tasks and
a worker killed mid-send never send twice; a receiver that is down is retried, then failed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from analytics.playbooks.engine import evaluate_agency
from analytics.playbooks.models import Delivery, Task
from analytics.playbooks.tasks import deliver, sweep_deliveries
from tests.faults.procs import kill, service_env, start_worker, wait_for
from tests.faults.proxy import free_port
from tests.playbooks.conftest import DAY, QUIET, make_play, set_state

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def _start_worker(receivers: list[str], mail_dir: Path, concurrency: int = 1):
    """A real prefork worker (its log beside mail_dir, in the test's tmp_path) that may send to
    these local receivers only, mailing into mail_dir."""
    env = service_env(
        None,
        PLAYBOOKS_LOCAL_RECEIVERS=",".join(receivers),
        PLAYBOOKS_RETRY_BASE_SECONDS=0.5,
        PLAYBOOKS_MAX_ATTEMPTS=3,
        PLAYBOOKS_CONNECT_TIMEOUT_SECONDS=1,
        PLAYBOOKS_READ_TIMEOUT_SECONDS=2,
        EMAIL_URL=f"filemail:///{mail_dir}",
    )
    return start_worker(env, mail_dir.parent, pool="prefork", concurrency=concurrency)


def _emails(mail_dir: Path) -> list[str]:
    text = "".join(p.read_text() for p in mail_dir.glob("*.log"))
    return [part for part in text.split("\nSubject: ")[1:]]


@pytest.fixture
def real_celery(settings):
    from gocsm.celery import app

    app.conf.task_always_eager = False
    app.control.purge()
    yield app
    app.control.purge()
    app.conf.task_always_eager = True


@pytest.fixture
def setup(world, receivers, real_celery, tmp_path):
    ghl, slack = receivers["ghl"], receivers["slack"]
    allowed = [ghl.base_url.removeprefix("http://"), f"127.0.0.1:{slack.port}"]
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    return world, ghl, slack, allowed, mail_dir


def _statuses(agency):
    return dict(Delivery.objects.for_agency(agency).values_list("action", "status"))


def test_each_action_once_per_episode_and_duplicate_tasks_send_nothing(setup):
    world, ghl, slack, allowed, mail_dir = setup
    agency = world["agency_a"]
    make_play(
        agency,
        ghl_url=ghl.add_inbound_webhook("Loc0"),
        slack_url=slack.new_webhook(),
        email_on=True,
        task_on=True,
    )
    worker = _start_worker(allowed, mail_dir, concurrency=2)
    try:
        set_state(agency, "Loc0", DAY, flags=[QUIET])
        evaluate_agency(agency.pk)
        done = wait_for(
            lambda: set(_statuses(agency).values()) == {"sent"} and len(_statuses(agency)) == 4,
            timeout=60,
        )
        assert done, _statuses(agency)
        # The same tasks again, several at once on two worker processes: nothing more is sent.
        for d in Delivery.objects.for_agency(agency).exclude(action="task"):
            for _ in range(3):
                deliver.delay(d.pk)
        # A later recompute with the condition still holding fires nothing either.
        set_state(agency, "Loc0", DAY.replace(day=30), flags=[QUIET])
        evaluate_agency(agency.pk)
        time.sleep(4)
    finally:
        kill(worker)
    assert len(ghl.inbound_deliveries("Loc0")) == 1
    assert len(slack.messages) == 1
    emails = _emails(mail_dir)
    assert len(emails) == 1 and "Gallagher Roofing" in emails[0]
    assert world["owner_a"].email in "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert Task.objects.for_agency(agency).count() == 1
    attempts = set(Delivery.objects.for_agency(agency).values_list("attempts", flat=True))
    assert attempts == {1}


def test_a_worker_killed_mid_send_does_not_send_twice(setup):
    world, _ghl, slack, allowed, mail_dir = setup
    agency = world["agency_a"]
    slack.delay = 6  # the receiver takes the message, then answers slowly: the kill lands there
    make_play(agency, slack_url=slack.new_webhook())
    worker = _start_worker(allowed, mail_dir)
    try:
        set_state(agency, "Loc0", DAY, flags=[QUIET])
        evaluate_agency(agency.pk)
        assert wait_for(lambda: len(slack.messages) == 1, timeout=60), "never sent"
        kill(worker)
        d = Delivery.objects.for_agency(agency).get(action="slack")
        assert d.status == "sending"
        slack.delay = 0
        worker = _start_worker(allowed, mail_dir)

        # The task comes back (acks_late, visibility timeout 3 s) and finds the claim; beat's
        # sweep (every minute in production, every few seconds here) finds it too.
        def interrupted():
            if Delivery.objects.for_agency(agency).get(pk=d.pk).status == "interrupted":
                return True
            sweep_deliveries.delay()
            time.sleep(2)
            return False

        assert wait_for(interrupted, timeout=60)
        time.sleep(2)
    finally:
        kill(worker)
    assert len(slack.messages) == 1
    d.refresh_from_db()
    assert d.attempts == 1 and "not sent again" in d.error


def test_a_receiver_that_is_down_is_retried_then_recorded_failed(setup):
    world, _ghl, _slack, allowed, mail_dir = setup
    agency = world["agency_a"]
    port = free_port()
    make_play(agency, slack_url=f"http://127.0.0.1:{port}/services/T1/B1/down")
    worker = _start_worker([*allowed, f"127.0.0.1:{port}"], mail_dir)
    try:
        set_state(agency, "Loc0", DAY, flags=[QUIET])
        evaluate_agency(agency.pk)
        assert wait_for(
            lambda: Delivery.objects.for_agency(agency).get(action="slack").status == "failed",
            timeout=60,
        ), _statuses(agency)
    finally:
        kill(worker)
    d = Delivery.objects.for_agency(agency).get(action="slack")
    assert (d.attempts, d.error, d.response_code) == (3, "connection refused", None)
