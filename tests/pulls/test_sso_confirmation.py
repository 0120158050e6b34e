"""SSO confirmation asks GHL about a user the pulls have not stored yet (accounts.confirmation).

Three answers matter: GHL knows the user (stored, signed in with GHL's claims), GHL does not know
the id (refused, and the id is remembered so made-up payloads cannot spend the agency's GHL
budget), GHL is down (refused, not remembered: the next sign-in asks again).
"""

from __future__ import annotations

import pytest

from accounts.confirmation import UserNotConfirmed, confirm_user_with_ghl
from accounts.models import GHLUser
from accounts.sso import SSOIdentity

pytestmark = pytest.mark.django_db


def _agency_admin(ghl, agency):
    staff = [u for u in ghl.world.users(agency.company_id, ghl.today()) if u.type == "agency"]
    return next(u for u in staff if u.role == "admin")


def _user_requests(ghl) -> int:
    return len([r for r in ghl.requests() if r.path.startswith("/users/")])


def test_a_user_not_stored_yet_is_fetched_from_ghl_and_stored(ghl, agency):
    person = _agency_admin(ghl, agency)
    assert not GHLUser.objects.for_agency(agency).filter(ghl_id=person.id).exists()

    claims = confirm_user_with_ghl(
        agency, SSOIdentity(user_id=person.id, company_id=agency.company_id, role="user")
    )

    assert (claims.role, claims.type) == ("admin", "agency")
    stored = GHLUser.objects.for_agency(agency).get(ghl_id=person.id)
    assert stored.confirmed_by_ghl_at is not None
    assert _user_requests(ghl) == 1
    # Stored now: the next sign-in does not ask GHL again.
    confirm_user_with_ghl(agency, SSOIdentity(user_id=person.id, company_id=agency.company_id))
    assert _user_requests(ghl) == 1


def test_an_id_ghl_does_not_know_is_refused_and_remembered(ghl, agency):
    made_up = SSOIdentity(user_id="NoSuchUser0000000001", company_id=agency.company_id)

    with pytest.raises(UserNotConfirmed):
        confirm_user_with_ghl(agency, made_up)
    with pytest.raises(UserNotConfirmed):
        confirm_user_with_ghl(agency, made_up)

    assert _user_requests(ghl) == 1
    assert not GHLUser.objects.for_agency(agency).filter(ghl_id=made_up.user_id).exists()


def test_ghl_down_refuses_without_remembering(ghl, agency):
    person = _agency_admin(ghl, agency)
    identity = SSOIdentity(user_id=person.id, company_id=agency.company_id)
    ghl.add_fault("5xx", path="/users/", status=503)

    with pytest.raises(UserNotConfirmed):
        confirm_user_with_ghl(agency, identity)

    ghl.clear_faults()
    assert confirm_user_with_ghl(agency, identity).type == "agency"
