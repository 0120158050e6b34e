"""Redis down, and the promise that nothing granular is stored anywhere."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.db import connections

from analytics.models import UserActivityDay
from sync.activity_flush import flush_activity_counters
from sync.activity_store import CounterStoreUnavailable, counter_store
from tests.activity.conftest import beacon_body, payload_for

pytestmark = pytest.mark.urls("tests.activity.urls")
T0 = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def closed_port():
    """A loopback port with nothing listening (bound, never listening: connections are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_beacons_get_503_not_500_when_redis_is_down(send, tenant, settings, closed_port):
    settings.ACTIVITY_REDIS_URL = f"redis://127.0.0.1:{closed_port}/13"
    response = send(beacon_body(payload_for(tenant["agency"])))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"] == "unavailable"
    # A malformed beacon is still answered 400 although its counter cannot be bumped.
    assert send("not json").status_code == 400
    with pytest.raises(CounterStoreUnavailable):
        flush_activity_counters()


@pytest.mark.services
def test_what_was_counted_before_redis_went_down_is_flushed_after(
    send, tenant, settings, closed_port
):
    agency = tenant["agency"]
    payload = payload_for(agency)
    real_url = settings.ACTIVITY_REDIS_URL
    with time_machine.travel(T0, tick=False):
        assert send(beacon_body(payload, event="load")).status_code == 204
    settings.ACTIVITY_REDIS_URL = f"redis://127.0.0.1:{closed_port}/13"
    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):
        assert send(beacon_body(payload)).status_code == 503
    with pytest.raises(CounterStoreUnavailable):
        flush_activity_counters()  # the task fails and Celery retries it later
    settings.ACTIVITY_REDIS_URL = real_url
    with time_machine.travel(T0 + timedelta(seconds=120), tick=False):
        assert send(beacon_body(payload)).status_code == 204
    assert flush_activity_counters().rows_written == 1
    stored = UserActivityDay.objects.for_agency(agency).get()
    # The load counted before the outage survives; the 503'd beacon simply was not counted, and
    # the next one credits at most one heartbeat.
    assert (stored.sessions, stored.minutes_dashboard) == (1, 1)


def table_counts() -> dict[tuple[str, str], int]:
    counts = {}
    for alias in ("default", "analytics"):
        with connections[alias].cursor() as cursor:
            for model in apps.get_models():
                table = model._meta.db_table
                if table not in connections[alias].introspection.table_names(cursor):
                    continue
                cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
                counts[(alias, table)] = cursor.fetchone()[0]
    return counts


def test_nothing_granular_is_stored_in_redis_or_the_databases(send, tenant, store):
    agency = tenant["agency"]
    payloads = [payload_for(agency, user_id=u) for u in ("UserOwn0001", "UserOwn0002")]
    before = table_counts()

    def beacons(start, count):
        for n in range(count):
            for payload in payloads:
                with time_machine.travel(T0 + timedelta(seconds=start + 60 * n), tick=False):
                    assert send(beacon_body(payload, feature="contacts")).status_code == 204

    beacons(0, 2)
    keys_after_two = store.keys()
    beacons(120, 18)
    # Twenty beacons per user leave exactly the keys two did: totals, never one row per beacon.
    assert store.keys() == keys_after_two
    assert {k.split(":")[2] for k in keys_after_two} == {"day", "last", "rl", "dirty"}
    if hasattr(store, "_redis"):
        redis = store._redis
        for key in keys_after_two:
            kind = redis.type(key)
            values = redis.hgetall(key) if kind == "hash" else {key: redis.get(key)}
            text = repr(values)
            assert not any(p in text for p in payloads)
            assert "pat@example.com" not in text and "Pat Doe" not in text
    flush_activity_counters()
    flush_activity_counters(full=True)
    after = table_counts()
    changed = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}
    assert changed == {("analytics", UserActivityDay._meta.db_table): 2}


def test_rejections_are_counted_in_one_small_hash(send, tenant, store):
    send("x")
    send("y")
    send(beacon_body(payload_for(tenant["agency"]), location="LocOther0009"))
    assert store.stats() == {"bad_json": 2, "foreign_location": 1}
    assert counter_store() is store
