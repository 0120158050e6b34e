"""POST /auth/sso/: sign-in from GHL's payload, roles, and every way it must refuse."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.identity import (
    SESSION_AGENCY,
    SESSION_AGENCY_EPOCH,
    SESSION_LOCATIONS,
    SESSION_ROLE,
    SESSION_USER,
    SESSION_USER_EPOCH,
)
from accounts.models import AuditEvent, GHLUser
from accounts.sessions import SessionStore
from accounts.views.sso import DASHBOARD_URL
from tests.accounts.conftest import OLD_SECRET

pytestmark = pytest.mark.django_db


def stored_session(client):
    return SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value).load()


def test_valid_payload_signs_in_and_points_at_the_dashboard(
    personas, payload_for, sso_post, client
):
    owner = personas["owner_a"]
    response = sso_post(payload_for(owner))
    assert response.status_code == 200
    assert response.json() == {"next": DASHBOARD_URL}
    me = client.get("/auth/me/", HTTP_ACCEPT="application/json").json()
    assert me["user"] == owner.name
    assert me["agency"] == personas["agency_a"].name
    assert me["role"] == "owner"


def test_payload_as_form_field_is_accepted(personas, payload_for, sso_post):
    response = sso_post(payload_for(personas["user_a"]), as_form=True)
    assert response.status_code == 200


def test_session_holds_only_identity_timestamps_and_csrf(personas, payload_for, sso_post, client):
    owner = personas["owner_a"]
    payload = payload_for(owner)
    sso_post(payload)
    data = stored_session(client)
    assert data[SESSION_USER] == owner.pk
    assert data[SESSION_AGENCY] == owner.agency_id
    assert data[SESSION_ROLE] == "owner"
    assert data[SESSION_AGENCY_EPOCH] == owner.agency.session_epoch
    assert data[SESSION_USER_EPOCH] == owner.session_epoch
    assert set(data) <= {
        SESSION_USER,
        SESSION_AGENCY,
        SESSION_ROLE,
        SESSION_AGENCY_EPOCH,
        SESSION_USER_EPOCH,
        "_created",
        "_seen",
        "_csrftoken",
    }
    assert "_csrftoken" in data
    assert payload not in repr(data)


def test_user_unknown_to_ghl_gets_the_generic_403_and_nothing_is_stored(
    make_agency, payload_for, sso_post
):
    # The payload is encrypted, not signed: a user GHL's list does not hold (and that GHL cannot
    # be asked about) is refused. tests/pulls/test_sso_confirmation.py covers asking GHL.
    agency = make_agency(company_id="Kd9Fh2JsLq7Wm4Xp1Zr8")
    payload = payload_for(
        userId="Uq8RkP2mZt4LxW7nVb3C",
        companyId="Kd9Fh2JsLq7Wm4Xp1Zr8",
        role="admin",
        type="agency",
        isAgencyOwner=True,
    )
    response = sso_post(payload)
    assert response.status_code == 403
    assert not GHLUser.objects.for_agency(agency).exists()


def test_sign_in_takes_name_and_email_from_the_synced_record(
    make_agency, make_user, payload_for, sso_post
):
    agency = make_agency()
    user = make_user(
        agency,
        name="Dana Whitfield",
        email="dana@brightpath.example",
        role="admin",
        ghl_role="admin",
    )
    payload = payload_for(
        userId=user.ghl_id,
        companyId=agency.company_id,
        role="admin",
        type="agency",
        userName="Someone Else",
        email="evil@example.com",
    )
    assert sso_post(payload).status_code == 200
    user.refresh_from_db()
    assert (user.name, user.email, user.role) == (
        "Dana Whitfield",
        "dana@brightpath.example",
        "admin",
    )
    assert user.last_sign_in_at is not None
    assert GHLUser.objects.for_agency(agency).count() == 1


@pytest.mark.parametrize(
    ("record", "claims", "role"),
    [
        # GHL says agency admin, unrestricted: the payload may claim ownership.
        ({"ghl_role": "admin"}, {"isAgencyOwner": True, "role": "admin"}, "owner"),
        ({"ghl_role": "admin"}, {"role": "admin"}, "admin"),
        # GHL says agency user: claiming admin or owner changes nothing.
        ({"ghl_role": "user"}, {"isAgencyOwner": True, "role": "admin"}, "user"),
        # GHL says restricted admin: no ownership, so the restriction stands.
        (
            {
                "ghl_role": "admin",
                "restrict_sub_account": True,
                "location_ids": ["Lt2Yg6Uh0Ij4Ok8Pl1Mn"],
            },
            {"isAgencyOwner": True, "role": "admin"},
            "admin",
        ),
        # GHL says sub-account user: an agency-context payload does not promote them.
        (
            {
                "ghl_type": "account",
                "ghl_role": "admin",
                "role": "location",
                "location_ids": ["Lt2Yg6Uh0Ij4Ok8Pl1Mn"],
            },
            {
                "isAgencyOwner": True,
                "role": "admin",
                "type": "agency",
                "activeLocation": "Lt2Yg6Uh0Ij4Ok8Pl1Mn",
            },
            "location",
        ),
    ],
)
def test_roles_come_from_ghls_record_not_the_payload(
    make_agency, make_user, payload_for, sso_post, client, record, claims, role
):
    agency = make_agency()
    user = make_user(agency, ghl_id="U1role", **{"ghl_type": "agency", **record})
    payload = payload_for(
        userId=user.ghl_id, companyId=agency.company_id, **{"type": "agency", **claims}
    )
    assert sso_post(payload).status_code == 200
    assert GHLUser.objects.for_agency(agency).get(ghl_id="U1role").role == role
    assert stored_session(client)[SESSION_ROLE] == role


def test_location_user_is_restricted_to_the_active_location(
    make_agency, make_user, payload_for, sso_post, client
):
    agency = make_agency()
    make_user(
        agency,
        ghl_id="U1loc",
        role="location",
        ghl_type="account",
        location_ids=["Lt2Yg6Uh0Ij4Ok8Pl1Mn", "Nw8Qe2Rt6Yu0Io4Pa9Sd"],
    )
    payload = payload_for(
        userId="U1loc",
        companyId=agency.company_id,
        role="user",
        type="location",
        activeLocation="Lt2Yg6Uh0Ij4Ok8Pl1Mn",
    )
    assert sso_post(payload).status_code == 200
    assert stored_session(client)[SESSION_LOCATIONS] == ["Lt2Yg6Uh0Ij4Ok8Pl1Mn"]
    me = client.get("/auth/me/", HTTP_ACCEPT="application/json").json()
    assert me["locations"] == ["Lt2Yg6Uh0Ij4Ok8Pl1Mn"]


def test_location_user_opening_a_sub_account_ghl_does_not_give_them_is_refused(
    make_agency, make_user, payload_for, sso_post
):
    agency = make_agency()
    make_user(
        agency,
        ghl_id="U1loc",
        role="location",
        ghl_type="account",
        location_ids=["Lt2Yg6Uh0Ij4Ok8Pl1Mn"],
    )
    payload = payload_for(
        userId="U1loc",
        companyId=agency.company_id,
        role="user",
        type="location",
        activeLocation="Nw8Qe2Rt6Yu0Io4Pa9Sd",
    )
    assert sso_post(payload).status_code == 403


def test_location_user_without_active_location_is_refused(make_agency, payload_for, sso_post):
    agency = make_agency()
    payload = payload_for(userId="U1loc", companyId=agency.company_id, type="location")
    assert sso_post(payload).status_code == 403
    assert not GHLUser.objects.for_agency(agency).exists()


def test_restricted_agency_user_sees_only_synced_locations(
    personas, make_user, payload_for, sso_post, client
):
    restricted = make_user(
        personas["agency_a"], location_ids=["LocA1", "LocA2"], restrict_sub_account=True
    )
    assert sso_post(payload_for(restricted)).status_code == 200
    assert stored_session(client)[SESSION_LOCATIONS] == ["LocA1", "LocA2"]


def test_unrestricted_agency_user_sees_the_portfolio(
    personas, make_user, payload_for, sso_post, client
):
    listed_only = make_user(
        personas["agency_a"], location_ids=["LocA1"], restrict_sub_account=False
    )
    assert sso_post(payload_for(listed_only)).status_code == 200
    assert SESSION_LOCATIONS not in stored_session(client)


def test_new_sign_in_replaces_the_old_session_key(personas, payload_for, sso_post, client):
    sso_post(payload_for(personas["user_a"]))
    first = client.cookies[settings.SESSION_COOKIE_NAME].value
    sso_post(payload_for(personas["owner_a"]))
    second = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert first != second
    assert SessionStore(first).load() == {}
    assert client.get("/auth/me/", HTTP_ACCEPT="application/json").json()["role"] == "owner"


def test_attacker_planted_session_key_is_not_adopted(personas, payload_for, sso_post, client):
    planted = SessionStore()
    planted.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    sso_post(payload_for(personas["owner_a"]))
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted.session_key
    assert SessionStore(planted.session_key).load() == {}


def test_sign_in_is_audited_without_the_payload(personas, payload_for, sso_post):
    payload = payload_for(personas["owner_a"])
    sso_post(payload)
    event = AuditEvent.objects.get(action="sso.sign_in")
    assert event.agency == personas["agency_a"]
    assert event.actor_id == personas["owner_a"].ghl_id
    assert event.outcome == "success"
    assert payload not in repr(event.__dict__)


def test_previous_secret_still_signs_in_during_rotation(personas, payload_for, sso_post, settings):
    settings.GHL_SSO_SHARED_SECRET_PREVIOUS = OLD_SECRET
    assert sso_post(payload_for(personas["owner_a"], secret=OLD_SECRET)).status_code == 200


def test_old_secret_is_refused_once_rotation_ends(personas, payload_for, sso_post):
    assert sso_post(payload_for(personas["owner_a"], secret=OLD_SECRET)).status_code == 403


def test_get_is_not_allowed(client):
    assert client.get("/auth/sso/").status_code == 405
