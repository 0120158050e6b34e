from __future__ import annotations

import json

import pytest

from accounts.sso import encrypt_payload
from sync import activity
from sync.activity_store import PREFIX, MemoryCounterStore, counter_store

SECRET = "activity-test-shared-secret"
GHL_ORIGIN = "https://app.gohighlevel.com"


@pytest.fixture(autouse=True)
def _activity_settings(settings):
    settings.GHL_SSO_SHARED_SECRET = SECRET
    settings.GHL_SSO_SHARED_SECRET_PREVIOUS = ""
    settings.GHL_APP_ID = "app0123456789abcdef"


@pytest.fixture(autouse=True)
def store(_activity_settings):
    """A clean counter store (Redis db of REDIS_URL with services, process memory without)."""

    current = counter_store()

    def wipe():
        activity.forget_lookups()
        if isinstance(current, MemoryCounterStore):
            current.reset()
        else:
            redis = current._redis
            for key in list(redis.scan_iter(match=f"{PREFIX}*")):
                redis.delete(key)

    wipe()
    yield current
    wipe()


@pytest.fixture
def tenant(make_agency):
    """An installed agency (Chicago time) with two sub-accounts, and an outsider agency."""
    from accounts.models import Location

    agency = make_agency(name="BrightPath", timezone="America/Chicago")
    other = make_agency(name="Northstar")
    for ghl_id in ("LocAlpha0001", "LocBravo0002"):
        Location.objects.create(agency=agency, ghl_id=ghl_id, name=ghl_id)
    Location.objects.create(agency=other, ghl_id="LocOther0009", name="Theirs")
    return {"agency": agency, "other": other}


def payload_for(agency, user_id="UserOwn0001", kind="location", **extra) -> str:
    data = {
        "userId": user_id,
        "companyId": agency.company_id,
        "role": "user",
        "type": kind,
        "userName": "Pat Doe",
        "email": "pat@example.com",
        **extra,
    }
    return encrypt_payload({k: v for k, v in data.items() if v is not None}, SECRET)


def beacon_body(payload, location="LocAlpha0001", feature="dashboard", event="heartbeat", **over):
    body = {"payload": payload, "location_id": location, "feature": feature, "event": event, "v": 1}
    body.update(over)
    return json.dumps(body)


@pytest.fixture
def send(client):
    def post(body: str | bytes, origin: str | None = GHL_ORIGIN):
        headers = {"HTTP_ORIGIN": origin} if origin else {}
        return client.post(
            "/ingest/activity/", data=body, content_type="text/plain;charset=UTF-8", **headers
        )

    return post


@pytest.fixture
def eager_celery():
    """Tasks the endpoints queue (an answer's recompute) run inline: with REDIS_URL set, Celery
    would send them to a broker that no worker reads in these tests."""
    from gocsm.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
