"""Tenant isolation: unscoped queries raise on every tenant model; another agency's object is 404.

Three personas (owner of A, user of A, owner of B)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.models import Count
from django.http import Http404
from django.test import RequestFactory

from accounts.models import GHLUser, Location
from accounts.tenancy import (
    TenantFactModel,
    TenantModel,
    UnscopedQuery,
    get_for_agency,
)
from accounts.visibility import get_location_for_request, visible_locations

pytestmark = pytest.mark.django_db


def tenant_models():
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantModel | TenantFactModel) and not m._meta.abstract
    ]


def test_the_sweep_sees_the_known_tenant_models():
    assert {GHLUser, Location} <= set(tenant_models())


UNSCOPED = {
    "list": lambda qs: list(qs),
    "filter": lambda qs: list(qs.filter(pk__gt=0)),
    "get": lambda qs: qs.get(pk=1),
    "first": lambda qs: qs.first(),
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "iterator": lambda qs: list(qs.iterator()),
    "values": lambda qs: list(qs.values("pk")),
    "aggregate": lambda qs: qs.aggregate(n=Count("pk")),
    "update": lambda qs: qs.update(),
    "delete": lambda qs: qs.delete(),
    "len": lambda qs: len(qs),
    "bool": lambda qs: bool(qs),
    "slice": lambda qs: list(qs[:1]),
}


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
@pytest.mark.parametrize("query", UNSCOPED, ids=list(UNSCOPED))
def test_unscoped_query_on_a_tenant_model_raises(model, query):
    with pytest.raises(UnscopedQuery):
        UNSCOPED[query](model._default_manager.all())


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_scoped_query_on_a_tenant_model_runs(model, personas):
    assert model._default_manager.for_agency(personas["agency_a"]).count() >= 0
    assert model._default_manager.all_agencies().count() >= 0


@pytest.fixture
def locations(personas):
    def make(agency, ghl_id):
        return Location.objects.create(agency=agency, ghl_id=ghl_id, name=ghl_id)

    return {
        "a1": make(personas["agency_a"], "LocA1"),
        "a2": make(personas["agency_a"], "LocA2"),
        "b1": make(personas["agency_b"], "LocB1"),
    }


def _request(user, allowed=None):
    request = RequestFactory().get("/")
    request.agency, request.ghl_user = user.agency, user
    request.allowed_location_ids = frozenset(allowed) if allowed is not None else None
    return request


def test_outsider_gets_404_on_another_agencys_location(personas, locations):
    with pytest.raises(Http404):
        get_for_agency(Location, personas["agency_b"], pk=locations["a1"].pk)
    with pytest.raises(Http404):
        get_location_for_request(_request(personas["owner_b"]), "LocA1")
    assert get_location_for_request(_request(personas["owner_a"]), "LocA1") == locations["a1"]


def test_outsider_gets_404_on_another_agencys_user(personas):
    with pytest.raises(Http404):
        get_for_agency(GHLUser, personas["agency_b"], pk=personas["user_a"].pk)


def test_restricted_user_sees_only_their_locations(personas, locations):
    request = _request(personas["user_a"], allowed={"LocA2"})
    assert list(visible_locations(request)) == [locations["a2"]]
    with pytest.raises(Http404):
        get_location_for_request(request, "LocA1")
    assert set(visible_locations(_request(personas["owner_a"]))) == {
        locations["a1"],
        locations["a2"],
    }


@pytest.mark.parametrize("persona", ["owner_a", "user_a", "owner_b"])
def test_each_persona_sees_only_their_own_agency(client, login, personas, persona):
    login(personas[persona])
    me = client.get("/auth/me/", HTTP_ACCEPT="application/json").json()
    assert me["agency"] == personas[persona].agency.name
    assert me["user"] == personas[persona].name


def test_session_naming_a_user_of_another_agency_is_anonymous(client, login, personas):
    from accounts.identity import SESSION_AGENCY

    login(personas["owner_a"])
    session = client.session
    session[SESSION_AGENCY] = personas["agency_b"].pk
    session.save()
    assert client.get("/auth/me/").status_code == 401


def test_owner_or_admin_required_turns_plain_users_away(personas, make_user):
    from accounts.roles import owner_or_admin_required

    view = owner_or_admin_required(lambda request: "ok")
    admin = make_user(personas["agency_a"], role="admin")
    location_user = make_user(personas["agency_a"], role="location")
    assert view(_request(personas["owner_a"])) == "ok"
    assert view(_request(admin)) == "ok"
    assert view(_request(personas["user_a"])).status_code == 403
    assert view(_request(location_user)).status_code == 403
