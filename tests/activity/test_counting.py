"""Sessions, feature minutes, staff apart, and the flush into the analytics database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import DatabaseError

from analytics.models import UserActivityDay
from sync import activity_flush
from sync.activity_flush import flush_activity_counters
from sync.activity_store import Limits, MemoryCounterStore, Tick, counter_store
from tests.activity.conftest import beacon_body, payload_for

pytestmark = pytest.mark.urls("tests.activity.urls")

# 15:00 UTC is 09:00 in Chicago (CST, UTC-6) on 2026-01-15.
T0 = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)


def rows(agency):
    return list(
        UserActivityDay.objects.for_agency(agency)
        .order_by("location_ghl_id", "user_ghl_id", "day")
        .values()
    )


def row(agency, user="UserOwn0001", location="LocAlpha0001"):
    return UserActivityDay.objects.for_agency(agency).get(
        user_ghl_id=user, location_ghl_id=location
    )


def play(send, payload, steps, start=T0):
    """steps: (seconds after start, feature, event). Each beacon must be accepted."""
    for seconds, feature, event in steps:
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            response = send(beacon_body(payload, feature=feature, event=event))
            assert response.status_code == 204, response.content


def test_a_gap_of_30_minutes_starts_a_new_session(send, tenant):
    payload = payload_for(tenant["agency"])
    play(
        send,
        payload,
        [
            (0, "dashboard", "load"),
            (60, "dashboard", "heartbeat"),
            (60 + 29 * 60, "dashboard", "heartbeat"),  # 29 min later: same session
            (60 + 29 * 60 + 30 * 60, "contacts", "load"),  # exactly 30 min later: a new one
            (60 + 29 * 60 + 30 * 60 + 60, "contacts", "heartbeat"),
        ],
    )
    flush_activity_counters()
    assert row(tenant["agency"]).sessions == 2


def test_sessions_are_per_sub_account(send, tenant):
    payload = payload_for(tenant["agency"])
    with time_machine.travel(T0, tick=False):
        send(beacon_body(payload, location="LocAlpha0001"))
        send(beacon_body(payload, location="LocBravo0002"))
    flush_activity_counters()
    assert [r["sessions"] for r in rows(tenant["agency"])] == [1, 1]


def test_the_day_is_the_agencys_day_and_the_first_beacon_of_a_day_starts_a_session(send, tenant):
    payload = payload_for(tenant["agency"])
    # 05:50 and 06:05 UTC are 23:50 and 00:05 in Chicago: two days, one session each, even though
    # only 15 minutes passed.
    midnight_chicago = datetime(2026, 1, 16, 6, 0, tzinfo=UTC)
    play(
        send,
        payload,
        [
            (-600, "dashboard", "load"),
            (-540, "dashboard", "heartbeat"),
            (300, "dashboard", "heartbeat"),
        ],
        start=midnight_chicago,
    )
    flush_activity_counters()
    found = {(r["day"], r["sessions"]) for r in rows(tenant["agency"])}
    assert found == {(date(2026, 1, 15), 1), (date(2026, 1, 16), 1)}


def test_time_between_beacons_is_credited_to_the_feature_in_use_capped_at_a_heartbeat(send, tenant):
    payload = payload_for(tenant["agency"])
    play(
        send,
        payload,
        [
            (0, "dashboard", "load"),
            (60, "dashboard", "heartbeat"),  # +60 s dashboard
            (90, "contacts", "route"),  # +30 s dashboard (the user was there until now)
            (150, "contacts", "heartbeat"),  # +60 s contacts
            (210, "automation", "route"),  # +60 s contacts; "automation" is workflows
            (1110, "workflows", "heartbeat"),  # 15 min silence: only one heartbeat's worth
        ],
    )
    flush_activity_counters()
    stored = row(tenant["agency"])
    assert (stored.minutes_dashboard, stored.minutes_contacts, stored.minutes_workflows) == (
        2,
        2,
        1,
    )
    assert stored.minutes_total == 5
    assert stored.sessions == 1


def test_agency_staff_are_counted_apart_from_the_sub_accounts_own_users(send, tenant, make_user):
    agency = tenant["agency"]
    make_user(agency, ghl_id="UserAdmin003", role="admin")
    make_user(agency, ghl_id="UserLocal004", role="location", ghl_type="account")
    with time_machine.travel(T0, tick=False):
        send(beacon_body(payload_for(agency, user_id="UserStaff001", kind="agency")))
        send(beacon_body(payload_for(agency, user_id="UserOwn0001", kind="location")))
        # Without a type, our synced user list decides.
        send(beacon_body(payload_for(agency, user_id="UserAdmin003", kind=None)))
        send(beacon_body(payload_for(agency, user_id="UserLocal004", kind=None)))
    flush_activity_counters()
    staff = {r["user_ghl_id"]: r["is_agency_staff"] for r in rows(agency)}
    assert staff == {
        "UserStaff001": True,
        "UserOwn0001": False,
        "UserAdmin003": True,
        "UserLocal004": False,
    }


def test_flushing_twice_leaves_the_same_rows_and_later_flushes_set_new_totals(send, tenant):
    agency = tenant["agency"]
    payload = payload_for(agency)
    play(send, payload, [(0, "dashboard", "load"), (60, "dashboard", "heartbeat")])
    assert flush_activity_counters().rows_written == 1
    first = rows(agency)
    assert flush_activity_counters().rows_written == 0  # nothing changed since
    assert flush_activity_counters(full=True).rows_written == 1  # rewrite everything still held
    assert [dict(r, updated_at=None) for r in rows(agency)] == [
        dict(r, updated_at=None) for r in first
    ]
    play(send, payload, [(120, "dashboard", "heartbeat")])
    flush_activity_counters()
    assert row(agency).minutes_dashboard == 2  # a total, not 1 + 2
    assert len(rows(agency)) == 1


def test_an_interrupted_flush_loses_nothing_and_the_next_one_finishes(send, tenant, make_agency):
    agency = tenant["agency"]
    users = [f"UserMany{n:04d}" for n in range(6)]
    with time_machine.travel(T0, tick=False):
        for user in users:
            send(beacon_body(payload_for(agency, user_id=user)))
    real = activity_flush.record_user_activity_day
    calls = {"n": 0}

    def dies_on_the_fourth(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise DatabaseError("connection lost")
        return real(*args, **kwargs)

    with (
        mock.patch.object(activity_flush, "record_user_activity_day", dies_on_the_fourth),
        pytest.raises(DatabaseError),
    ):
        flush_activity_counters()
    assert 0 < len(rows(agency)) < len(users)
    flush_activity_counters()
    assert sorted(r["user_ghl_id"] for r in rows(agency)) == users
    assert all(r["sessions"] == 1 for r in rows(agency))
    assert flush_activity_counters().rows_written == 0


def test_a_beacon_arriving_during_a_flush_stays_dirty_for_the_next(send, tenant, store):
    agency = tenant["agency"]
    payload = payload_for(agency)
    play(send, payload, [(0, "dashboard", "load")])
    real = activity_flush.record_user_activity_day

    def beacon_meanwhile(*args, **kwargs):
        real(*args, **kwargs)
        play(send, payload, [(60, "dashboard", "heartbeat")])

    with mock.patch.object(activity_flush, "record_user_activity_day", beacon_meanwhile):
        flush_activity_counters()
    assert row(agency).minutes_dashboard == 0
    assert flush_activity_counters().rows_written == 1
    assert row(agency).minutes_dashboard == 1


def test_the_flush_task_is_on_the_beat_schedule_and_runs(send, tenant, settings):
    from gocsm.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["every-5-min-flush-activity-counters"]
    assert entry["task"] == "sync.activity_flush.flush_activity_counters"
    assert entry["task"] in app.tasks
    send(beacon_body(payload_for(tenant["agency"])))
    assert activity_flush.flush_activity_counters_task.apply().get() == 1


SCENARIO = [
    (0, "LocA", "U1", "dashboard", False),
    (45_000, "LocA", "U1", "contacts", False),
    (50_000, "LocA", "U2", "dashboard", True),
    (200_000, "LocA", "U1", "contacts", False),  # 155 s later: capped to 60 s
    (190_000, "LocA", "U1", "sites", False),  # out of order: credits nothing
    (200_000 + 1_800_000, "LocA", "U1", "settings", False),  # exactly 30 min: new session
    (200_000 + 1_830_000, "LocB", "U1", "settings", False),
]


def run_scenario(store):
    limits = Limits(
        session_gap_ms=1_800_000,
        credit_cap_ms=60_000,
        counter_ttl_s=3600,
        burst=100,
        refill_per_ms=1,
    )
    base = 1_768_489_200_000
    for offset, loc, user, feature, staff in SCENARIO:
        tick = Tick(
            agency_id=7,
            day="2026-01-15",
            location_ghl_id=loc,
            user_ghl_id=user,
            feature=feature,
            is_agency_staff=staff,
            now_ms=base + offset,
        )
        store.record(tick, limits)
    members = sorted(store.dirty_members())
    return {
        (t.location_ghl_id, t.user_ghl_id): (
            t.sessions,
            {f: ms for f, ms in t.ms_by_feature.items() if ms},
            t.is_agency_staff,
        )
        for t in store.totals(members)
    }


EXPECTED = {
    ("LocA", "U1"): (2, {"dashboard": 45_000, "contacts": 60_000}, False),
    ("LocA", "U2"): (1, {}, True),
    ("LocB", "U1"): (1, {}, False),
}


def test_the_in_memory_store_follows_the_algorithm():
    assert run_scenario(MemoryCounterStore()) == EXPECTED


@pytest.mark.services
def test_the_redis_script_follows_the_same_algorithm(store, db):
    assert counter_store() is store and not isinstance(store, MemoryCounterStore)
    assert run_scenario(store) == EXPECTED
