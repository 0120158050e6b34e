"""Bad input and attacks on /auth/sso/: each gets its status, changes nothing, logs no secret."""

from __future__ import annotations

import base64
import time

import pytest
from django.conf import settings

from accounts.models import AuditEvent, GHLUser
from accounts.sso import encrypt_payload, encrypt_raw_plaintext
from accounts.views.sso import REFUSED_BODY
from tests.accounts.conftest import SECRET, logged_text

pytestmark = pytest.mark.django_db


def _garbled(p):
    return p[:20] + ("A" if p[20] != "A" else "B") + p[21:]


def _truncated(p):
    return p[: len(p) - 24]


def _reencrypted(p):
    # The ciphertext wrapped again under the right secret: valid framing, not a JSON object.
    return encrypt_raw_plaintext(p.encode(), SECRET)


def _bit_flipped_padding(p):
    raw = bytearray(base64.b64decode(p))
    raw[-17] ^= 0x01  # flips the last plaintext byte (the padding) through CBC
    return base64.b64encode(bytes(raw)).decode()


ATTACKS = {
    "garbled": _garbled,
    "truncated": _truncated,
    "re-encrypted": _reencrypted,
    "padding-probe": _bit_flipped_padding,
    "oversized": lambda p: p * 40,
    "not-base64": lambda p: "%%%" + p,
    "empty": lambda p: "",
    "wrong-secret": lambda p: encrypt_payload({"userId": "U1", "companyId": "C1"}, "guess"),
    "duplicate-company": lambda p: encrypt_raw_plaintext(
        b'{"userId":"U1","companyId":"C1","companyId":"C2"}', SECRET
    ),
    "non-json": lambda p: encrypt_raw_plaintext(b"hello", SECRET),
    # Inside the encryption: only someone holding the secret could send it, but still a 403.
    "deeply-nested": lambda p: encrypt_raw_plaintext(b"[" * 3000 + b"]" * 3000, SECRET),
}


@pytest.fixture
def snapshot(personas):
    def take():
        return sorted(
            GHLUser.objects.all_agencies().values_list("pk", "name", "role", "last_sign_in_at")
        )

    return take


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
def test_bad_payload_gets_the_generic_403_and_changes_nothing(
    attack, personas, payload_for, sso_post, client, snapshot, all_logs, capfd
):
    good = payload_for(personas["owner_a"])
    bad = ATTACKS[attack](good)
    before = snapshot()
    response = sso_post(bad)
    assert response.status_code == 403
    assert response.json() == REFUSED_BODY
    assert snapshot() == before
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert client.get("/auth/me/").status_code == 401
    text = logged_text(all_logs) + capfd.readouterr().err
    assert "sso rejected" in text
    if bad:
        assert bad not in text
        assert bad[:40] not in text
    assert SECRET not in text
    failure = AuditEvent.objects.get(action="sso.failed")
    assert failure.ip == "127.0.0.1"
    assert failure.detail.get("reason")
    assert bad[:40] not in repr(failure.__dict__) if bad else True


def test_every_failure_answers_with_identical_bytes(personas, make_agency, payload_for, sso_post):
    gone = make_agency(is_installed=False)
    bodies = {
        sso_post("%%%").content,
        sso_post(payload_for(personas["owner_a"], secret="wrong")).content,
        sso_post(payload_for(userId="U1", companyId=gone.company_id)).content,
        sso_post(payload_for(userId="U1", companyId="NoSuchAgency")).content,
        sso_post(payload_for(personas["owner_a"]), origin="https://evil.example").content,
    }
    assert len(bodies) == 1


def test_uninstalled_agency_is_refused(make_agency, payload_for, sso_post):
    gone = make_agency(is_installed=False)
    response = sso_post(payload_for(userId="U1gone", companyId=gone.company_id))
    assert response.status_code == 403
    assert response.json() == REFUSED_BODY
    assert not GHLUser.objects.for_agency(gone).exists()


def test_deleted_user_is_refused(personas, make_user, payload_for, sso_post):
    ghost = make_user(personas["agency_a"], deleted=True)
    assert sso_post(payload_for(ghost)).status_code == 403


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://testserver.evil.example", None]
)
def test_cross_origin_post_is_refused(personas, payload_for, sso_post, client, origin):
    response = sso_post(payload_for(personas["owner_a"]), origin=origin)
    assert response.status_code == 403
    assert response.json() == REFUSED_BODY
    assert client.get("/auth/me/").status_code == 401
    personas["owner_a"].refresh_from_db()
    assert personas["owner_a"].last_sign_in_at is None


