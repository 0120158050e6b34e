"""POST /webhooks/ghl/: signatures, appId, replay and staleness, and each handled event."""

from __future__ import annotations

import pytest

from accounts.models import Agency, AuditEvent, GHLUser, Location
from sync.models import Installation, SyncRun, WebhookReceipt
from tests.sync.webhook_signing import Signer, compact, event

URL = "/webhooks/ghl/"
APP = "66f1a2b3c4d5e6f7a8b9c0d1"


@pytest.fixture(scope="module")
def signer():
    return Signer()


@pytest.fixture(autouse=True)
def _keys(settings, signer):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = signer.ed_pem
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = signer.rsa_pem
    settings.GHL_APP_ID = APP


def post(client, signer, data, *, how="ed", raw=None):
    body = raw if raw is not None else compact(data)
    headers = {}
    if how in ("ed", "both"):
        headers["HTTP_X_GHL_SIGNATURE"] = signer.ed_sign(body)
    if how in ("rsa", "both"):
        headers["HTTP_X_WH_SIGNATURE"] = signer.rsa_sign(body)
    return client.generic("POST", URL, body, content_type="application/json", **headers)


def nothing_written():
    return (
        not WebhookReceipt.objects.exists()
        and not Agency.objects.exists()
        and not AuditEvent.objects.exists()
    )


def test_signed_install_creates_the_agency_awaiting_oauth(client, signer, db):
    data = event(
        "INSTALL",
        APP,
        companyId="CompInstall000000001",
        companyName="Acme Agency",
        installType="Company",
        whitelabelDetails={"domain": "https://app.acme.example"},
    )
    response = post(client, signer, data)
    assert response.status_code == 200
    agency = Agency.objects.get(company_id="CompInstall000000001")
    assert agency.is_installed
    assert agency.needs_reauth  # no grant yet: the owner finishes the OAuth install
    assert agency.name == "Acme Agency"
    assert agency.whitelabel_domain == "app.acme.example"
    receipt = WebhookReceipt.objects.get()
    assert receipt.webhook_id == data["webhookId"]
    assert receipt.outcome == "awaiting_oauth"


def test_install_for_an_agency_with_tokens_reactivates_and_queues_a_pull(client, signer, installed):
    Agency.objects.filter(pk=installed.pk).update(is_installed=False)
    response = post(client, signer, event("INSTALL", APP, companyId=installed.company_id))
    assert response.status_code == 200
    installed.refresh_from_db()
    assert installed.is_installed
    assert not installed.needs_reauth
    assert SyncRun.objects.for_agency(installed).filter(reason="install").exists()


def test_rsa_signature_is_accepted_when_only_it_is_present(client, signer, db):
    response = post(
        client, signer, event("INSTALL", APP, companyId="CompRsa0000000000001"), how="rsa"
    )
    assert response.status_code == 200


def test_ed25519_is_checked_first_even_when_rsa_is_valid(client, signer, db):
    body = compact(event("INSTALL", APP, companyId="CompBoth000000000001"))
    response = client.generic(
        "POST",
        URL,
        body,
        content_type="application/json",
        HTTP_X_GHL_SIGNATURE=signer.ed_sign(b"other"),
        HTTP_X_WH_SIGNATURE=signer.rsa_sign(body),
    )
    assert response.status_code == 401
    assert nothing_written()


def test_unsigned_body_is_refused(client, signer, db):
    body = compact(event("INSTALL", APP, companyId="CompNoSig00000000001"))
    response = client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 401
    assert nothing_written()


def test_tampered_body_is_refused(client, signer, db):
    body = compact(event("INSTALL", APP, companyId="CompTamper0000000001"))
    sig = signer.ed_sign(body)
    tampered = body.replace(b"CompTamper", b"CompEvil00")
    response = client.generic(
        "POST", URL, tampered, content_type="application/json", HTTP_X_GHL_SIGNATURE=sig
    )
    assert response.status_code == 401
    assert nothing_written()


def test_garbage_signature_header_is_refused(client, signer, db):
    body = compact(event("INSTALL", APP, companyId="CompGarbage000000001"))
    response = client.generic(
        "POST", URL, body, content_type="application/json", HTTP_X_GHL_SIGNATURE="not base64 !!"
    )
    assert response.status_code == 401
    assert nothing_written()


