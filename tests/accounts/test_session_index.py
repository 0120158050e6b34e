"""The session index (one operation ends an agency's or a person's sessions) and the epochs (no
session comes back, even one the index missed). Embedded for the logic; real Redis for the index
itself."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings

from accounts import purge, sessionindex
from accounts.identity import SESSION_AGENCY_EPOCH, SESSION_USER_EPOCH
from accounts.revocation import end_agency_sessions, end_user_sessions
from accounts.sessions import SessionStore
from gocsm.agencykeys import agency_cache_patterns, agency_redis_key

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME


@pytest.fixture
def signed_in(personas, payload_for, sso_post):
    """Sign a persona in through the real SSO endpoint; returns the browser."""
    from django.test import Client

    def sign_in(key):
        browser = Client()
        assert sso_post(payload_for(personas[key]), test_client=browser).status_code == 200
        return browser

    return sign_in


def key_of(browser) -> str:
    return browser.cookies[COOKIE].value


def alive(browser) -> bool:
    return SessionStore().exists(key_of(browser))


def test_a_new_session_is_indexed_under_its_agency(personas, signed_in):
    signed_in("owner_a")
    signed_in("user_a")
    signed_in("owner_b")
    assert sessionindex.count_for_agency(personas["agency_a"].pk) == 2
    assert sessionindex.count_for_agency(personas["agency_b"].pk) == 1


def test_ending_an_agencys_sessions_deletes_them_and_spares_the_others(personas, signed_in):
    a1, a2, b = signed_in("owner_a"), signed_in("user_a"), signed_in("owner_b")
    assert end_agency_sessions(personas["agency_a"].pk) == 2
    assert not alive(a1)
    assert not alive(a2)
    assert alive(b)
    assert b.get("/auth/me/").status_code == 200
    assert sessionindex.count_for_agency(personas["agency_a"].pk) == 0


def test_ending_a_persons_sessions_spares_their_colleagues(personas, signed_in):
    user_sessions = [signed_in("user_a"), signed_in("user_a")]
    owner = signed_in("owner_a")
    assert end_user_sessions(personas["agency_a"].pk, [personas["user_a"].pk]) == 2
    assert not any(alive(b) for b in user_sessions)
    assert owner.get("/auth/me/").status_code == 200


def test_a_session_the_index_missed_is_refused_after_a_reinstall(personas, signed_in, monkeypatch):
    monkeypatch.setattr(sessionindex, "add", lambda *args: None)  # the index misses it
    browser = signed_in("owner_a")
    agency = personas["agency_a"]
    end_agency_sessions(agency.pk)  # what an uninstall does
    assert alive(browser)  # not in the index, so still in the store...
    agency.is_installed = True  # ...and the agency installs again
    agency.save()
    assert browser.get("/auth/me/").status_code == 401  # the epoch refuses it
    assert not SessionStore().exists(key_of(browser))


def test_a_person_whose_sessions_ended_is_refused_even_if_the_index_missed(
    personas, signed_in, monkeypatch
):
    monkeypatch.setattr(sessionindex, "add", lambda *args: None)
    browser = signed_in("user_a")
    end_user_sessions(personas["agency_a"].pk, [personas["user_a"].pk])
    assert browser.get("/auth/me/").status_code == 401


def test_sessions_carry_the_epochs_they_started_with(personas, signed_in):
    end_agency_sessions(personas["agency_a"].pk)
    end_user_sessions(personas["agency_a"].pk, [personas["owner_a"].pk])
    browser = signed_in("owner_a")
    data = SessionStore(key_of(browser)).load()
    assert (data[SESSION_AGENCY_EPOCH], data[SESSION_USER_EPOCH]) == (1, 1)
    assert browser.get("/auth/me/").status_code == 200


def test_sessions_from_before_the_epochs_count_as_epoch_zero(personas, login, client):
    # Written as sessions were before this change: no epoch keys.
    login(personas["owner_a"])
    assert client.get("/auth/me/").status_code == 200
    end_agency_sessions(personas["agency_a"].pk)
    assert client.get("/auth/me/").status_code == 401


def test_a_redis_failure_while_deleting_still_ends_the_sessions(personas, signed_in, monkeypatch):
    browser = signed_in("owner_a")

    def down(*args):
        raise ConnectionError("redis down")

    monkeypatch.setattr(sessionindex, "destroy_agency", down)
    assert end_agency_sessions(personas["agency_a"].pk) == 0
    assert browser.get("/auth/me/").status_code == 401


def test_the_index_forgets_sessions_older_than_any_can_live(personas, signed_in):
    with time_machine.travel(1_000_000, tick=False) as traveller:
        signed_in("owner_a")
        traveller.shift(settings.SESSION_MAX_SECONDS + 60)
        signed_in("user_a")
        assert sessionindex.count_for_agency(personas["agency_a"].pk) == 1


def test_purge_ends_sessions_through_the_index_without_scanning_sessions(
    personas, signed_in, monkeypatch
):
    browsers = [signed_in("owner_a"), signed_in("user_a")]
    other = signed_in("owner_b")
    patterns = []
    real = purge._cache_keys
    monkeypatch.setattr(purge, "_cache_keys", lambda p: patterns.append(p) or real(p))
    report = purge.purge_agency(personas["agency_a"])
    assert report.redis["sessions"] == 2
    assert not any(alive(b) for b in browsers)
    assert alive(other)
    assert patterns and all(
        p in agency_cache_patterns(personas["agency_a"].pk) for p in patterns
    ), patterns


def test_purge_dry_run_counts_sessions_and_ends_none(personas, signed_in):
    browser = signed_in("owner_a")
    report = purge.purge_agency(personas["agency_a"], dry_run=True)
    assert report.redis["sessions"] == 1
    assert alive(browser)


# --- real Redis --------------------------------------------------------------------------------
@pytest.fixture
def redis_conn():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


@pytest.mark.services
def test_the_index_is_a_sorted_set_under_the_agency_prefix_with_a_ttl(
    personas, signed_in, redis_conn
):
    browser = signed_in("owner_a")
    agency_id, user_id = personas["agency_a"].pk, personas["owner_a"].pk
    for index in (
        f"gocsm:{{agency-{agency_id}}}:sessions",
        f"gocsm:{{agency-{agency_id}}}:user:{user_id}:sessions",
    ):
        assert redis_conn.type(index) == b"zset"
        assert redis_conn.zscore(index, key_of(browser)) is not None
        assert 0 < redis_conn.ttl(index) <= settings.SESSION_MAX_SECONDS


@pytest.mark.services
def test_ending_an_agencys_sessions_is_one_script_and_no_scan(
    personas, signed_in, redis_conn, monkeypatch
):
    browsers = [signed_in("owner_a") for _ in range(25)]
    other = signed_in("owner_b")
    commands = []
    real = type(redis_conn).execute_command

    def record(self, *args, **options):
        commands.append(str(args[0]).upper())
        return real(self, *args, **options)

    monkeypatch.setattr(type(redis_conn), "execute_command", record)
    assert sessionindex.destroy_agency(personas["agency_a"].pk) == 25
    monkeypatch.undo()
    assert [c for c in commands if c not in ("SCRIPT LOAD", "SCRIPT")] in (["EVALSHA"], ["EVAL"])
    assert not any(redis_conn.exists(f"gocsm:1:gocsm.session.{key_of(b)}") for b in browsers)
    assert redis_conn.exists(f"gocsm:1:gocsm.session.{key_of(other)}")
    assert not redis_conn.exists(agency_redis_key(personas["agency_a"].pk, "sessions"))


def test_saving_an_instance_loaded_before_the_sessions_ended_does_not_revive_them(
    personas, signed_in
):
    stale_agency, stale_user = personas["agency_a"], personas["owner_a"]  # loaded before
    browser = signed_in("owner_a")
    end_agency_sessions(stale_agency.pk)
    end_user_sessions(stale_agency.pk, [stale_user.pk])
    stale_agency.name = "Renamed"
    stale_agency.save()
    stale_user.name = "Renamed"
    stale_user.save()
    stale_agency.refresh_from_db()
    stale_user.refresh_from_db()
    assert (stale_agency.name, stale_agency.session_epoch) == ("Renamed", 1)
    assert (stale_user.name, stale_user.session_epoch) == ("Renamed", 1)
    assert browser.get("/auth/me/").status_code == 401
