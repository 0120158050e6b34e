"""`make run` on the embedded defaults: SQLite, no Redis, an in-memory broker. The rest of the
suite runs on PostgreSQL and Redis, so a read that only PostgreSQL's driver gets right (an aware
datetime, a real boolean) passes everywhere else and breaks the first page a newcomer opens.
This builds a small demo the way `make run` does, in a fresh data folder, and opens every
portfolio page as an agency admin, an agency user and a sub-account user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.childproc import run_python

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SCRIPT = r"""
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client

assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), settings.DATABASES
assert not settings.REDIS_URL
call_command("demo", no_serve=True, days=45, locations=8, verbosity=0)

from accounts.identity import SESSION_AGENCY, SESSION_LOCATIONS, SESSION_ROLE, SESSION_USER
from accounts.models import Agency, GHLUser, Location

settings.ALLOWED_HOSTS = ["testserver"]
pages = [
    "/app/", "/app/?sort=-mrr", "/app/at-risk/", "/app/adoption/", "/app/logins/",
    "/app/revenue/", "/app/settings/", "/app/segments/", "/app/feedback/", "/app/churn/",
    "/app/tasks/", "/app/playbooks/", "/billing/",
]
agency = Agency.objects.get(is_installed=True)
people = {role: GHLUser.objects.for_agency(agency).filter(role=role).order_by("pk").first()
          for role in ("admin", "user", "location")}
for role, person in people.items():
    assert person is not None, role
    client = Client()
    session = client.session
    session[SESSION_USER], session[SESSION_AGENCY], session[SESSION_ROLE] = (
        person.pk, person.agency_id, person.role)
    if role == "location":
        session[SESSION_LOCATIONS] = list(person.location_ids)
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    visible = Location.objects.for_agency(agency).order_by("pk")
    if role == "location":
        visible = visible.filter(ghl_id__in=person.location_ids)
    for url in pages:  # some are not theirs (403, or 404 for a sub-account's people)
        r = client.get(url, secure=True, follow=True)
        assert r.status_code in (200, 403, 404), (role, url, r.status_code)
        print(role, url, r.status_code)
    for url in [f"/app/locations/{loc.ghl_id}/" for loc in visible]:
        r = client.get(url, secure=True)
        assert r.status_code == 200, (role, url, r.status_code)
        print(role, url, r.status_code)
print("EMBEDDED DEFAULTS OK")
"""


def test_make_run_pages_answer_on_the_embedded_defaults(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "ANALYTICS_DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="gocsm.settings",
        DEBUG="1",
        GOCSM_DEV_TOOLS="1",
        GOCSM_DATA_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    done = run_python(SCRIPT, env, timeout=900, cwd=tmp_path)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    assert "EMBEDDED DEFAULTS OK" in done.stdout, tail
    # Every page answered, none with a server error (a 500 would have stopped the script).
    assert done.stdout.count(" 200") >= 20, tail
