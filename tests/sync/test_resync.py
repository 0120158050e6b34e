"""An owner's or admin's "Re-sync now": CSRF-protected, owner/admin only, audited, rate-limited,
and it pulls the signed-in agency only."""

from __future__ import annotations

import pytest
from django.middleware.csrf import CSRF_SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from sync.models import SyncRun

URL = reverse("sync:resync")


def _csrf(client) -> str:
    return client.session[CSRF_SESSION_KEY]


def _post(client, **data):
    return client.post(URL, {"csrfmiddlewaretoken": _csrf(client), **data})


@pytest.fixture
def people(installed):
    """The agency's people as the first import read them from GHL (a re-sync reads them again,
    so made-up users would be marked gone and signed out)."""
    from accounts.models import GHLUser
    from sync.tasks import pull_agency

    assert pull_agency(installed.pk, reason="install") == "started"  # the first import, done
    people = GHLUser.objects.for_agency(installed).order_by("pk")
    owner, admin = people.filter(role="admin")[:2]
    # GHL's user list does not say who owns the agency; the owner's SSO claim does (usersync).
    people.filter(pk=owner.pk).update(role="owner", is_agency_owner=True)
    owner.refresh_from_db()
    return {
        "owner": owner,
        "admin": admin,
        "user": people.filter(role="user").first(),
        "location": people.filter(role="location").first(),
    }


def _strict(login, person):
    return login(person, test_client=Client(enforce_csrf_checks=True))


def test_an_owner_starts_a_re_sync_that_pulls_the_agency_and_is_audited(installed, people, login):
    client = _strict(login, people["owner"])
    page = client.get("/app/").content.decode()
    assert "Re-sync now" in page
    response = _post(client, next="/app/revenue/?days=90")
    assert response.status_code == 303
    assert response["Location"] == "/app/revenue/?days=90"
    run = SyncRun.objects.for_agency(installed).get(reason="resync")
    assert run.status == SyncRun.STATUS_OK  # inline worker here: the real pull ran, all of it
    assert run.locations_done == run.locations_total > 0
    event = AuditEvent.objects.get(action="sync.resync")
    assert (event.agency_id, event.outcome) == (installed.pk, "success")
    assert event.actor_id == people["owner"].ghl_id
    assert event.detail == {"result": "started"}


def test_an_admin_may_re_sync_too(installed, people, login):
    assert _post(_strict(login, people["admin"])).status_code == 303
    assert SyncRun.objects.for_agency(installed).filter(reason="resync").count() == 1


def test_a_second_re_sync_within_the_interval_is_refused_with_retry_after(
    installed, people, login, settings
):
    client = _strict(login, people["owner"])
    assert _post(client).status_code == 303
    page = client.get("/app/").content.decode()
    assert "Re-sync now" not in page  # the button is gone, and it says until when
    assert "Next re-sync possible at" in page
    again = _post(client)
    assert again.status_code == 429
    assert again["Retry-After"] == str(settings.SYNC_RESYNC_MIN_INTERVAL_SECONDS)
    assert b"A re-sync was started a few minutes ago" in again.content
    assert SyncRun.objects.for_agency(installed).filter(reason="resync").count() == 1
    refused = AuditEvent.objects.get(action="sync.resync", outcome="refused")
    assert refused.detail == {"result": "too_soon"}


@pytest.mark.parametrize("who", ["user", "location"])
def test_people_who_are_not_owner_or_admin_are_refused(installed, people, login, who):
    client = _strict(login, people[who])
    assert "Re-sync now" not in client.get("/app/").content.decode()
    response = _post(client)
    assert response.status_code == 403
    assert not SyncRun.objects.for_agency(installed).filter(reason="resync").exists()
    event = AuditEvent.objects.get(action="sync.resync")
    assert event.outcome == "denied"


def test_without_the_csrf_token_nothing_starts(installed, people, login):
    client = _strict(login, people["owner"])
    assert client.post(URL).status_code == 403
    assert not SyncRun.objects.for_agency(installed).filter(reason="resync").exists()


def test_anonymous_is_turned_away(installed):
    assert Client().post(URL).status_code == 401
    assert not SyncRun.objects.for_agency(installed).filter(reason="resync").exists()


def test_another_agencys_owner_can_only_ever_reach_their_own_agency(
    installed, people, login, make_agency, make_user
):
    other = make_agency(name="Northstar Growth")  # installed, never connected through OAuth
    outsider = _strict(login, make_user(other, role="owner", is_agency_owner=True))
    # The agency comes from the session, never from the request: whatever is posted, the
    # outsider's own agency is the only one in reach, and it has no grant to pull with.
    response = _post(outsider, agency=str(installed.pk), company_id=installed.company_id)
    assert response.status_code == 409
    assert not SyncRun.objects.for_agency(installed).filter(reason="resync").exists()
    assert not SyncRun.objects.for_agency(other).exists()
    event = AuditEvent.objects.get(action="sync.resync")
    assert (event.agency_id, event.detail) == (other.pk, {"result": "not_connected"})
    # The installed agency's own owner is not rate-limited by the outsider's attempt.
    assert _post(_strict(login, people["owner"])).status_code == 303


def test_a_foreign_next_url_is_not_followed(installed, people, login):
    response = _post(_strict(login, people["owner"]), next="https://evil.example/")
    assert response["Location"] == "/app/"


def test_a_read_only_agency_cannot_start_one(installed, people, login):
    from datetime import timedelta

    from django.utils import timezone

    from billing.accounts import account_for
    from billing.models import BillingAccount

    account = account_for(installed)
    account.status = BillingAccount.CANCELED
    account.trial_end = timezone.now() - timedelta(days=1)
    account.save()
    client = _strict(login, people["owner"])
    assert "Re-sync now" not in client.get("/app/").content.decode()
    assert _post(client).status_code == 402
    assert not SyncRun.objects.for_agency(installed).filter(reason="resync").exists()