def test_public_origin_setting_decides_our_origin(personas, payload_for, sso_post, settings):
    settings.PUBLIC_ORIGIN = "https://gocsm.example"
    assert sso_post(payload_for(personas["owner_a"])).status_code == 403
    response = sso_post(payload_for(personas["owner_a"]), origin="https://gocsm.example")
    assert response.status_code == 200


def test_failures_past_the_threshold_get_429_even_with_a_good_payload(
    personas, payload_for, sso_post, settings
):
    settings.SSO_FAILURES_PER_IP = 3
    for _ in range(3):
        assert sso_post("%%%").status_code == 403
    response = sso_post(payload_for(personas["owner_a"]))
    assert response.status_code == 429
    personas["owner_a"].refresh_from_db()
    assert personas["owner_a"].last_sign_in_at is None


def test_rate_limit_counts_per_client_ip(personas, payload_for, sso_post, settings):
    settings.SSO_FAILURES_PER_IP = 2
    for _ in range(2):
        sso_post("%%%")
    assert sso_post("%%%").status_code == 429
    other = sso_post(payload_for(personas["owner_a"]), REMOTE_ADDR="127.0.0.9")
    assert other.status_code == 200


def test_rate_limit_window_expires(personas, payload_for, sso_post, settings):
    # A real wait: Redis expires the counter on its own clock, which time-machine cannot move.
    settings.SSO_FAILURES_PER_IP = 1
    settings.SSO_FAILURE_WINDOW_SECONDS = 1
    sso_post("%%%")
    assert sso_post(payload_for(personas["owner_a"])).status_code == 429
    time.sleep(1.3)
    assert sso_post(payload_for(personas["owner_a"])).status_code == 200


def test_payload_replayed_after_logout_is_refused(
    personas, payload_for, sso_post, client, all_logs
):
    payload = payload_for(personas["owner_a"])
    assert sso_post(payload).status_code == 200
    assert client.post("/auth/logout/", HTTP_ACCEPT="application/json").status_code == 200
    replay = sso_post(payload)
    assert replay.status_code == 403
    assert replay.json() == REFUSED_BODY
    failure = AuditEvent.objects.filter(action="sso.failed").get()
    assert failure.detail == {"reason": "replayed_after_logout"}
    assert payload not in logged_text(all_logs)
    # A fresh payload from GHL (new salt) still signs the person in.
    assert sso_post(payload_for(personas["owner_a"])).status_code == 200


def test_payload_replayed_without_logout_starts_a_new_session(personas, payload_for, sso_post):
    # GHL hands the same payload on every open; only logout puts it on the denylist.
    payload = payload_for(personas["owner_a"])
    assert sso_post(payload).status_code == 200
    assert sso_post(payload).status_code == 200


def test_missing_shared_secret_refuses_everything(personas, payload_for, sso_post, settings):
    settings.GHL_SSO_SHARED_SECRET = ""
    assert sso_post(payload_for(personas["owner_a"])).status_code == 403


def test_json_body_that_is_not_an_object_is_refused(client):
    response = client.post(
        "/auth/sso/", "[1,2]", content_type="application/json", HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 403
    assert response.json() == REFUSED_BODY


HOSTILE_BODIES = {
    # 100,000 levels (about 200 KB, under the body cap): RecursionError, a 500, before.
    "nested-100k": ("[" * 100_000 + "]" * 100_000, "application/json"),
    "nested-in-payload": ('{"payload": ' + "[" * 100_000 + "]" * 100_000 + "}", "application/json"),
    "invalid-utf8": (b'{"payload": "\xff\xfe"}', "application/json"),
    "huge-integer": ('{"payload": ' + "9" * 20_000 + "}", "application/json"),
    "nan": ('{"payload": NaN}', "application/json"),
    "too-many-fields": (
        "&".join(f"f{i}=1" for i in range(5_000)),
        "application/x-www-form-urlencoded",
    ),
    "multipart-without-boundary": ("payload=x", "multipart/form-data"),
}


@pytest.mark.parametrize("kind", HOSTILE_BODIES)
def test_hostile_bodies_get_the_generic_403_and_change_nothing(kind, personas, client, snapshot):
    body, content_type = HOSTILE_BODIES[kind]
    before = snapshot()
    response = client.generic(
        "POST", "/auth/sso/", body, content_type=content_type, HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 403
    assert response.json() == REFUSED_BODY
    assert snapshot() == before
    assert AuditEvent.objects.get(action="sso.failed").detail == {"reason": "bad_request"}


def test_body_beyond_the_request_limit_is_refused_before_the_view(client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    response = client.post(
        "/auth/sso/", {"payload": "U2FsdGVkX1" + "A" * 4000}, HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 413
