"""Server-side sessions: key strength, expiry, logout, the cookie, forged keys and Redis down."""

from __future__ import annotations

import re
import socket

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings

from accounts.sessionmiddleware import PartitionedMorsel
from accounts.sessions import ALLOWED_KEYS, SessionStore, is_well_formed_key

pytestmark = pytest.mark.django_db
COOKIE = "__Host-gocsm_session"


@pytest.fixture
def signed_in(personas, payload_for, sso_post, client):
    response = sso_post(payload_for(personas["owner_a"]))
    assert response.status_code == 200
    return response


def raw_set_cookie(response) -> str:
    return response.cookies[COOKIE].output(header="Set-Cookie:")


def test_keys_are_256_bit_urlsafe_and_unique():
    keys = set()
    for _ in range(50):
        store = SessionStore()
        store.create()
        keys.add(store.session_key)
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", store.session_key)
    assert len(keys) == 50


def test_cookie_carries_every_required_attribute(signed_in):
    header = raw_set_cookie(signed_in)
    assert header.startswith(f"Set-Cookie: {COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "partitioned", "path"} <= attributes
    assert "samesite=none" in header.lower()
    assert "path=/" in header.lower()
    assert "domain" not in attributes
    assert isinstance(signed_in.cookies[COOKIE], PartitionedMorsel)


def test_session_survives_a_reload(signed_in, client):
    assert client.get("/auth/me/").status_code == 200
    assert client.get("/auth/me/").status_code == 200


def test_idle_session_expires_on_the_server(signed_in, client, settings):
    settings.SESSION_IDLE_SECONDS = 60
    key = client.cookies[COOKIE].value
    with time_machine.travel(0, tick=False) as traveller:
        store = SessionStore(key)
        data = store.load()
        data["_seen"] = 0.0
        store._session_cache = data
        store.save()
        traveller.shift(30)
        assert client.get("/auth/me/").status_code == 200  # activity resets the idle clock
        traveller.shift(50)
        assert client.get("/auth/me/").status_code == 200
        traveller.shift(61)
        assert client.get("/auth/me/").status_code == 401
    assert SessionStore(key).load() == {}


def test_absolute_lifetime_ends_even_an_active_session(personas, payload_for, sso_post, client):
    with time_machine.travel(1_000_000, tick=False) as traveller:
        sso_post(payload_for(personas["owner_a"]))
        for _ in range(int(settings.SESSION_MAX_SECONDS / settings.SESSION_IDLE_SECONDS) + 1):
            traveller.shift(settings.SESSION_IDLE_SECONDS - 5)
            last = client.get("/auth/me/").status_code
            if last != 200:
                break
        assert last == 401


def test_logout_deletes_the_session_and_expires_the_cookie(signed_in, client):
    key = client.cookies[COOKIE].value
    response = client.post("/auth/logout/")
    assert response.status_code == 200
    assert SessionStore(key).load() == {}
    header = raw_set_cookie(response)
    assert "expires=thu, 01 jan 1970" in header.lower()
    assert "partitioned" in header.lower()
    assert "secure" in header.lower()
    stale = Client()
    stale.cookies[COOKIE] = key
    assert stale.get("/auth/me/").status_code == 401


def test_logout_needs_the_csrf_token(personas, payload_for, sso_post):
    strict = Client(enforce_csrf_checks=True)
    sso_post(payload_for(personas["owner_a"]), test_client=strict)
    assert strict.post("/auth/logout/").status_code == 403
    assert strict.get("/auth/me/").status_code == 200
    page = strict.get("/auth/me/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert strict.post("/auth/logout/", {"csrfmiddlewaretoken": token}).status_code == 200
    assert strict.get("/auth/me/").status_code == 401


def test_logout_without_a_session_is_401(client):
    assert client.post("/auth/logout/").status_code == 401


def test_request_finishing_after_logout_does_not_revive_the_session(signed_in, client):
    key = client.cookies[COOKIE].value
    in_flight = SessionStore(key)
    assert in_flight.get("role") == "owner"  # loaded before logout, saved after
    client.post("/auth/logout/")
    from django.contrib.sessions.backends.base import UpdateError

    with pytest.raises(UpdateError):
        in_flight.save()
    assert SessionStore(key).load() == {}


@pytest.mark.parametrize(
    "cookie",
    [
        "A" * 43,
        "0123456789abcdef0123456789abcdef0123456789a",
        "short",
        "x" * 500,
        "../../etc/passwd",
        "k" * 42 + "=",
    ],
)
def test_forged_or_guessed_cookie_is_anonymous(signed_in, cookie):
    forged = Client()
    forged.cookies[COOKIE] = cookie
    assert forged.get("/auth/me/").status_code == 401


def test_partitioned_is_written_once_for_set_and_delete():
    from django.http import HttpResponse

    from accounts.sessionmiddleware import mark_partitioned

    response = HttpResponse()
    response.set_cookie(COOKIE, "v" * 43, secure=True, httponly=True, samesite="None")
    mark_partitioned(response, COOKIE)
    mark_partitioned(response, COOKIE)
    assert response.cookies[COOKIE].output().count("Partitioned") == 1
    response.delete_cookie(COOKIE, samesite="None")
    mark_partitioned(response, COOKIE)
    assert response.cookies[COOKIE].output().endswith("; Partitioned")


def test_key_of_another_shape_is_never_looked_up():
    assert not is_well_formed_key("a" * 32)
    assert not is_well_formed_key("é" * 43)
    assert SessionStore("a" * 32).session_key is None


def test_unlisted_session_keys_are_not_stored(signed_in, client, all_logs):
    store = SessionStore(client.cookies[COOKIE].value)
    store["payload"] = "should-not-be-kept"
    store.save()
    assert "payload" not in SessionStore(client.cookies[COOKIE].value).load()
    assert "payload" in all_logs.text
    assert "should-not-be-kept" not in all_logs.text
    assert set(SessionStore(client.cookies[COOKIE].value).load()) <= ALLOWED_KEYS


def test_session_for_an_uninstalled_agency_no_longer_works(signed_in, client, personas):
    agency = personas["agency_a"]
    agency.is_installed = False
    agency.save()
    assert client.get("/auth/me/").status_code == 401


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down():
    caches = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    return override_settings(CACHES=caches)


def test_redis_down_gives_503_on_pages_that_need_a_session(signed_in, client, redis_down):
    with redis_down:
        response = client.get("/auth/me/")
        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0
        assert client.post("/auth/logout/").status_code == 503
    assert client.get("/auth/me/").status_code == 200  # the session survived the outage


def test_redis_down_leaves_the_cookie_alone(signed_in, client, redis_down):
    with redis_down:
        response = client.get("/auth/me/")
    assert COOKIE not in response.cookies


def test_redis_down_sso_answers_503_and_changes_nothing(
    personas, payload_for, sso_post, redis_down, all_logs
):
    payload = payload_for(personas["owner_a"])
    with redis_down:
        response = sso_post(payload)
    assert response.status_code == 503
    personas["owner_a"].refresh_from_db()
    assert personas["owner_a"].last_sign_in_at is None
    assert payload not in all_logs.text


def test_redis_down_public_pages_still_answer(signed_in, client, redis_down):
    with redis_down:
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200


def test_redis_down_without_a_cookie_is_the_usual_401(client, redis_down):
    # Without a cookie nothing is read from Redis; the guard answers 401 as for anyone.
    with redis_down:
        assert client.get("/auth/me/").status_code == 401


@pytest.mark.services
def test_session_lives_in_redis_with_the_idle_ttl_and_logout_removes_it(signed_in, client):
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    key = client.cookies[COOKIE].value
    (stored,) = [k for k in redis.keys("*gocsm.session.*") if k.decode().endswith(key)]
    assert 0 < redis.ttl(stored) <= settings.SESSION_IDLE_SECONDS
    assert b"payload" not in redis.get(stored)
    client.post("/auth/logout/")
    assert not redis.exists(stored)
