"""A broken GHL connection is visible: owners and admins see what happened and a reconnect link,
everyone else sees that the figures stopped updating, every page says how fresh its figures are,
and reinstalling through OAuth clears it all."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone as dj_tz

from sync.credentials import client_for_agency
from sync.ghl.errors import AuthRevoked
from sync.models import Installation, SyncRun
from sync.tasks import pull_agency
from tests.sync.conftest import follow_install

PAGES = [
    "analytics:overview",
    "analytics:at-risk",
    "analytics:adoption",
    "analytics:logins",
    "analytics:revenue",
    "analytics:settings",
    "billing:index",
    "accounts:security",
]
CHICAGO = ZoneInfo("America/Chicago")
LOST = "GoCSM lost its connection to GoHighLevel on"
STOPPED = "These figures stopped updating"
RECONNECT = (
    '<a class="status-banner__action" href="/oauth/install/" target="_blank" rel="noopener">'
)


@pytest.fixture
def people(installed):
    """The first import has run; the agency's people are those it read from GHL."""
    from accounts.models import GHLUser

    assert pull_agency(installed.pk, reason="install") == "started"
    people = GHLUser.objects.for_agency(installed).order_by("pk")
    owner, admin = people.filter(role="admin")[:2]
    people.filter(pk=owner.pk).update(role="owner", is_agency_owner=True)  # the SSO claim's
    owner.refresh_from_db()
    return {
        "owner": owner,
        "admin": admin,
        "user": people.filter(role="user").first(),
        "location": people.filter(role="location").first(),
    }


def _revoke(agency, fake_ghl):
    """GHL refuses our refresh token (the grant was revoked in GHL): the next call that needs a
    fresh token marks the agency for re-authorisation, through the real refresh path."""
    fake_ghl.revoke(agency.company_id)
    fake_ghl.expire_access_tokens()
    with pytest.raises(AuthRevoked):
        client_for_agency(agency).company()
    agency.refresh_from_db()
    assert agency.needs_reauth


def _local(moment) -> str:
    here = moment.astimezone(CHICAGO)
    return f"{here.day} {here:%B %Y, %H:%M} {here.tzname()}"


def _clock(moment) -> str:
    return f"{moment.astimezone(CHICAGO):%H:%M} {moment.astimezone(CHICAGO).tzname()}"


@pytest.mark.parametrize("name", PAGES)
def test_every_page_says_how_fresh_its_figures_are(installed, people, login, name):
    last = SyncRun.objects.for_agency(installed).get(reason="install")
    for role in ("owner", "user", "location"):
        client = login(people[role], test_client=Client())
        # A sub-account's own person is led from the overview to its page (test_landing.py).
        response = client.get(reverse(name), follow=True)
        if response.status_code == 403:  # settings, billing, security: owners and admins only
            continue
        body = response.content.decode()
        # In the agency's timezone, from the last successful pull.
        assert "Figures as of <time datetime=" in body
        assert f">today {_clock(last.finished_at)}</time>" in body, role
        assert LOST not in body and STOPPED not in body


def test_figures_older_than_two_pull_intervals_are_marked_late(installed, people, login):
    SyncRun.objects.for_agency(installed).update(finished_at=dj_tz.now() - timedelta(hours=5))
    body = login(people["user"]).get("/app/").content.decode()
    assert 'class="freshness freshness--stale"' in body
    assert "5 hours ago; updates are late" in body


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_the_lost_connection_and_a_reconnect_link_on_every_page(
    installed, people, login, fake_ghl, role, name
):
    _revoke(installed, fake_ghl)
    lost_at = Installation.objects.get(agency=installed).revoked_at
    body = login(people[role]).get(reverse(name)).content.decode()
    assert f"{LOST} {_local(lost_at)}." in body
    assert "your figures stopped updating then" in body
    assert RECONNECT in body
    assert 'role="alert"' in body
    assert "Re-sync now" not in body  # nothing to re-sync with until the grant is back
    assert "Figures as of <time" in body  # and how old they now are


@pytest.mark.parametrize("role", ["user", "location"])
def test_everyone_else_sees_that_figures_are_stale_without_the_reconnect_link(
    installed, people, login, fake_ghl, role
):
    _revoke(installed, fake_ghl)
    lost_at = Installation.objects.get(agency=installed).revoked_at
    client = login(people[role])
    for name in ("analytics:overview", "analytics:revenue"):
        body = client.get(reverse(name), follow=True).content.decode()
        assert f"{STOPPED} on {_local(lost_at)}." in body
        assert "needs to be renewed by an agency owner or admin" in body
        assert "/oauth/install/" not in body
        assert LOST not in body


def test_the_banner_clears_after_a_reinstall_through_oauth(installed, people, login, fake_ghl):
    _revoke(installed, fake_ghl)
    owner = login(people["owner"])
    user = login(people["user"], test_client=Client())
    assert LOST in owner.get("/app/").content.decode()
    assert STOPPED in user.get("/app/").content.decode()
    # The owner follows the reconnect link: our install view, GHL's consent (the app approved
    # again in GHL), our callback, which stores the new grant and queues the catch-up pull.
    fake_ghl.state.unrevoke(installed.company_id)
    response, _ = follow_install(owner, fake_ghl, start="/oauth/install/")
    assert response.status_code == 302 and response["Location"] == "/oauth/installed/"
    installed.refresh_from_db()
    assert not installed.needs_reauth
    for client in (owner, user):
        body = client.get("/app/").content.decode()
        assert LOST not in body and STOPPED not in body
        assert "freshness--stale" not in body
    catch_up = SyncRun.objects.for_agency(installed).order_by("-requested_at").first()
    assert (catch_up.reason, catch_up.status) == ("install", SyncRun.STATUS_OK)
    body = owner.get("/app/").content.decode()
    assert f">today {_clock(catch_up.finished_at)}</time>" in body
    assert "Re-sync now" in body


def test_installed_by_webhook_but_never_connected_asks_to_finish_the_install(
    make_agency, make_user, login
):
    agency = make_agency(needs_reauth=True)  # GHL's INSTALL webhook without the OAuth step
    body = login(make_user(agency, role="owner")).get("/app/").content.decode()
    assert "GoCSM is not connected to GoHighLevel yet." in body
    assert RECONNECT in body
    assert LOST not in body


def test_the_status_endpoint_reports_the_lost_connection(installed, people, login, fake_ghl):
    _revoke(installed, fake_ghl)
    data = login(people["user"]).get(reverse("sync:status")).json()
    assert data["needs_reauth"] is True
    assert data["importing"] is False
    assert re.match(r"\d{4}-\d\d-\d\dT", data["as_of"])