def test_another_apps_webhook_is_refused(client, signer, db):
    response = post(client, signer, event("UNINSTALL", "someoneelsesapp", companyId="C1"))
    assert response.status_code == 401
    assert nothing_written()


def test_app_event_without_app_id_is_refused(client, signer, db):
    data = event("UNINSTALL", APP, companyId="C1")
    del data["appId"]
    assert post(client, signer, data).status_code == 401
    assert nothing_written()


@pytest.mark.parametrize("age", [6 * 60, -6 * 60])
def test_stale_or_future_timestamp_is_refused(client, signer, db, age):
    response = post(
        client, signer, event("INSTALL", APP, companyId="CompStale00000000001", age_seconds=age)
    )
    assert response.status_code == 401
    assert nothing_written()


def test_a_repeated_webhook_id_is_acknowledged_and_processed_zero_more_times(
    client, signer, db, monkeypatch
):
    # GHL retries a delivery that did not get a 2xx: a duplicate must get one, or GHL keeps
    # retrying, and must change nothing.
    from sync.webhooks import handlers

    applied = []
    real_apply = handlers.apply
    monkeypatch.setattr(handlers, "apply", lambda event: applied.append(event) or real_apply(event))
    data = event("INSTALL", APP, companyId="CompReplay0000000001")
    first = post(client, signer, data)
    assert first.status_code == 200
    assert first.json() == {"status": "accepted"}
    for _ in range(3):
        again = post(client, signer, data)
        assert again.status_code == 200
        assert again.json() == {"status": "duplicate"}
    assert len(applied) == 1
    assert WebhookReceipt.objects.count() == 1
    assert AuditEvent.objects.filter(action="install").count() == 1


def test_a_repeated_uninstall_does_not_run_its_immediate_step_again(
    client, signer, installed, monkeypatch
):
    from sync.webhooks import views

    calls = []
    real = views._delete_tokens_now
    monkeypatch.setattr(views, "_delete_tokens_now", lambda cid: calls.append(cid) or real(cid))
    data = event("UNINSTALL", APP, companyId=installed.company_id)
    assert post(client, signer, data).status_code == 200
    assert post(client, signer, data).status_code == 200
    assert calls == [installed.company_id]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1,2,3]",
        b'{"appId":"%s"}' % APP.encode(),
        compact({"type": "INSTALL", "appId": APP, "companyId": "C"}),  # no webhookId/timestamp
        # Built when the test runs: a timestamp taken at collection is stale (401, not 400) once
        # a long run reaches this test more than GHL_WEBHOOK_TOLERANCE_SECONDS later.
        lambda: compact(event("INSTALL", APP)),  # names no company or location
        lambda: compact(event("UserCreate", APP, companyId="C", id="U", role="root")),
    ],
)
def test_signed_but_malformed_is_400_and_writes_nothing(client, signer, db, raw):
    response = post(client, signer, None, raw=raw() if callable(raw) else raw)
    assert response.status_code == 400
    assert nothing_written()


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 30_000 + b"]" * 30_000,  # 60 KB, under the 64 KB cap: RecursionError before
        b'{"type": "INSTALL", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        b'{"type": "INSTALL", "appId": "\xff"}',
        b'{"type": "INSTALL", "n": ' + b"9" * 20_000 + b"}",
        b'{"type": "INSTALL", "n": NaN}',
    ],
    ids=["nested", "nested-in-event", "invalid-utf8", "huge-integer", "nan"],
)
def test_signed_but_hostile_body_is_400_and_writes_nothing(client, signer, db, raw):
    response = post(client, signer, None, raw=raw)
    assert response.status_code == 400
    assert nothing_written()


def test_oversized_body_is_refused_before_verification(client, signer, db, settings, monkeypatch):
    settings.GHL_WEBHOOK_MAX_BYTES = 1024
    from sync.webhooks import views

    def boom(*args):
        raise AssertionError("verified an oversized body")

    monkeypatch.setattr(views, "verify", boom)
    data = event("INSTALL", APP, companyId="C", padding="x" * 2000)
    assert post(client, signer, data).status_code == 413
    assert nothing_written()


