"""The pages' cached per-agency lists (accounts.lookups: tags, books, CSM choices) and churn model
summary (analytics.churn.summary_for): a change shows on the next page at once, one agency's
lists never show on another's pages, and the pages stop asking the database for them."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import lookups, pagecache, tagging
from accounts.models import Location
from analytics import churn
from analytics.models import ChurnModel
from gocsm.agencykeys import agency_cache_pattern
from sync.status import resync_key

pytestmark = pytest.mark.django_db


def _page(client, url="/app/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _tag_options(html: str) -> str:
    """The filter bar's tag <select> (the first on the page)."""
    start = html.index('<select name="tag" aria-label="Tag">')
    return html[start : html.index("</select>", start)]


def _book_options(html: str) -> str:
    start = html.index('<select name="book" aria-label="Book">')
    return html[start : html.index("</select>", start)]


def _csm_options(html: str) -> str:
    start = html.index('<select name="csm" aria-label="CSM">')
    return html[start : html.index("</select>", start)]


@pytest.fixture
def agency_a(personas, portfolio):
    portfolio(personas["agency_a"], 3, days=3)
    return personas["agency_a"]


def test_a_new_renamed_or_deleted_tag_shows_on_the_next_page(agency_a, personas, login):
    client = login(personas["owner_a"])
    assert "Gold clients" not in _tag_options(_page(client))  # the lists are cached now
    tag = tagging.create_tag(agency_a, "Gold clients")
    assert f'<option value="{tag.pk}">Gold clients</option>' in _tag_options(_page(client))
    tagging.rename_tag(tag, "Platinum clients")
    html = _page(client)
    assert "Platinum clients" in _tag_options(html) and "Gold clients" not in html
    tagging.delete_tag(tag)
    assert "Platinum clients" not in _page(client)


def test_an_assigned_csm_shows_as_a_book_at_once_and_goes_when_cleared(
    agency_a, personas, login, make_user
):
    csm = make_user(agency_a, role="user", name="Casey Csm")
    client = login(personas["owner_a"])
    assert "Book of Casey Csm" not in _book_options(_page(client))
    locations = list(Location.objects.for_agency(agency_a))
    tagging.assign_csm(agency_a, csm, locations[:2])  # bulk writes: no signal
    assert f'<option value="{csm.ghl_id}">Book of Casey Csm</option>' in _book_options(
        _page(client)
    )
    tagging.assign_csm(agency_a, None, locations[:2])
    assert "Book of Casey Csm" not in _page(client)


def test_a_csm_lands_on_their_new_book_at_once(agency_a, personas, login):
    user = personas["user_a"]
    client = login(user)
    assert "My book" not in _page(client)
    tagging.assign_csm(agency_a, user, list(Location.objects.for_agency(agency_a))[:1])
    html = _page(client)
    assert "<strong>My book</strong>: the 1 sub-account assigned to you." in html


def test_people_changes_show_in_the_csm_choices_at_once(agency_a, personas, login, make_user):
    client = login(personas["owner_a"])
    new = make_user(agency_a, role="admin", name="Ada Admin")
    html = _page(client)
    assert f'<option value="{new.ghl_id}">Ada Admin</option>' in _csm_options(html)
    # The sub-account page's task form offers them as an assignee (playbooks' TaskForm).
    location = _page(client, "/app/locations/Loc0001/")
    assert f'<option value="{new.pk}">Ada Admin</option>' in location
    new.name = "Ada Renamed"
    new.save()
    assert "Ada Renamed" in _csm_options(_page(client))
    # GHL's user sync marks people removed in GHL in bulk (sync.usersync): they are no choice.
    from accounts.models import GHLUser

    GHLUser.objects.for_agency(agency_a).filter(pk=new.pk).update(deleted=True)
    lookups.forget(agency_a.pk)
    assert "Ada Renamed" not in _csm_options(_page(client))
    assert "Ada Renamed" not in _page(client, "/app/locations/Loc0001/")


