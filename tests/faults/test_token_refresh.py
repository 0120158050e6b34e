"""Token refresh through real processes: gunicorn and a Celery worker racing one expired token,
a worker killed between GHL's token answer and its commit, and a GHL that refuses fresh tokens.

GHL rotates refresh tokens (one use each), so every one of these would cost the agency its
install if it went wrong: the fake GHL counts the refresh calls and refuses a spent refresh token.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from accounts.models import Agency, AuditEvent
from accounts.sso import encrypt_payload
from sync import tokens
from sync.credentials import client_for_agency
from sync.models import Installation, SyncRun
from sync.tasks import pull_agency, warm_location_token
from tests.faults import procs
from tests.faults.conftest import service_env
from tests.faults.proxy import TCPProxy

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, databases="__all__")]

SSO_SECRET = "5d0c6a8e-1f2b-4c3d-9e8f-7a6b5c4d3e2f"


def _token_calls(ghl) -> list:
    return [r for r in ghl.requests("/oauth/token") if r.method == "POST"]


def _claims(user, company_id: str) -> dict:
    claims = {
        "userId": user.id,
        "companyId": company_id,
        "role": user.role,
        "type": "agency" if user.type == "agency" else "location",
        "userName": user.name,
        "email": user.email,
    }
    if user.type != "agency":
        claims["activeLocation"] = user.location_ids[0]
    return claims


def test_25_sign_ins_and_5_tasks_racing_an_expired_token_refresh_it_once(
    ghl, agency, broker, spawn, settings
):
    settings.GHL_SSO_SHARED_SECRET = SSO_SECRET
    env = service_env(ghl, GHL_SSO_SHARED_SECRET=SSO_SECRET, SSO_FAILURES_PER_IP=1000)
    _web, base = spawn.web(env)
    spawn.worker(env, concurrency=5)
    people = [u for u in ghl.world.users(agency.company_id, ghl.today()) if u.location_ids or
              u.type == "agency"][:25]  # fmt: skip
    assert len(people) == 25, "the fake world must hold 25 people to sign in"
    locations = [loc.id for loc in ghl.world.locations(agency.company_id, ghl.today())][:5]
    stale = tokens.decrypt(Installation.objects.get(agency=agency).access_token)
    ghl.expire_access_tokens()  # GHL's view: our stored token expired; our row does not know
    ghl.clear_requests()

    start = threading.Barrier(len(people) + 1)
    answers: list = [None] * len(people)

    def sign_in(i: int) -> None:
        payload = encrypt_payload(_claims(people[i], agency.company_id), SSO_SECRET)
        start.wait()
        try:
            answers[i] = requests.post(
                base + "/auth/sso/", json={"payload": payload}, headers={"Origin": base}, timeout=60
            ).status_code
        except requests.RequestException as exc:
            answers[i] = type(exc).__name__

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    start.wait()
    for loc in locations:
        warm_location_token.delay(agency.pk, loc)
    for t in threads:
        t.join(90)

    minted = lambda: len([r for r in ghl.requests("/oauth/locationToken") if r.status == 200])  # noqa: E731
    assert procs.wait_for(lambda: minted() == len(locations), timeout=60), "tasks did not finish"
    assert answers == [200] * len(people)
    assert len(_token_calls(ghl)) == 1  # one refresh for 30 racers; the refresh token survives
    inst = Installation.objects.get(agency=agency)
    fresh = tokens.decrypt(inst.access_token)
    assert fresh != stale
    # Every racer used the one new token: no request after the refresh carried another one.
    after = [r for r in ghl.requests() if r.path != "/oauth/token" and r.status == 200]
    company_calls = [r for r in after if r.path.startswith(("/users/", "/oauth/locationToken"))]
    assert company_calls and {r.headers.get("Authorization") for r in company_calls} == {
        f"Bearer {fresh}"
    }
    # The stored refresh token is the live one.
    ghl.expire_access_tokens()
    assert client_for_agency(agency).company().id == agency.company_id
    assert not Agency.objects.get(pk=agency.pk).needs_reauth


def test_a_worker_killed_between_ghls_token_answer_and_its_commit_leaves_a_usable_pair(
    ghl, agency, broker, spawn, pg_proxy, settings
):
    """The worker's refresh reaches GHL (which rotates the pair), then its database stops
    answering before the commit, and the worker is SIGKILLed there. The next user of the
    agency's token, in another process, must get a working pair without the agency
    re-installing."""
    ghl_proxy = TCPProxy(("127.0.0.1", int(ghl.base_url.rsplit(":", 1)[1]))).start()
    try:
        # The moment the worker asks GHL for a refresh, its database freezes: GHL answers, and
        # the worker can no longer commit what it got.
        ghl_proxy.on_client_bytes(b"grant_type=refresh_token", pg_proxy.pause)
        env = service_env(ghl, db_via=pg_proxy.address, ghl_url=f"http://{ghl_proxy.address}")
        worker = spawn.worker(env)
        old_refresh = tokens.decrypt(Installation.objects.get(agency=agency).refresh_token)
        ghl.expire_access_tokens()
        pull_agency.delay(agency.pk, reason="beat", kind="metadata")
        answered = lambda: any(r.status == 200 for r in _token_calls(ghl))  # noqa: E731
        assert procs.wait_for(answered, timeout=60), "the worker never refreshed"
        time.sleep(1.5)  # the worker holds GHL's answer and waits on the frozen database
        procs.kill(worker)
        pg_proxy.resume()
        pg_proxy.drop_all()  # the dead worker's transaction is rolled back by PostgreSQL
    finally:
        ghl_proxy.stop()
    broker.control.purge()
    inst = Installation.objects.get(agency=agency)
    assert tokens.decrypt(inst.refresh_token) == old_refresh  # the commit really never happened
    assert len(_token_calls(ghl)) == 1

    # Another process (this one) uses the agency's token: it works, no re-install needed.
    assert client_for_agency(agency).company().id == agency.company_id
    assert not Agency.objects.get(pk=agency.pk).needs_reauth
    assert len(_token_calls(ghl)) == 1  # the pair GHL issued to the dead worker was used
    inst.refresh_from_db()
    assert tokens.decrypt(inst.refresh_token) != old_refresh
    assert AuditEvent.objects.filter(agency=agency, action="token.recovered").count() == 1
    # And its refresh token is the live one: the next refresh succeeds.
    ghl.expire_access_tokens()
    assert client_for_agency(agency).company().id == agency.company_id
    assert [r.status for r in _token_calls(ghl)] == [200, 200]
    assert not Agency.objects.get(pk=agency.pk).needs_reauth


def test_a_ghl_that_refuses_fresh_tokens_marks_reauth_once_without_a_loop(
    ghl, agency, broker, spawn, settings
):
    ghl.add_fault("401", path="/oauth/installedLocations")  # every token, fresh or not
    spawn.worker(service_env(ghl))
    for _ in range(3):  # three beats in a row
        pull_agency.delay(agency.pk, reason="beat", kind="metadata")
    reauth = lambda: Agency.objects.get(pk=agency.pk).needs_reauth  # noqa: E731
    assert procs.wait_for(reauth, timeout=60), "the agency was never marked for reauth"
    settle = lambda: SyncRun.objects.for_agency(agency).filter(finished_at=None).count() == 0  # noqa: E731
    time.sleep(3)  # the other two beats are consumed meanwhile
    assert procs.wait_for(settle, timeout=30)

    assert len(_token_calls(ghl)) == 1  # one refresh, then no more: no loop across runs
    listed = ghl.requests("/oauth/installedLocations")
    assert [r.status for r in listed] == [401, 401]  # the stale token, then the fresh one
    runs = list(SyncRun.objects.for_agency(agency))
    assert [r.stop_reason for r in runs] == ["revoked"]  # later beats did not even start a run
    events = AuditEvent.objects.filter(agency=agency)
    assert events.filter(action="reauth_needed").count() == 1
    assert events.filter(action="token.refresh_failed").count() == 1
    # A sign-in or a web request later does not ask GHL again either.
    from sync.ghl.errors import AuthRevoked

    with pytest.raises(AuthRevoked):
        client_for_agency(agency).company()
    assert len(ghl.requests("/oauth/installedLocations")) == 2
    assert len(_token_calls(ghl)) == 1