def test_other_event_types_are_acknowledged_and_ignored(client, signer, db):
    data = event("ContactCreate", APP, locationId="L1", email="someone@example.com")
    response = post(client, signer, data)
    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}
    assert nothing_written()


def test_uninstall_deletes_tokens_at_once_and_keeps_history(client, signer, installed):
    Location.objects.create(agency=installed, ghl_id="LocKept0000000000001", name="Kept")
    response = post(client, signer, event("UNINSTALL", APP, companyId=installed.company_id))
    assert response.status_code == 200
    installed.refresh_from_db()
    assert not installed.is_installed
    assert installed.uninstalled_at is not None
    inst = Installation.objects.get(agency=installed)
    assert inst.access_token == ""
    assert inst.refresh_token == ""
    assert Location.objects.for_agency(installed).filter(ghl_id="LocKept0000000000001").exists()
    assert not Agency.objects.installed().filter(pk=installed.pk).exists()  # SSO refuses it
    assert AuditEvent.objects.filter(agency=installed, action="uninstall").exists()


def test_location_uninstall_marks_only_that_location(client, signer, installed):
    Location.objects.create(agency=installed, ghl_id="LocGone0000000000001", name="Gone")
    Location.objects.create(agency=installed, ghl_id="LocStay0000000000001", name="Stay")
    response = post(client, signer, event("UNINSTALL", APP, locationId="LocGone0000000000001"))
    assert response.status_code == 200
    gone = Location.objects.for_agency(installed).get(ghl_id="LocGone0000000000001")
    stay = Location.objects.for_agency(installed).get(ghl_id="LocStay0000000000001")
    assert (gone.is_installed, gone.status) == (False, "uninstalled")
    assert stay.is_installed
    installed.refresh_from_db()
    assert installed.is_installed
    assert Installation.objects.get(agency=installed).has_tokens


def test_location_create_and_update_upsert_whitelisted_fields(client, signer, installed):
    data = event(
        "LocationCreate",
        APP,
        id="LocNew00000000000001",
        companyId=installed.company_id,
        name="Becker Dental",
        email="office@becker.example",
        phone="+15125550142",
        stripeProductId="prod_x",
    )
    assert post(client, signer, data).status_code == 200
    loc = Location.objects.for_agency(installed).get(ghl_id="LocNew00000000000001")
    assert loc.name == "Becker Dental"
    update = event(
        "LocationUpdate",
        APP,
        id="LocNew00000000000001",
        companyId=installed.company_id,
        name="Becker Dental & Smiles",
    )
    assert post(client, signer, update).status_code == 200
    loc.refresh_from_db()
    assert loc.name == "Becker Dental & Smiles"
    assert Location.objects.for_agency(installed).count() == 1
    stored = " ".join(
        str(v) for v in Location.objects.for_agency(installed).values().first().values()
    )
    assert "office@becker.example" not in stored
    assert "+15125550142" not in stored


def test_control_characters_in_signed_events_never_reach_storage(client, signer, installed):
    # A NUL cannot be stored in PostgreSQL: it would fail the task on every retry.
    user = event(
        "UserCreate",
        APP,
        id="UserNul000000000001",
        companyId=installed.company_id,
        firstName="Pri\x00ya\u202e",
        lastName="Oka\x1bfor",
        email="priya\x00@agency.example",
        role="user",
    )
    assert post(client, signer, user).status_code == 200
    stored = GHLUser.objects.for_agency(installed).get(ghl_id="UserNul000000000001")
    assert (stored.name, stored.email) == ("Priya Okafor", "priya@agency.example")
    place = event(
        "LocationCreate", APP, id="LocNul01", companyId=installed.company_id, name="Den\x00tal"
    )
    assert post(client, signer, place).status_code == 200
    assert Location.objects.for_agency(installed).get(ghl_id="LocNul01").name == "Dental"


def test_location_event_for_an_unknown_agency_is_acknowledged_and_dropped(client, signer, db):
    data = event("LocationCreate", APP, id="LocX", companyId="UnknownCompany000001", name="X")
    assert post(client, signer, data).status_code == 200
    assert not Location.objects.all_agencies().exists()
    assert WebhookReceipt.objects.get().outcome == "unknown_agency"