def test_another_agencys_cached_lists_never_show(personas, login, portfolio, make_user):
    a, b = personas["agency_a"], personas["agency_b"]
    portfolio(a, 2, days=3)
    portfolio(b, 2, days=3)
    tagging.create_tag(b, "Northstar secret tag")
    b_csm = make_user(b, role="user", name="Northstar Person")
    tagging.assign_csm(b, b_csm, list(Location.objects.for_agency(b)))
    b_html = _page(login(personas["owner_b"], test_client=Client()))
    assert "Northstar secret tag" in b_html and "Book of Northstar Person" in b_html
    a_html = _page(login(personas["owner_a"], test_client=Client()))
    assert "Northstar" not in a_html
    # Each agency's lists live under its own hash tag (gocsm.agencykeys).
    assert lookups.for_agency(a).tags != lookups.for_agency(b).tags
    keys = set(cache.keys(agency_cache_pattern(a.pk))) if hasattr(cache, "keys") else None
    if keys is not None:
        assert keys and all(k.startswith(f"{{agency-{a.pk}}}:") for k in keys)


def test_the_lists_are_read_once_then_come_from_the_cache(agency_a, personas, login):
    premium = tagging.ensure_default_tags(agency_a)
    client = login(personas["owner_a"])
    _page(client)
    with (
        CaptureQueriesContext(connections["default"]) as d,
        CaptureQueriesContext(connections["analytics"]) as a,
    ):
        html = _page(client)
    sql = " ".join(q["sql"] for q in [*d.captured_queries, *a.captured_queries])
    for table in ("accounts_tag", "accounts_csmassignment", "analytics_churnmodel"):
        assert f'"{table}"' not in sql, table
    # The filter bar still offers the premium tag (read from the cache).
    assert f'<option value="{premium.pk}">premium</option>' in _tag_options(html)


def test_pages_work_and_read_the_database_when_the_cache_cannot_answer(
    agency_a, personas, login, monkeypatch
):
    client = login(personas["owner_a"])
    tag = tagging.create_tag(agency_a, "Read without cache")

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    # Only the lists' reads break (the session store shares the cache).
    down = type("Broken", (), {"get": broken, "set": broken, "get_many": broken})()
    for module in (lookups, churn, pagecache):
        monkeypatch.setattr(module, "cache", down)
    html = _page(client)
    assert f'<option value="{tag.pk}">Read without cache</option>' in _tag_options(html)
    assert "No churn prediction yet" in html


class _Counting:
    """The real cache, counting the reads made through it."""

    def __init__(self):
        self.reads = []

    def __getattr__(self, name):
        return getattr(cache, name)

    def get(self, key, *args, **kwargs):
        self.reads.append(("get", key))
        return cache.get(key, *args, **kwargs)

    def get_many(self, keys, *args, **kwargs):
        keys = list(keys)
        self.reads.append(("get_many", tuple(keys)))
        return cache.get_many(keys, *args, **kwargs)


def test_a_pages_cached_values_come_in_one_cache_read(agency_a, personas, login, monkeypatch):
    """The lists, the churn summary and the re-sync marker: one get_many a page, not a read
    each (accounts.pagecache); what they show still comes from the cache."""
    premium = tagging.ensure_default_tags(agency_a)
    _model(agency_a, ChurnModel.STATUS_MODEL, 40)
    client = login(personas["owner_a"])
    location = Location.objects.for_agency(agency_a).first()
    tagging.apply_tag(agency_a, premium, [location])
    pages = ("/app/", "/app/at-risk/", f"/app/locations/{location.ghl_id}/")
    for url in pages:
        _page(client, url)  # fills the cache
    counting = _Counting()
    for module in (lookups, churn, pagecache):
        monkeypatch.setattr(module, "cache", counting)
    htmls = [_page(client, url) for url in pages]
    assert counting.reads and all(kind == "get_many" for kind, _keys in counting.reads)
    assert len(counting.reads) == len(pages)  # one a page
    keys = counting.reads[0][1]
    expected = {
        lookups.cache_key(agency_a.pk),
        churn.summary_key(agency_a.pk),
        resync_key(agency_a.pk),
    }
    assert expected <= set(keys)
    assert all(k.startswith(f"{{agency-{agency_a.pk}}}:") for k in keys)
    assert f'<option value="{premium.pk}">premium</option>' in _tag_options(htmls[0])
    assert "Churn (90 d)" in htmls[0]
    assert '<span class="tag">premium</span>' in htmls[2]


def _model(agency, status: str, events: int) -> ChurnModel:
    return ChurnModel.objects.for_agency(agency.pk).update_or_create(
        agency_id=agency.pk,
        defaults={
            "status": status,
            "events": events,
            "events_needed": 10,
            "day": date(2026, 3, 1),
        },
    )[0]


