"""POST /ingest/activity/: who is let in, what is refused, and that refusals are counted."""

from __future__ import annotations

import logging

import pytest

from accounts.sso import encrypt_payload, encrypt_raw_plaintext
from tests.activity.conftest import GHL_ORIGIN, SECRET, beacon_body, payload_for

pytestmark = pytest.mark.urls("tests.activity.urls")


def day_fields(store, agency):
    """Every counter field held for the agency, whatever the day."""
    found = {}
    for member in store.all_members():
        totals = store.totals([member])[0]
        if totals and totals.agency_id == agency.pk:
            found[(totals.location_ghl_id, totals.user_ghl_id)] = totals
    return found


def test_a_valid_beacon_is_counted_and_answered_204_with_cors_for_ghl(send, tenant, store):
    response = send(beacon_body(payload_for(tenant["agency"]), event="load"))
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == GHL_ORIGIN
    assert response["Cache-Control"] == "no-store"
    counted = day_fields(store, tenant["agency"])
    assert list(counted) == [("LocAlpha0001", "UserOwn0001")]
    assert counted[("LocAlpha0001", "UserOwn0001")].sessions == 1


def test_a_person_with_a_3000_character_name_is_counted(send, tenant, store):
    # The beacon carries the same payload as SSO; a long name must not push it over the cap.
    payload = payload_for(tenant["agency"], userName="\U0001f600" * 3_000)
    assert send(beacon_body(payload)).status_code == 204
    assert list(day_fields(store, tenant["agency"])) == [("LocAlpha0001", "UserOwn0001")]


def test_an_unknown_origin_is_counted_but_gets_no_cors_header(send, tenant, store):
    response = send(beacon_body(payload_for(tenant["agency"])), origin="https://evil.example")
    assert response.status_code == 204
    assert not response.has_header("Access-Control-Allow-Origin")


def test_an_agency_white_label_domain_may_read_answers(send, tenant):
    tenant["agency"].whitelabel_domain = "app.brightpath.example"
    tenant["agency"].save()
    response = send(
        beacon_body(payload_for(tenant["agency"])), origin="https://app.brightpath.example"
    )
    assert response["Access-Control-Allow-Origin"] == "https://app.brightpath.example"


def test_preflight_is_answered_for_allowed_origins_only(client, tenant):
    ok = client.options("/ingest/activity/", HTTP_ORIGIN=GHL_ORIGIN)
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == GHL_ORIGIN
    assert ok["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in ok["Access-Control-Allow-Headers"]
    other = client.options("/ingest/activity/", HTTP_ORIGIN="https://evil.example")
    assert not other.has_header("Access-Control-Allow-Origin")


def test_get_is_not_allowed(client, db):
    response = client.get("/ingest/activity/")
    assert response.status_code == 405
    assert "POST" in response["Allow"]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            lambda a: encrypt_payload({"userId": "U1", "companyId": a}, "wrong"), id="wrong-secret"
        ),
        pytest.param(lambda a: "bm90IGEgcGF5bG9hZA==", id="not-cryptojs"),
        pytest.param(lambda a: "%%%not base64%%%", id="not-base64"),
        pytest.param(lambda a: encrypt_payload({"companyId": a}, SECRET), id="no-user"),
        pytest.param(lambda a: encrypt_raw_plaintext(b"\xff\xfe", SECRET), id="not-utf8"),
        pytest.param(
            lambda a: encrypt_raw_plaintext(
                f'{{"userId":"U1","companyId":"{a}","companyId":"X"}}'.encode(), SECRET
            ),
            id="duplicate-company",
        ),
    ],
)
def test_every_bad_payload_gets_the_same_generic_403(send, tenant, store, payload):
    response = send(beacon_body(payload(tenant["agency"].company_id)))
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "message": "You do not have access to this."}
    assert day_fields(store, tenant["agency"]) == {}


def test_unknown_agency_gets_403(send, tenant, store):
    payload = encrypt_payload(
        {"userId": "U1", "companyId": "NoSuchCompany01", "type": "location"}, SECRET
    )
    assert send(beacon_body(payload)).status_code == 403
    assert store.stats()["unknown_agency"] == 1


def test_uninstalled_agency_gets_403_and_nothing_is_counted(send, tenant, store):
    agency = tenant["agency"]
    assert send(beacon_body(payload_for(agency))).status_code == 204
    agency.is_installed = False
    agency.save()
    assert send(beacon_body(payload_for(agency, user_id="UserOther02"))).status_code == 403
    assert set(day_fields(store, agency)) == {("LocAlpha0001", "UserOwn0001")}


def test_another_agencys_sub_account_gets_403(send, tenant, store):
    response = send(beacon_body(payload_for(tenant["agency"]), location="LocOther0009"))
    assert response.status_code == 403
    assert (
        send(beacon_body(payload_for(tenant["agency"]), location="LocNever0000")).status_code == 403
    )
    assert store.stats()["foreign_location"] == 2
    assert day_fields(store, tenant["other"]) == {}