def test_user_create_upserts_the_user(client, signer, installed):
    data = event(
        "UserCreate",
        APP,
        id="UserNew0000000000001",
        companyId=installed.company_id,
        firstName="Priya",
        lastName="Okafor",
        email="priya@agency.example",
        phone="+15550001111",
        role="admin",
        locations=["L1", "L2"],
    )
    assert post(client, signer, data).status_code == 200
    user = GHLUser.objects.for_agency(installed).get(ghl_id="UserNew0000000000001")
    assert user.name == "Priya Okafor"
    assert user.role == GHLUser.ROLE_ADMIN
    assert user.location_ids == ["L1", "L2"]
    sub = event(
        "UserCreate",
        APP,
        id="UserSub0000000000001",
        locationId="L1",
        companyId=installed.company_id,
        firstName="Tom",
        lastName="B",
        role="user",
    )
    assert post(client, signer, sub).status_code == 200
    assert GHLUser.objects.for_agency(installed).get(ghl_id="UserSub0000000000001").role == (
        GHLUser.ROLE_LOCATION
    )


def test_plan_change_is_recorded(client, signer, installed):
    data = event(
        "PLAN_CHANGE",
        APP,
        companyId=installed.company_id,
        currentPlanId="p1",
        newPlanId="p2",
        userId="U1",
    )
    assert post(client, signer, data).status_code == 200
    assert Installation.objects.get(agency=installed).plan_id == "p2"
    audit = AuditEvent.objects.get(agency=installed, action="plan_change")
    assert audit.detail == {"from": "p1", "to": "p2"}


def test_published_ghl_keys_are_the_defaults(settings):
    from sync.webhooks import signatures

    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = ""
    settings.GHL_WEBHOOK_RSA_PUBLIC_KEY = ""
    # A signature by our test key must fail against GHL's real keys.
    s = Signer()
    body = b'{"type":"INSTALL"}'
    assert not signatures.verify(body, s.ed_sign(body), None)
    assert not signatures.verify(body, None, s.rsa_sign(body))


def test_uninstalled_agency_is_not_pulled_and_makes_no_calls(client, signer, installed, fake_ghl):
    from sync.credentials import client_for_agency
    from sync.ghl.errors import AuthRevoked
    from sync.tasks import pull_agency

    assert (
        post(client, signer, event("UNINSTALL", APP, companyId=installed.company_id)).status_code
        == 200
    )
    pull_agency(installed.pk)
    assert not SyncRun.objects.for_agency(installed).exists()
    fake_ghl.clear_requests()
    with pytest.raises(AuthRevoked):
        client_for_agency(installed).company()
    assert fake_ghl.requests() == []


@pytest.mark.services
def test_the_view_hands_work_to_celery_with_whitelisted_args(client, signer, installed, settings):
    """With a real broker the view only enqueues; the message carries ids, never contact data."""
    import json as _json

    import redis

    from gocsm.celery import app

    app.conf.task_always_eager = False
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    data = event(
        "LocationCreate",
        APP,
        id="LocQueued00000000001",
        companyId=installed.company_id,
        name="Queued Dental",
        email="front@queued.example",
        phone="+15125550000",
    )
    assert post(client, signer, data).status_code == 200
    receipt = WebhookReceipt.objects.get(webhook_id=data["webhookId"])
    assert receipt.processed_at is None  # not processed inline
    assert not Location.objects.for_agency(installed).filter(ghl_id="LocQueued00000000001").exists()
    raw = broker.lpop("celery")
    broker.delete("celery")
    assert raw is not None
    message = _json.loads(raw)
    assert message["headers"]["task"] == "sync.webhooks.process_event"
    import base64

    body = base64.b64decode(message["body"]).decode()
    args = _json.loads(body)[0]
    assert args[1]["location_id"] == "LocQueued00000000001"
    assert args[1]["name"] == "Queued Dental"
    for text in (raw.decode(), body):
        assert "front@queued.example" not in text
        assert "+15125550000" not in text