def test_a_trained_or_deleted_churn_model_shows_on_the_next_page(agency_a, personas, login):
    client = login(personas["owner_a"])
    assert "no churn model has been trained for this agency yet" in _page(client)
    _model(agency_a, ChurnModel.STATUS_COLD_START, 4)
    assert "this agency's history has 4 churn events" in _page(client)
    _model(agency_a, ChurnModel.STATUS_MODEL, 12)
    html = _page(client)
    assert "No churn prediction yet" not in html
    assert "(12 churn events)" in html and "Churn (90 d)</th>" in html
    ChurnModel.objects.for_agency(agency_a.pk).delete()
    assert "no churn model has been trained for this agency yet" in _page(client)


def test_another_agencys_churn_model_never_shows(personas, login, portfolio):
    a, b = personas["agency_a"], personas["agency_b"]
    portfolio(a, 2, days=3)
    portfolio(b, 2, days=3)
    _model(b, ChurnModel.STATUS_MODEL, 33)
    assert "(33 churn events)" in _page(login(personas["owner_b"], test_client=Client()))
    html = _page(login(personas["owner_a"], test_client=Client()))
    assert "33 churn events" not in html
    assert "no churn model has been trained for this agency yet" in html
    assert churn.summary_for(a) is None and churn.summary_for(b).events == 33


def test_a_saas_plan_named_or_renamed_in_ghl_shows_on_the_sub_account_page_at_once(personas, login):
    from accounts.models import SaasPlan
    from analytics.ingest import LocationDayFacts, record_location_day
    from analytics.pipeline import refresh_agency_days
    from tests.analytics.conftest import TODAY

    agency = personas["agency_a"]
    Location.objects.create(agency=agency, ghl_id="LocPlan", name="Planned")
    facts = LocationDayFacts(
        users_total=1,
        saas_plan_id="gold-7",
        subscription_status="active",
        mrr_cents=9700,
        mrr_currency="USD",
    )
    record_location_day(agency.pk, "LocPlan", TODAY, facts)
    refresh_agency_days(agency.pk, TODAY, TODAY)
    client = login(personas["owner_a"])
    url = "/app/locations/LocPlan/"
    assert "<td>gold-7</td>" in _page(client, url)  # no name known yet: the plan's id
    # The pulls write plan names one at a time (sync.pulls._save_plan_names).
    plan = SaasPlan.objects.create(agency=agency, plan_id="gold-7", name="Gold")
    assert "<td>Gold</td>" in _page(client, url)
    plan.name = "Gold Plus"
    plan.save()
    assert "<td>Gold Plus</td>" in _page(client, url)
    # Another agency's plan of the same id never names this one's.
    SaasPlan.objects.create(agency=personas["agency_b"], plan_id="gold-7", name="Northstar Gold")
    plan.delete()
    html = _page(client, url)
    assert "<td>gold-7</td>" in html and "Northstar" not in html


def test_the_sub_account_page_names_its_csm_and_tags_and_follows_changes(
    agency_a, personas, login, make_user
):
    from accounts.models import GHLUser

    csm = make_user(agency_a, role="user", name="Casey Csm")
    location = Location.objects.for_agency(agency_a).get(ghl_id="Loc0001")
    client = login(personas["owner_a"])
    url = "/app/locations/Loc0001/"
    assert "none assigned" in _page(client, url)
    tag = tagging.create_tag(agency_a, "Vip")
    tagging.apply_tag(agency_a, tag, [location])
    tagging.assign_csm(agency_a, csm, [location])
    html = _page(client, url)
    assert "CSM: <strong>Casey Csm</strong></p>" in html
    assert '<li><span class="tag">Vip</span>' in html
    # Removed in GHL (sync.usersync's bulk update, which forgets the lists).
    GHLUser.objects.for_agency(agency_a).filter(pk=csm.pk).update(deleted=True)
    lookups.forget(agency_a.pk)
    assert '<strong>Casey Csm</strong> <span class="muted">(removed from GoHighLevel)</span>' in (
        _page(client, url)
    )
    tagging.remove_tag(agency_a, tag, [location])
    tagging.assign_csm(agency_a, None, [location])
    html = _page(client, url)
    assert "none assigned" in html and '<span class="tag">Vip</span>' not in html
