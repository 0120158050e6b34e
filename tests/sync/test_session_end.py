"""Sessions die with the install: a signed UNINSTALL ends the agency's sessions at once, a
reinstall revives none of them (not even one whose key survived), and a person GHL removes is
signed out everywhere at once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import GHLUser
from accounts.sessions import SessionStore
from accounts.sso import encrypt_payload
from sync.ghl.records import UserRecord
from sync.usersync import sync_users, upsert_user
from tests.sync.conftest import follow_install
from tests.sync.webhook_signing import Signer, compact, event

SECRET = "session-end-shared-secret"
COOKIE = settings.SESSION_COOKIE_NAME


@pytest.fixture(scope="module")
def signer():
    return Signer()


@pytest.fixture(autouse=True)
def _sso_and_webhook_keys(settings, signer):
    settings.GHL_SSO_SHARED_SECRET = SECRET
    settings.GHL_SSO_SHARED_SECRET_PREVIOUS = ""
    settings.PUBLIC_ORIGIN = ""
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = signer.ed_pem
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = signer.rsa_pem


def person(agency, ghl_id, role="owner"):
    return GHLUser.objects.create(
        agency=agency,
        ghl_id=ghl_id,
        name=f"Person {ghl_id}",
        role=role,
        ghl_type="agency",
        ghl_role="admin" if role == "owner" else "user",
        confirmed_by_ghl_at=timezone.now(),
    )


def sign_in(user) -> Client:
    """A browser signed in through the real SSO endpoint."""
    client = Client()
    claims = {
        "userId": user.ghl_id,
        "companyId": user.agency.company_id,
        "role": user.ghl_role,
        "type": "agency",
    }
    response = client.post(
        "/auth/sso/",
        {"payload": encrypt_payload(claims, SECRET)},
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 200, response.content
    assert client.get("/auth/me/").status_code == 200
    return client


def session_key(client) -> str:
    return client.cookies[COOKIE].value


def revive(key: str, data: dict, browser: Client) -> None:
    """Put a session back exactly as it was, and its cookie back in the browser."""
    survivor = SessionStore(key)
    survivor._session_cache = dict(data)
    survivor.save(must_create=True)
    browser.cookies[COOKIE] = key


def uninstall(signer, agency) -> None:
    body = compact(event("UNINSTALL", settings.GHL_APP_ID, companyId=agency.company_id))
    response = Client().generic(
        "POST",
        "/webhooks/ghl/",
        body,
        content_type="application/json",
        HTTP_X_GHL_SIGNATURE=signer.ed_sign(body),
    )
    assert response.status_code == 200


def ghl_agency_admin(fake_ghl, agency) -> GHLUser:
    """A person the fake GHL's own user list has, so the reinstall's pull keeps them."""
    day = fake_ghl.world.day_of(fake_ghl.clock.now())
    found = next(
        u
        for u in fake_ghl.world.users(agency.company_id, day)
        if u.type == "agency" and u.role == "admin" and not u.restrict
    )
    return person(agency, found.id)


def test_a_session_from_before_an_uninstall_is_refused_after_a_reinstall(
    installed, fake_ghl, signer
):
    owner = ghl_agency_admin(fake_ghl, installed)
    browser = sign_in(owner)
    key = session_key(browser)
    kept = SessionStore(key).load()

    uninstall(signer, installed)
    assert not SessionStore().exists(key), "the uninstall left the session in the store"
    assert browser.get("/auth/me/").status_code == 401

    # Suppose the index had missed it: the very same session back in the store, and a browser
    # (or whoever copied the cookie) still presenting it.
    revive(key, kept, browser)
    assert SessionStore().exists(key)

    follow_install(Client(), fake_ghl)
    installed.refresh_from_db()
    owner.refresh_from_db()
    assert installed.is_installed
    assert not owner.deleted  # still one of the agency's people: only the epoch refuses it
    assert browser.get("/auth/me/").status_code == 401
    assert not SessionStore().exists(key), "a refused session is deleted on sight"
    # The agency's people sign in again as usual.
    assert sign_in(owner).get("/app/").status_code == 200


def test_an_uninstall_ends_only_that_agencys_sessions(installed, make_agency, signer):
    other_agency = make_agency(name="Northstar Growth")
    ours = [sign_in(person(installed, f"Ours{n:04d}")) for n in range(3)]
    theirs = sign_in(person(other_agency, "Theirs0001"))
    uninstall(signer, installed)
    for browser in ours:
        assert not SessionStore().exists(session_key(browser))
    assert SessionStore().exists(session_key(theirs))
    assert theirs.get("/auth/me/").status_code == 200


def test_the_uninstall_ends_sessions_before_the_queue_gets_to_it(installed, signer, monkeypatch):
    from sync.webhooks import tasks

    monkeypatch.setattr(tasks.process_event, "delay", lambda *args, **kwargs: None)
    browser = sign_in(person(installed, "OwnerQueued0001"))
    uninstall(signer, installed)
    installed.refresh_from_db()
    assert installed.is_installed  # the task has not run
    assert not SessionStore().exists(session_key(browser))
    assert browser.get("/auth/me/").status_code == 401


def record(user, **changes) -> UserRecord:
    fields = {
        "id": user.ghl_id,
        "name": user.name,
        "email": user.email,
        "type": "agency",
        "role": user.ghl_role,
        "location_ids": (),
        "restrict_sub_account": False,
        "deleted": False,
    }
    fields.update(changes)
    return UserRecord(**fields)


def test_a_person_ghl_removes_is_signed_out_everywhere_at_once(installed):
    leaving, staying = person(installed, "Leaving0001", "user"), person(installed, "Staying0001")
    leaving_browsers = [sign_in(leaving), sign_in(leaving)]
    staying_browser = sign_in(staying)

    sync_users(installed, [record(staying)])  # GHL's full list no longer has them

    for browser in leaving_browsers:
        assert not SessionStore().exists(session_key(browser))
        assert browser.get("/auth/me/").status_code == 401
    assert staying_browser.get("/auth/me/").status_code == 200


def test_a_person_ghl_marks_deleted_is_signed_out_and_not_revived_by_coming_back(installed):
    user = person(installed, "Disabled0001", "user")
    browser = sign_in(user)
    key, kept = session_key(browser), SessionStore(session_key(browser)).load()

    upsert_user(installed, record(user, deleted=True))
    assert not SessionStore().exists(key)

    upsert_user(installed, record(user, deleted=False))  # GHL restores them
    revive(key, kept, browser)
    assert browser.get("/auth/me/").status_code == 401
    assert sign_in(user).get("/auth/me/").status_code == 200