def test_an_oversized_body_is_refused_with_413_before_parsing_and_counted(
    send, tenant, store, settings
):
    padding = " " * settings.ACTIVITY_MAX_BODY_BYTES
    body = beacon_body(payload_for(tenant["agency"]), feature="dashboard" + padding)
    response = send(body)
    assert response.status_code == 413
    assert store.stats()["too_large"] == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "not_object"),
        ('{"payload": "x"}', "bad_fields"),
        (None, "bad_fields"),
        ("feature", "bad_feature"),
        ("event", "bad_event"),
        ("version", "bad_version"),
        ("location", "bad_location"),
    ],
)
def test_malformed_beacons_get_400_and_are_counted_by_reason(
    send, tenant, store, body, reason, caplog
):
    payload = payload_for(tenant["agency"])
    bodies = {
        None: beacon_body(payload, url="https://app.gohighlevel.com/v2/location/x?contact=1"),
        "feature": beacon_body(payload, feature="contacts/123"),
        "event": beacon_body(payload, event="click"),
        "version": beacon_body(payload, v=2),
        "location": beacon_body(payload, location="../../etc"),
    }
    with caplog.at_level(logging.INFO, logger="sync.activity_views"):
        response = send(bodies.get(body, body))
    assert response.status_code == 400
    assert store.stats() == {reason: 1}
    assert [r.reason for r in caplog.records if r.name == "sync.activity_views"] == [reason]
    assert day_fields(store, tenant["agency"]) == {}


@pytest.mark.parametrize(
    "body",
    [
        "[" * 2_000 + "]" * 2_000,  # within the body cap; RecursionError (a 500) before
        '{"payload": ' + "[" * 1_900 + "]" * 1_900 + "}",
        b'{"payload": "\xff"}',
        '{"payload": NaN, "location_id": "x", "feature": "x", "event": "x", "v": 1}',
        '{"payload": "\\ud800", "location_id": "x", "feature": "x", "event": "x", "v": 1}',
    ],
    ids=["nested", "nested-in-field", "invalid-utf8", "nan", "lone-surrogate"],
)
def test_hostile_json_gets_400_and_is_counted_as_bad_json(send, tenant, store, body):
    response = send(body)
    assert response.status_code == 400
    assert store.stats() == {"bad_json": 1}
    assert day_fields(store, tenant["agency"]) == {}


def test_the_payload_never_reaches_the_logs(send, tenant, caplog):
    good = payload_for(tenant["agency"])
    bad = encrypt_payload({"userId": "U1", "companyId": "NoSuchCompany01"}, SECRET)
    with caplog.at_level(logging.DEBUG):
        send(beacon_body(good))
        send(beacon_body(bad))
        send(beacon_body(good, event="nope"))
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert good not in text and bad not in text
    assert "Pat Doe" not in text and "pat@example.com" not in text


def test_beacons_over_the_users_rate_cap_get_429_and_are_counted(send, tenant, store, settings):
    settings.ACTIVITY_RATE_BURST = 5
    settings.ACTIVITY_RATE_PER_MINUTE = 1
    payload = payload_for(tenant["agency"])
    codes = [send(beacon_body(payload)).status_code for _ in range(8)]
    assert codes == [204] * 5 + [429] * 3
    limited = send(beacon_body(payload))
    assert limited["Retry-After"] == "60"
    assert store.stats()["rate_limited"] == 4
    # Another user of the same agency has a bucket of their own.
    assert (
        send(beacon_body(payload_for(tenant["agency"], user_id="UserOther02"))).status_code == 204
    )


def test_the_previous_shared_secret_still_works_while_rotating(send, tenant, settings):
    settings.GHL_SSO_SHARED_SECRET = "the-new-secret"
    settings.GHL_SSO_SHARED_SECRET_PREVIOUS = SECRET
    assert send(beacon_body(payload_for(tenant["agency"]))).status_code == 204


def test_a_beacon_skips_the_session_layers_but_keeps_headers_and_metrics(
    client, send, tenant, store, login, make_user
):
    from gocsm.metrics import HTTP_REQUESTS

    login(make_user(tenant["agency"], role="owner"))  # the client now carries a session cookie
    counted = HTTP_REQUESTS.labels(route="sync:activity:ingest", method="POST", status="204")
    before = counted._value.get()
    response = send(beacon_body(payload_for(tenant["agency"])))
    assert response.status_code == 204
    # No session was loaded, refreshed or set: a beacon cannot keep a session alive.
    assert not response.cookies
    assert not hasattr(response.wsgi_request, "session")
    # What the layers before it add still applies.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-ID"]
    assert counted._value.get() == before + 1


def test_a_beacon_to_a_foreign_host_is_refused_with_400(client, tenant, store):
    response = client.post(
        "/ingest/activity/",
        data=beacon_body(payload_for(tenant["agency"])),
        content_type="text/plain;charset=UTF-8",
        HTTP_HOST="evil.example",
    )
    assert response.status_code == 400
    assert not list(store.all_members())
