from __future__ import annotations

from datetime import date

import pytest

from tests.playbooks.fakeslack import FakeSlack

DAY = date(2026, 3, 31)


@pytest.fixture
def fake_ghl():
    from sync.fakeghl import FakeGHL

    fake = FakeGHL(seed=3, locations=2)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def slack():
    fake = FakeSlack()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def receivers(settings, fake_ghl, slack):
    """Allow the tests' own local receivers (and only them) through the SSRF guard; tasks run
    inline (with REDIS_URL set Celery would queue them for a worker: test_worker.py starts one)."""
    from gocsm.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.PLAYBOOKS_LOCAL_RECEIVERS = [
        fake_ghl.base_url.removeprefix("http://"),
        f"127.0.0.1:{slack.port}",
    ]
    settings.PLAYBOOKS_RETRY_BASE_SECONDS = 0.2
    settings.PLAYBOOKS_MAX_ATTEMPTS = 3
    settings.PLAYBOOKS_READ_TIMEOUT_SECONDS = 3
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    yield {"ghl": fake_ghl, "slack": slack}
    app.conf.task_always_eager = eager


@pytest.fixture
def world(personas, make_user):
    """Agency A with its owner, a CSM-less portfolio of three sub-accounts, and no plays."""
    from accounts.models import Location

    agency = personas["agency_a"]
    for i, name in enumerate(("Gallagher Roofing", "Kaur Med Spa", "Lombardi Dental")):
        Location.objects.create(agency=agency, ghl_id=f"Loc{i}", name=name)
    return personas


def set_state(agency, loc: str, day=DAY, *, score=60, band="healthy", flags=(), lifecycle=None):
    """Write the sub-account's current state as analytics.current_state would."""
    from analytics.models import LocationState

    codes = [c for c, _e in flags]
    LocationState.objects.for_agency(agency.pk).update_or_create(
        agency_id=agency.pk,
        location_ghl_id=loc,
        defaults={
            "name": {"Loc0": "Gallagher Roofing", "Loc1": "Kaur Med Spa"}.get(loc, loc),
            "sort_name": loc.lower(),
            "day": day,
            "analysis_rank": 1,
            "score": score,
            "band": band if score is not None else "",
            "change": -5,
            "mrr_cents": 29700,
            "currency": "USD",
            "risk_weight": 0.4 if flags else 0,
            "mrr_at_risk": 11880 if flags else 0,
            "flag_codes": "," + ",".join(codes) + "," if codes else "",
            "flags": [list(f) for f in flags],
            "lifecycle": lifecycle or "connected",
        },
    )


def make_play(agency, **fields):
    from analytics.playbooks.models import Play, PlayPeriod
    from gocsm.encryption import encrypt

    ghl_url = fields.pop("ghl_url", "")
    slack_url = fields.pop("slack_url", "")
    secret = fields.pop("secret", "whsec_test_" + "x" * 20)
    defaults = {"name": "Play", "trigger": "no_login_14", "enabled": True}
    defaults.update(fields)
    play = Play.objects.create(
        agency=agency,
        ghl_webhook_secret_url=encrypt(ghl_url) if ghl_url else "",
        slack_webhook_secret_url=encrypt(slack_url) if slack_url else "",
        signing_secret=encrypt(secret),
        **defaults,
    )
    if play.enabled:
        PlayPeriod.objects.create(agency=agency, play=play)
    return play


QUIET = ("no_login_14", "No login for 15 days (last 2026-03-16)")
PAST_DUE = ("payment_failed", "Subscription is past due")


@pytest.fixture
def evaluate(django_capture_on_commit_callbacks):
    """evaluate_agency as a recompute runs it: the deliveries it queues go once it commits
    (inline here: Celery is eager in embedded tests)."""
    from analytics.playbooks.engine import evaluate_agency

    def run(agency):
        with django_capture_on_commit_callbacks(execute=True):
            return evaluate_agency(agency.pk)

    return run
