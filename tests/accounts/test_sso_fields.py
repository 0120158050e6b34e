"""SSO display fields never refuse a person: they are cleaned and cut to what we store. Only the
identity fields (userId, companyId, role, type, activeLocation) decide acceptance."""

from __future__ import annotations

import pytest

from accounts.models import GHLUser
from accounts.sso import decrypt_payload, encrypt_payload
from accounts.views.sso import REFUSED_BODY
from tests.accounts.conftest import SECRET

pytestmark = pytest.mark.django_db

NAME_MAX = GHLUser._meta.get_field("name").max_length
EMAIL_MAX = GHLUser._meta.get_field("email").max_length


@pytest.fixture
def unnamed(make_agency, make_user):
    """A person GHL's synced record gives no name or email: the payload's are used."""
    agency = make_agency()
    return make_user(agency, name="", email="", role="admin", ghl_role="admin")


def claims(user, **fields):
    data = {
        "userId": user.ghl_id,
        "companyId": user.agency.company_id,
        "role": "admin",
        "type": "agency",
        "userName": "Pat Doe",
        "email": "pat@example.com",
    }
    data.update(fields)
    return data


@pytest.mark.parametrize(
    "name",
    ["N" * 3_000, "é" * 3_000, "名" * 3_000, "\U0001f600" * 3_000],
    ids=["ascii", "two-byte", "three-byte", "four-byte"],
)
def test_a_person_with_a_3000_character_name_signs_in(unnamed, sso_post, client, name):
    # payload_for/encrypt_payload makes the payload exactly as CryptoJS does (JSON.stringify
    # keeps non-ASCII as UTF-8), so this is the size GHL would send.
    response = sso_post(encrypt_payload(claims(unnamed, userName=name), SECRET))
    assert response.status_code == 200, response.content
    unnamed.refresh_from_db()
    assert unnamed.name == name[:NAME_MAX]
    me = client.get("/auth/me/", HTTP_ACCEPT="application/json").json()
    assert me["user"] == name[:NAME_MAX]


def test_control_characters_never_reach_storage(unnamed, sso_post):
    payload = encrypt_payload(
        claims(
            unnamed,
            userName="Pat\x00 \x1b[31mDoe\x07\u202e\x9b",
            email="pat\x00@exam\x7fple.com\r\n",
        ),
        SECRET,
    )
    assert sso_post(payload).status_code == 200
    unnamed.refresh_from_db()
    assert unnamed.name == "Pat [31mDoe"
    assert unnamed.email == "pat@example.com"


def test_a_long_email_is_cut_to_the_column(unnamed, sso_post):
    email = "p" * 400 + "@example.com"
    assert sso_post(encrypt_payload(claims(unnamed, email=email), SECRET)).status_code == 200
    unnamed.refresh_from_db()
    assert unnamed.email == email[:EMAIL_MAX]


@pytest.mark.parametrize(
    "fields",
    [
        {"userName": 42, "email": ["x"]},
        {"userName": {"first": "Pat"}, "email": None},
        {"userName": "\ud800Pat", "email": "\udfff"},
        {"isAgencyOwner": "yes"},
        {"isAgencyOwner": None},
    ],
    ids=["numbers-and-lists", "objects-and-null", "lone-surrogates", "owner-string", "owner-null"],
)
def test_odd_display_fields_do_not_refuse_the_person(unnamed, sso_post, fields):
    assert sso_post(encrypt_payload(claims(unnamed, **fields), SECRET)).status_code == 200
    unnamed.refresh_from_db()
    assert "\ud800" not in unnamed.name
    assert "\udfff" not in unnamed.email
    assert unnamed.role == GHLUser.ROLE_ADMIN  # a non-boolean ownership claim claims nothing


@pytest.mark.parametrize(
    "fields",
    [
        {"userId": "User\x00One"},
        {"userId": "x" * 65},
        {"companyId": "Comp Any"},
        {"role": "root"},
        {"role": "admin\x00"},
        {"type": "superuser"},
        {"type": 7},
        {"activeLocation": "../../etc"},
        {"activeLocation": "L" * 65},
    ],
)
def test_identity_fields_still_decide(unnamed, sso_post, fields):
    response = sso_post(encrypt_payload(claims(unnamed, **fields), SECRET))
    assert response.status_code == 403
    assert response.json() == REFUSED_BODY


def test_decrypted_identity_carries_clean_display_fields():
    identity = decrypt_payload(
        encrypt_payload(
            {"userId": "U1", "companyId": "C1", "userName": "A\tB\nC" + "x" * 500, "email": 5},
            SECRET,
        ),
        SECRET,
    )
    assert identity.user_name == ("A B C" + "x" * 500)[:NAME_MAX]
    assert identity.email == ""
