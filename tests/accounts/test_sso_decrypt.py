import json
from dataclasses import asdict
from pathlib import Path

import pytest

from accounts.sso import (
    MAX_PAYLOAD_CHARS,
    InvalidSSOPayload,
    decrypt_payload,
    encrypt_payload,
    encrypt_raw_plaintext,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "ghl" / "sso_vectors.json").read_text()
)["vectors"]
FIELD = {
    "userId": "user_id",
    "companyId": "company_id",
    "role": "role",
    "type": "type",
    "activeLocation": "active_location",
    "userName": "user_name",
    "email": "email",
    "isAgencyOwner": "is_agency_owner",
}
SECRET = "3f1c9a7e-52b4-4d0e-9a61-7c2d8e4b9f10"


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_cryptojs_vectors_decrypt_to_their_expected_objects(vector):
    identity = decrypt_payload(vector["payload"], vector["shared_secret"])
    got = {
        k: v for k, v in asdict(identity).items() if v not in ("", False) or k == "is_agency_owner"
    }
    want = {FIELD[k]: v for k, v in vector["expected"].items()}
    assert got == want


def test_our_encryption_round_trips_through_decryption():
    data = {"userId": "U1abc", "companyId": "C1abc", "role": "user", "type": "agency"}
    assert decrypt_payload(encrypt_payload(data, SECRET), SECRET).company_id == "C1abc"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: "not base64!!", "bad_base64"),
        (lambda: "U2FsdGVkX1" + "A" * 5, "bad_base64"),
        (lambda: encrypt_payload({"userId": "U1", "companyId": "C1"}, "other-secret"), None),
        (
            lambda: encrypt_payload({"userId": "U1", "companyId": "C1"}, SECRET)[:-8] + "AAAAAAA=",
            None,
        ),
        (lambda: encrypt_raw_plaintext(b"not json", SECRET), "not_json"),
        (lambda: encrypt_raw_plaintext(b"\xff\xfe{}", SECRET), "not_json"),
        (lambda: encrypt_raw_plaintext(b"[1,2]", SECRET), "not_object"),
        (lambda: encrypt_payload({"userId": "U1"}, SECRET), "missing_field"),
        (lambda: encrypt_payload({"userId": "", "companyId": "C1"}, SECRET), "missing_field"),
        (lambda: encrypt_payload({"userId": "U1", "companyId": "x" * 65}, SECRET), "missing_field"),
        (
            lambda: encrypt_raw_plaintext(
                b'{"userId":"U1","companyId":"Mine","companyId":"Theirs"}', SECRET
            ),
            "duplicate_key",
        ),
        (lambda: "A" * (MAX_PAYLOAD_CHARS + 4), "too_large"),
    ],
)
def test_every_bad_payload_raises_the_one_exception(make, reason):
    with pytest.raises(InvalidSSOPayload) as info:
        decrypt_payload(make(), SECRET)
    if reason:
        assert info.value.reason == reason


def test_unknown_fields_are_dropped():
    identity = decrypt_payload(
        encrypt_payload({"userId": "U1", "companyId": "C1", "contactPhone": "+1555"}, SECRET),
        SECRET,
    )
    assert not hasattr(identity, "contactPhone")
    assert "+1555" not in repr(identity)
