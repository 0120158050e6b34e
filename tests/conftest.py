"""Shared test harness.

- `services` tests need a real PostgreSQL and Redis. Without them they skip, except when
  REQUIRE_SERVICES=1 (CI), where they fail.
- No test may reach beyond loopback: name resolution of any other host fails the call.
- Personas (as in healthchecks' hc/test.py): owner of agency A, user of agency A, owner of agency B.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
from django.conf import settings
from django.core.cache import cache

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "testserver", ""}
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else (host or "")
    if name not in _LOOPBACK_NAMES:
        try:
            ok = ipaddress.ip_address(name.strip("[]")).is_loopback
        except ValueError:
            ok = name.endswith(".localhost")
        if not ok:
            raise OSError(f"tests may not reach beyond loopback (tried {name!r})")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only_getaddrinfo


def services_available() -> tuple[bool, str]:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return False, "DATABASE_URL does not point at PostgreSQL"
    if not settings.REDIS_URL:
        return False, "REDIS_URL is not set"
    try:
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
    except Exception as exc:
        return False, f"Redis does not answer ({type(exc).__name__})"
    return True, ""


def pytest_runtest_setup(item):
    if item.get_closest_marker("services") is None:
        return
    ok, why = services_available()
    if ok:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache (sessions, counters, locks)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_agency(db):
    from accounts.models import Agency

    counter = {"n": 0}

    def make(**fields):
        counter["n"] += 1
        n = counter["n"]
        defaults = {
            "company_id": f"Comp{n:04d}TestAgency{n:04d}",
            "name": f"Agency {n}",
            "timezone": "America/Chicago",
            "is_installed": True,
        }
        defaults.update(fields)
        return Agency.objects.create(**defaults)

    return make


@pytest.fixture
def make_user(db):
    from accounts.models import GHLUser

    counter = {"n": 0}

    def make(agency, **fields):
        counter["n"] += 1
        n = counter["n"]
        defaults = {
            "ghl_id": f"User{n:04d}Test{agency.pk:04d}",
            "name": f"Person {n}",
            "email": f"person{n}@agency{agency.pk}.example",
            "role": "user",
            "ghl_type": "agency",
            "ghl_role": "user",
        }
        defaults.update(fields)
        return GHLUser.objects.create(agency=agency, **defaults)

    return make


@pytest.fixture
def login(client):
    """Sign `user` in by writing a server-side session exactly as SSO does.

    A location user is restricted to their synced `location_ids` unless `location_ids` is given;
    the session carries a CSRF token, so clients with enforce_csrf_checks can post with it
    (`csrf_token_for(client)`).
    """
    from django.middleware.csrf import CSRF_SESSION_KEY, _get_new_csrf_string

    from accounts.identity import SESSION_AGENCY, SESSION_LOCATIONS, SESSION_ROLE, SESSION_USER

    def do_login(user, test_client=None, location_ids=None):
        c = test_client or client
        session = c.session
        session.flush()
        session[SESSION_USER] = user.pk
        session[SESSION_AGENCY] = user.agency_id
        session[SESSION_ROLE] = user.role
        if location_ids is None and user.role == "location":
            location_ids = user.location_ids
        if location_ids is not None:
            session[SESSION_LOCATIONS] = list(location_ids)
        session[CSRF_SESSION_KEY] = _get_new_csrf_string()
        session.save()
        c.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        return c

    return do_login


@pytest.fixture
def personas(make_agency, make_user):
    """Owner and user of agency A, owner of agency B."""
    agency_a = make_agency(name="BrightPath Agency")
    agency_b = make_agency(name="Northstar Growth")
    return {
        "agency_a": agency_a,
        "agency_b": agency_b,
        "owner_a": make_user(agency_a, role="owner", is_agency_owner=True, ghl_role="admin"),
        "user_a": make_user(agency_a, role="user"),
        "owner_b": make_user(agency_b, role="owner", is_agency_owner=True, ghl_role="admin"),
    }


def pytest_collection_modifyitems(items):
    # Both aliases take part in every database test: the analytics app lives on its own alias,
    # and a test that forgets it would pass against one database and fail against two.
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses_db = {"db", "transactional_db"} & set(getattr(item, "fixturenames", ()))
        if marker is None and not uses_db:
            continue
        kwargs = dict(marker.kwargs) if marker else {}
        if "transactional_db" in getattr(item, "fixturenames", ()):
            kwargs.setdefault("transaction", True)
        kwargs.setdefault("databases", "__all__")
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)
