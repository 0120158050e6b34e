"""Segments, tags and CSM books (analytics.segments, accounts.tagging, analytics.views.segments).

A hand-built portfolio whose every sub-account is in a known segment by the written definitions;
each page and CSV narrowed to a segment, a tag and a book; tag management and bulk actions with
their role checks, CSRF, audit, and the refusal of another agency's sub-accounts (404, nothing
changed); the CSM's landing on their book; the digest grouped by CSM."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts import lifecycle, tagging
from accounts.models import AuditEvent, CSMAssignment, Location, LocationTag, Tag
from analytics import segments
from analytics.digest import send_digest
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.pipeline import refresh_agency_days
from analytics.portfolio import at_risk_rows, scope_for_agency
from tests.analytics.conftest import TODAY

pytestmark = pytest.mark.django_db

NAMES = {
    "LSaas": "Acme SaaS Dental",
    "LNotBilled": "Birch Plumbing",
    "LChurn": "Cedar Churned Salon",
    "LNew": "Dune New Yoga",
    "LGone": "Elm Gone Law",
    "LPrem": "Fir Premium Realty",
}
# What the written definitions say each one is on TODAY.
EXPECTED = {
    "saas": {"LSaas", "LChurn", "LGone"},
    "regular": {"LNotBilled", "LNew", "LPrem"},
    "premium": {"LPrem"},
    "onboarding": {"LNew"},
    "churned": {"LChurn"},
    "not_connected": {"LGone"},
}


def day(n: int):
    return TODAY - timedelta(days=n)


def build(agency):
    """Six sub-accounts, one per story; LPrem carries the premium tag."""
    for ghl_id, name in NAMES.items():
        Location.objects.create(agency=agency, ghl_id=ghl_id, name=name)
    for k in range(60, -1, -1):
        d = day(k)
        counts = {"users_total": 2, "workflows_published": 1, "conversations_created": 2}

        def sub(status, cents):
            return LocationDayFacts(
                **counts,
                saas_plan_id="gold",
                subscription_status=status,
                mrr_cents=cents,
                mrr_currency="USD",
            )

        record_location_day(agency.pk, "LSaas", d, sub("active" if k > 2 else "past_due", 9700))
        record_location_day(agency.pk, "LGone", d, sub("active", 5000))
        record_location_day(
            agency.pk, "LChurn", d, sub("active", 8000) if k > 10 else sub("canceled", 0)
        )
        record_location_day(agency.pk, "LNotBilled", d, LocationDayFacts(**counts))
        record_location_day(agency.pk, "LPrem", d, LocationDayFacts(**counts))
        if k <= 10:
            record_location_day(agency.pk, "LNew", d, LocationDayFacts(**counts))
        for loc in NAMES:
            # LNotBilled's people stopped logging in three weeks ago.
            if (loc != "LNew" or k <= 10) and (loc != "LNotBilled" or k > 21):
                record_user_activity_day(agency.pk, loc, "U" + loc, d, 1, {"dashboard": 5}, False)
    lifecycle.set_status(
        agency, ["LGone"], "uninstalled", at=datetime.combine(day(4), datetime.min.time(), UTC)
    )
    premium = tagging.ensure_default_tags(agency)
    tagging.apply_tag(agency, premium, [Location.objects.for_agency(agency).get(ghl_id="LPrem")])
    refresh_agency_days(agency.pk, day(60), TODAY)
    return premium


@pytest.fixture
def world(personas):
    agency = personas["agency_a"]
    premium = build(agency)
    # Agency B has a sub-account and a tag of its own.
    other = Location.objects.create(agency=personas["agency_b"], ghl_id="LOther", name="Other")
    other_tag = Tag.objects.create(agency=personas["agency_b"], name="vip")
    return {"agency": agency, "premium": premium, "other": other, "other_tag": other_tag}


def locs(agency, *ids):
    return list(Location.objects.for_agency(agency).filter(ghl_id__in=ids))


def csv_names(response) -> set[str]:
    assert response.status_code == 200, response.content[:300]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    return {r[0] for r in rows[1:]}


# Segment definitions ----------------------------------------------------------------------


def test_segment_membership_follows_the_written_definitions(world):
    agency = world["agency"]
    for key, expected in EXPECTED.items():
        assert segments.locations_in(agency, segment=key) == expected, key
    # SaaS and regular clients split the portfolio in two.
    assert EXPECTED["saas"] | EXPECTED["regular"] == set(NAMES)
    assert segments.locations_in(agency) == set(NAMES)


def test_locations_in_combines_segment_tag_and_book(world, personas):
    agency = world["agency"]
    dental = tagging.create_tag(agency, "dental")
    tagging.apply_tag(agency, dental, locs(agency, "LSaas", "LNotBilled"))
    tagging.assign_csm(agency, personas["user_a"], locs(agency, "LSaas", "LChurn"))
    assert segments.locations_in(agency, tag=dental) == {"LSaas", "LNotBilled"}
    assert segments.locations_in(agency, segment="saas", tag=dental.pk) == {"LSaas"}
    assert segments.locations_in(agency, csm=personas["user_a"]) == {"LSaas", "LChurn"}
    assert segments.locations_in(agency, segment="churned", csm=personas["user_a"]) == {"LChurn"}
    # Another agency's tag matches nothing here.
    assert segments.locations_in(agency, tag=world["other_tag"]) == frozenset()
    with pytest.raises(ValueError, match="unknown segment"):
        segments.locations_in(agency, segment="vip")


def test_renamed_premium_tag_stays_the_premium_segment_and_install_adds_it_once(world):
    agency = world["agency"]
    tagging.rename_tag(world["premium"], "VIP clients")
    assert segments.locations_in(agency, segment="premium") == {"LPrem"}
    assert tagging.ensure_default_tags(agency).pk == world["premium"].pk
    assert Tag.objects.for_agency(agency).count() == 1


# Narrowing pages and exports ---------------------------------------------------------------

CSV_PAGES = ["analytics:overview", "analytics:adoption", "analytics:logins"]


@pytest.mark.parametrize("name", CSV_PAGES)
@pytest.mark.parametrize("segment", list(EXPECTED))
def test_each_list_csv_is_narrowed_to_the_segment(world, personas, login, name, segment):
    client = login(personas["owner_a"])
    got = csv_names(client.get(reverse(name), {"segment": segment, "format": "csv"}))
    assert got == {NAMES[g] for g in EXPECTED[segment]}


@pytest.mark.parametrize("name", CSV_PAGES)
def test_each_list_page_is_narrowed_to_a_tag_and_its_links_keep_it(world, personas, login, name):
    agency = world["agency"]
    dental = tagging.create_tag(agency, "dental")
    tagging.apply_tag(agency, dental, locs(agency, "LSaas", "LNew"))
    client = login(personas["owner_a"])
    html = client.get(reverse(name), {"tag": dental.pk}).content.decode()
    assert NAMES["LSaas"] in html and NAMES["LNew"] in html
    assert NAMES["LNotBilled"] not in html and NAMES["LPrem"] not in html
    assert "Showing: tag dental" in html
    # The CSV link and the navigation keep the tag; the page's own filter form carries it.
    assert f"tag={dental.pk}&amp;format=csv" in html
    assert f'href="/app/at-risk/?tag={dental.pk}"' in html
    assert f'<input type="hidden" name="tag" value="{dental.pk}">' in html
    got = csv_names(client.get(reverse(name), {"tag": dental.pk, "format": "csv"}))
    assert got == {NAMES["LSaas"], NAMES["LNew"]}


def test_at_risk_list_and_csv_are_narrowed(world, personas, login):
    client = login(personas["owner_a"])
    everyone = csv_names(client.get("/app/at-risk/", {"format": "csv"}))
    assert {NAMES["LSaas"], NAMES["LNotBilled"]} <= everyone
    for segment, members in EXPECTED.items():
        got = csv_names(client.get("/app/at-risk/", {"segment": segment, "format": "csv"}))
        assert got == everyone & {NAMES[g] for g in members}


def test_tiles_and_revenue_follow_the_segment(world, personas, login):
    client = login(personas["owner_a"])
    regular = client.get("/app/", {"segment": "regular"}).content.decode()
    # No regular client is billed in GHL: the MRR tile says so instead of showing a sum.
    assert 'Total MRR</div><div class="value"><span class="muted">none recorded' in regular
    saas = client.get("/app/", {"segment": "saas"}).content.decode()
    assert "97.00 USD" in saas
    # Revenue: the regular clients have no MRR months, the SaaS clients do.
    regular_csv = client.get("/app/revenue/", {"segment": "regular", "format": "csv"})
    saas_csv = client.get("/app/revenue/", {"segment": "saas", "format": "csv"})
    assert len(regular_csv.content.decode().splitlines()) == 1
    assert len(saas_csv.content.decode().splitlines()) > 1


@pytest.mark.parametrize(
    "query", [{"segment": "vip"}, {"tag": "abc"}, {"tag": "999999"}, {"book": "nobody"}]
)
def test_an_unknown_segment_tag_or_book_is_a_400(world, personas, login, query):
    assert login(personas["owner_a"]).get("/app/", query).status_code == 400


def test_another_agencys_tag_reads_as_one_that_does_not_exist(world, personas, login):
    client = login(personas["owner_a"])
    assert client.get("/app/", {"tag": world["other_tag"].pk}).status_code == 400


# Tag management ------------------------------------------------------------------------------


def test_owner_creates_renames_and_deletes_tags_audited(world, personas, login):
    agency = world["agency"]
    client = login(personas["owner_a"])
    assert (
        client.post("/app/segments/", {"action": "create", "name": " Q3  push "}).status_code == 302
    )
    tag = Tag.objects.for_agency(agency).get(name="Q3 push")
    # Names are unique per agency whatever the case: refused, nothing changed.
    r = client.post("/app/segments/", {"action": "create", "name": "q3 PUSH"})
    assert r.status_code == 400
    assert Tag.objects.for_agency(agency).filter(name__iexact="q3 push").count() == 1
    r = client.post("/app/segments/", {"action": "rename", "tag": tag.pk, "name": "Q4 push"})
    assert r.status_code == 302
    tag.refresh_from_db()
    assert tag.name == "Q4 push"
    tagging.apply_tag(agency, tag, locs(agency, "LSaas"))
    r = client.post("/app/segments/", {"action": "delete", "tag": tag.pk})
    assert r.status_code == 302
    assert not Tag.objects.for_agency(agency).filter(pk=tag.pk).exists()
    assert not LocationTag.objects.for_agency(agency).filter(tag_id=tag.pk).exists()
    actions = set(
        AuditEvent.objects.filter(agency=agency, actor_id=personas["owner_a"].ghl_id).values_list(
            "action", flat=True
        )
    )
    assert {"tags.created", "tags.renamed", "tags.deleted"} <= actions


@pytest.mark.parametrize(
    "data",
    [
        {"action": "create", "name": ""},
        {"action": "create", "name": "x" * 41},
        {"action": "rename"},
    ],
)
def test_bad_tag_input_is_a_400_and_changes_nothing(world, personas, login, data):
    before = list(Tag.objects.for_agency(world["agency"]).values_list("pk", "name"))
    r = login(personas["owner_a"]).post("/app/segments/", data)
    assert r.status_code == 400
    assert list(Tag.objects.for_agency(world["agency"]).values_list("pk", "name")) == before


def test_a_user_sees_segments_but_cannot_change_tags(world, personas, login):
    client = login(personas["user_a"])
    page = client.get("/app/segments/")
    assert page.status_code == 200
    assert "Premium" in page.content.decode() and 'name="action"' not in page.content.decode()
    assert client.post("/app/segments/", {"action": "create", "name": "mine"}).status_code == 403
    r = client.post("/app/segments/", {"action": "delete", "tag": world["premium"].pk})
    assert r.status_code == 403
    assert Tag.objects.for_agency(world["agency"]).count() == 1


def test_another_agencys_tag_cannot_be_renamed_or_deleted(world, personas, login):
    client = login(personas["owner_a"])
    other = world["other_tag"]
    assert client.post("/app/segments/", {"action": "delete", "tag": other.pk}).status_code == 404
    r = client.post("/app/segments/", {"action": "rename", "tag": other.pk, "name": "mine"})
    assert r.status_code == 404
    other.refresh_from_db()
    assert other.name == "vip"


def test_tag_and_bulk_posts_need_the_csrf_token(world, personas, login):
    client = login(personas["owner_a"], test_client=Client(enforce_csrf_checks=True))
    assert client.post("/app/segments/", {"action": "create", "name": "x"}).status_code == 403
    r = client.post(
        "/app/bulk/", {"action": "tag_add", "tag": world["premium"].pk, "ids": ["LSaas"]}
    )
    assert r.status_code == 403
    assert not Tag.objects.for_agency(world["agency"]).filter(name="x").exists()
    assert LocationTag.objects.for_agency(world["agency"]).count() == 1


# Bulk actions ---------------------------------------------------------------------------------


def _links(agency) -> set[tuple[str, str]]:
    return set(LocationTag.objects.for_agency(agency).values_list("location__ghl_id", "tag__name"))


def test_bulk_tag_add_and_remove_in_one_post_each(world, personas, login):
    agency = world["agency"]
    client = login(personas["owner_a"])
    premium = world["premium"]
    r = client.post(
        "/app/bulk/",
        {
            "action": "tag_add",
            "tag": premium.pk,
            "ids": ["LSaas", "LChurn", "LPrem"],
            "next": "/app/at-risk/?segment=saas",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/app/at-risk/?segment=saas"
    assert _links(agency) == {("LSaas", "premium"), ("LChurn", "premium"), ("LPrem", "premium")}
    event = AuditEvent.objects.filter(agency=agency, action="tags.applied").order_by("-at").first()
    assert event.detail["added"] == 2 and set(event.detail["locations"]) == {"LSaas", "LChurn"}
    r = client.post("/app/bulk/", {"action": "tag_remove", "tag": premium.pk, "ids": ["LSaas"]})
    assert r.status_code == 302 and r["Location"] == "/app/"
    assert _links(agency) == {("LChurn", "premium"), ("LPrem", "premium")}


def test_bulk_refuses_another_agencys_sub_account_and_changes_nothing(world, personas, login):
    agency = world["agency"]
    client = login(personas["owner_a"])
    before = _links(agency)
    audits = AuditEvent.objects.filter(agency=agency).count()
    for data in (
        {"action": "tag_add", "tag": world["premium"].pk, "ids": ["LSaas", "LOther"]},
        {"action": "tag_add", "tag": world["other_tag"].pk, "ids": ["LSaas"]},
        {"action": "csm_assign", "csm": personas["owner_b"].ghl_id, "ids": ["LSaas"]},
        {"action": "csm_assign", "csm": personas["user_a"].ghl_id, "ids": ["LSaas", "LOther"]},
        {"action": "tag_add", "tag": world["premium"].pk, "ids": ["LSaas", "LNoSuch"]},
    ):
        assert client.post("/app/bulk/", data).status_code == 404, data
    assert _links(agency) == before
    assert not CSMAssignment.objects.for_agency(agency).exists()
    assert not LocationTag.objects.for_agency(personas["agency_b"]).exists()
    assert AuditEvent.objects.filter(agency=agency).count() == audits


def test_bulk_refuses_sub_accounts_ghl_hides_from_a_restricted_admin(world, make_user, login):
    agency = world["agency"]
    admin = make_user(agency, role="admin")
    client = login(admin, location_ids=["LSaas"])
    data = {"action": "tag_add", "tag": world["premium"].pk, "ids": ["LSaas", "LChurn"]}
    assert client.post("/app/bulk/", data).status_code == 404
    assert ("LSaas", "premium") not in _links(agency)


def test_bulk_is_owner_and_admin_only(world, personas, make_user, login):
    agency = world["agency"]
    data = {"action": "tag_add", "tag": world["premium"].pk, "ids": ["LSaas"]}
    assert login(personas["user_a"]).post("/app/bulk/", data).status_code == 403
    assert ("LSaas", "premium") not in _links(agency)
    admin = make_user(agency, role="admin")
    assert login(admin, test_client=Client()).post("/app/bulk/", data).status_code == 302
    assert ("LSaas", "premium") in _links(agency)
    # The checkboxes and the action form are there for owners and admins only.
    assert 'form="bulk"' in login(admin, test_client=Client()).get("/app/").content.decode()
    assert 'form="bulk"' not in login(personas["user_a"]).get("/app/").content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"action": "tag_add", "ids": ["LSaas"]},  # no tag
        {"action": "explode", "ids": ["LSaas"]},
        {"action": "csm_assign", "ids": ["LSaas"]},  # no CSM
        {"action": "csm_clear"},  # nothing selected
        {"action": "tag_add", "tag": "x", "ids": ["LSaas"]},
    ],
)
def test_bad_bulk_input_is_a_400(world, personas, login, data):
    assert login(personas["owner_a"]).post("/app/bulk/", data).status_code == 400
    assert ("LSaas", "premium") not in _links(world["agency"])


def test_bulk_assigns_and_clears_the_csm(world, personas, login, make_user):
    agency = world["agency"]
    client = login(personas["owner_a"])
    user = personas["user_a"]
    r = client.post(
        "/app/bulk/", {"action": "csm_assign", "csm": user.ghl_id, "ids": ["LSaas", "LChurn"]}
    )
    assert r.status_code == 302
    assert segments.book_ids(agency, user) == {"LSaas", "LChurn"}
    # A sub-account user cannot be a CSM.
    sub_user = make_user(agency, role="location")
    data = {"action": "csm_assign", "csm": sub_user.ghl_id, "ids": ["LNew"]}
    assert client.post("/app/bulk/", data).status_code == 404
    client.post("/app/bulk/", {"action": "csm_clear", "ids": ["LSaas"]})
    assert segments.book_ids(agency, user) == {"LChurn"}
    assert AuditEvent.objects.filter(agency=agency, action="csm.assigned").exists()
    assert AuditEvent.objects.filter(agency=agency, action="csm.unassigned").exists()


def test_the_sub_account_page_adds_and_removes_one_tag_and_sets_the_csm(world, personas, login):
    agency = world["agency"]
    client = login(personas["owner_a"])
    dental = tagging.create_tag(agency, "dental")
    url = reverse("analytics:location-detail", args=["LSaas"])
    page = client.get(url).content.decode()
    assert "none assigned" in page and 'value="add"' in page
    client.post(f"{url}tags/", {"action": "add", "tag": dental.pk})
    client.post(f"{url}csm/", {"csm": personas["user_a"].ghl_id})
    page = client.get(url).content.decode()
    assert '<span class="tag">dental</span>' in page
    assert f"<strong>{personas['user_a'].name}</strong>" in page
    client.post(f"{url}tags/", {"action": "remove", "tag": dental.pk})
    client.post(f"{url}csm/", {"csm": ""})
    assert ("LSaas", "dental") not in _links(agency)
    assert not CSMAssignment.objects.for_agency(agency).exists()
    # Another agency's sub-account: 404.
    other = reverse("analytics:location-detail", args=["LOther"])
    assert client.post(f"{other}tags/", {"action": "add", "tag": dental.pk}).status_code == 404
    # A user reads the tags but cannot change them.
    user = login(personas["user_a"], test_client=Client())
    assert user.post(f"{url}tags/", {"action": "add", "tag": dental.pk}).status_code == 403


# My book ----------------------------------------------------------------------------------------


def test_a_csm_lands_on_their_book_and_switches_to_the_portfolio(world, personas, login):
    agency = world["agency"]
    user = personas["user_a"]
    tagging.assign_csm(agency, user, locs(agency, "LSaas", "LChurn"))
    client = login(user)
    page = client.get("/app/").content.decode()
    assert "<strong>My book</strong>" in page
    assert NAMES["LSaas"] in page and NAMES["LChurn"] in page
    assert NAMES["LPrem"] not in page
    assert "Switch to the whole portfolio" in page
    # Its CSV is the book too, and the navigation keeps the choice once switched.
    assert csv_names(client.get("/app/", {"format": "csv"})) == {NAMES["LSaas"], NAMES["LChurn"]}
    whole = client.get("/app/", {"book": "all"}).content.decode()
    assert NAMES["LPrem"] in whole and "Back to my book" in whole
    assert 'href="/app/logins/?book=all"' in whole
    assert 'href="/app/logins/?book=all"' in whole
    assert len(csv_names(client.get("/app/", {"book": "all", "format": "csv"}))) == len(NAMES)
    # Someone without a book opens the whole portfolio.
    owner = login(personas["owner_a"], test_client=Client()).get("/app/").content.decode()
    assert "My book" not in owner and NAMES["LPrem"] in owner


def test_a_restricted_csm_cannot_switch_beyond_what_ghl_lets_them_see(world, personas, login):
    agency = world["agency"]
    user = personas["user_a"]
    tagging.assign_csm(agency, user, locs(agency, "LSaas", "LChurn", "LPrem"))
    client = login(user, location_ids=["LSaas", "LNew"])
    book = csv_names(client.get("/app/", {"format": "csv"}))
    assert book == {NAMES["LSaas"]}  # the book, as far as GHL lets them see it
    page = client.get("/app/", {"book": "all"}).content.decode()
    assert "All sub-accounts GHL lets you see" in page
    assert csv_names(client.get("/app/", {"book": "all", "format": "csv"})) == {
        NAMES["LSaas"],
        NAMES["LNew"],
    }


def test_owner_narrows_to_a_csms_book_and_to_the_unassigned(world, personas, login):
    agency = world["agency"]
    tagging.assign_csm(agency, personas["user_a"], locs(agency, "LSaas"))
    client = login(personas["owner_a"])
    got = csv_names(client.get("/app/", {"book": personas["user_a"].ghl_id, "format": "csv"}))
    assert got == {NAMES["LSaas"]}
    rest = csv_names(client.get("/app/", {"book": "none", "format": "csv"}))
    assert rest == {n for k, n in NAMES.items() if k != "LSaas"}
    # Another agency's person is no book here.
    r = client.get("/app/", {"book": personas["owner_b"].ghl_id})
    assert r.status_code == 400


# Digest ------------------------------------------------------------------------------------------


def test_digest_goes_to_each_csm_about_their_book_and_groups_the_owners_by_csm(
    world, personas, make_user, mailoutbox
):
    agency = world["agency"]
    csm = make_user(agency, role="user", name="Casey Book", email="casey@brightpath.example")
    tagging.assign_csm(agency, csm, locs(agency, "LChurn", "LSaas"))
    # A payment falls past due on LSaas, in Casey's book: it is flagged this week.
    for k in range(3):
        record_location_day(
            agency.pk,
            "LSaas",
            day(k),
            LocationDayFacts(subscription_status="past_due", mrr_cents=9700, mrr_currency="USD"),
        )
    refresh_agency_days(agency.pk, day(6), TODAY)
    flagged = {r["location_ghl_id"] for r in at_risk_rows(scope_for_agency(agency))}
    assert "LSaas" in flagged
    with time_machine.travel(datetime(2026, 3, 31, 18, 0, tzinfo=UTC), tick=False):
        sent = send_digest(agency)
    by_to = {m.to[0]: m for m in mailoutbox}
    assert sent == len(by_to) == 2  # the owner and Casey; user_a has no book
    owner_body = by_to[personas["owner_a"].email].body
    assert "By CSM:" in owner_body
    casey_part = owner_body.split("\nCasey Book\n", 1)[1]
    assert NAMES["LSaas"] in casey_part.split("\nNo CSM assigned\n")[0]
    casey = by_to["casey@brightpath.example"]
    assert casey.subject.endswith("(your book)")
    assert "Your book: the 2 sub-accounts assigned to you, Casey Book." in casey.body
    assert NAMES["LSaas"] in casey.body
    others = {NAMES[k] for k in flagged - {"LSaas", "LChurn"}}
    assert not any(name in casey.body for name in others)


def test_the_definitions_are_written_where_figures_are_defined(world, personas, login):
    client = login(personas["owner_a"])
    for url in ("/app/segments/", "/app/settings/"):
        page = client.get(url).content.decode()
        for label in segments.SEGMENTS.values():
            assert f"*{label}*" in page, (url, label)
    # The segments page counts each segment as the definitions say.
    page = client.get("/app/segments/").content.decode()
    for key, members in EXPECTED.items():
        assert f"?segment={key}&amp;book=all" in page
        label = segments.SEGMENTS[key]
        row = page.split(f">{label}</a>", 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num">{len(members)}</td>' in row


def test_narrowing_is_counted_in_product_analytics_without_names(
    world, personas, login, monkeypatch
):
    from gocsm import product_events

    seen = []
    original = product_events.capture

    def spy(request, event, properties=None):
        seen.append((event, dict(properties or {})))
        return original(request, event, properties)

    monkeypatch.setattr(product_events, "capture", spy)
    login(personas["owner_a"]).get(
        "/app/", {"segment": "saas", "tag": world["premium"].pk, "book": "none"}
    )
    used = {(p["filter"], p["value"]) for e, p in seen if e == "dashboard_filter_used"}
    assert used == {("segment", "saas"), ("tag", True), ("book", "none")}
    assert all(product_events.PROPERTY_RULES["value"](v) for _f, v in used)


def test_a_restricted_csms_digest_leaves_out_what_ghl_hides_from_them(world, make_user, mailoutbox):
    agency = world["agency"]
    csm = make_user(
        agency, role="user", restrict_sub_account=True, location_ids=["LChurn"], name="Robin"
    )
    # LSaas is past due (flagged) but GHL does not let Robin see it: nothing to report to Robin.
    tagging.assign_csm(agency, csm, locs(agency, "LSaas", "LChurn"))
    with time_machine.travel(datetime(2026, 3, 31, 18, 0, tzinfo=UTC), tick=False):
        send_digest(agency)
    assert csm.email not in {m.to[0] for m in mailoutbox}
    owner_mail = next(m for m in mailoutbox if m.to[0] != csm.email)
    assert "\nRobin\n" in owner_mail.body  # the owner's digest still groups LSaas under Robin


def test_tag_names_are_escaped_everywhere(world, personas, login):
    agency = world["agency"]
    tag = tagging.create_tag(agency, '<img src=x onerror="alert(1)">')
    tagging.apply_tag(agency, tag, locs(agency, "LSaas"))
    client = login(personas["owner_a"])
    for url in ("/app/segments/", f"/app/?tag={tag.pk}", "/app/locations/LSaas/"):
        page = client.get(url).content.decode()
        assert "<img src=x" not in page, url
        assert "&lt;img src=x" in page, url


def test_narrowed_pages_cost_the_same_queries_whatever_the_portfolio_size(
    make_agency, make_user, login
):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from tests.analytics.conftest import build_portfolio

    counts = []
    for n in (8, 40):
        agency = make_agency()
        owner = make_user(agency, role="owner")
        build_portfolio(agency, n, days=3)
        tag = tagging.ensure_default_tags(agency)
        tagging.apply_tag(agency, tag, list(Location.objects.for_agency(agency))[: n // 2])
        tagging.assign_csm(agency, owner, list(Location.objects.for_agency(agency))[: n // 4])
        client = login(owner, test_client=Client())
        per_page = []
        for url in ("/app/", "/app/at-risk/", "/app/adoption/", "/app/logins/", "/app/revenue/"):
            query = {"segment": "saas", "tag": tag.pk, "book": "all"}
            client.get(url, query)
            with (
                CaptureQueriesContext(connections["default"]) as d,
                CaptureQueriesContext(connections["analytics"]) as a,
            ):
                assert client.get(url, query).status_code == 200
            per_page.append(len(d.captured_queries) + len(a.captured_queries))
        counts.append(per_page)
    assert counts[0] == counts[1]


def test_a_sub_accounts_own_people_never_see_the_agencys_tags_or_books(
    world, personas, make_user, login
):
    agency = world["agency"]
    tagging.assign_csm(agency, personas["user_a"], locs(agency, "LPrem"))
    person = make_user(agency, role="location", location_ids=["LPrem"])
    client = login(person)
    page = client.get("/app/", follow=True).content.decode()  # its page (test_landing.py)
    assert NAMES["LPrem"] in page
    assert 'name="segment"' not in page and "Segments</a>" not in page
    detail = client.get("/app/locations/LPrem/").content.decode()
    assert "Tags and CSM" not in detail and "premium" not in detail
    assert personas["user_a"].name not in detail
    assert client.get("/app/segments/").status_code == 403
    for query in ({"tag": world["premium"].pk}, {"segment": "saas"}, {"book": "all"}):
        assert client.get("/app/at-risk/", query).status_code == 400


def test_before_the_first_recompute_only_tags_and_books_narrow(personas, login):
    agency = personas["agency_a"]
    for ghl_id, name in NAMES.items():
        Location.objects.create(agency=agency, ghl_id=ghl_id, name=name)
    premium = tagging.ensure_default_tags(agency)
    tagging.apply_tag(agency, premium, locs(agency, "LPrem"))
    client = login(personas["owner_a"])
    assert csv_names(client.get("/app/", {"segment": "premium", "format": "csv"})) == {
        NAMES["LPrem"]
    }
    assert csv_names(client.get("/app/", {"segment": "saas", "format": "csv"})) == set()
    assert len(csv_names(client.get("/app/", {"format": "csv"}))) == len(NAMES)


def test_the_feedback_page_and_its_csv_are_narrowed(world, personas, login):
    from analytics.models import NpsResponse

    agency = world["agency"]
    for loc, rating in (("LSaas", 9), ("LPrem", 3), ("LChurn", 7)):
        NpsResponse.objects.create(
            agency_id=agency.pk,
            location_ghl_id=loc,
            user_ghl_id="U" + loc,
            user_name="Person of " + loc,
            rating=rating,
            day=TODAY,
        )
    client = login(personas["owner_a"])
    query = {"since": "2026-01-01", "until": "2026-03-31", "format": "csv"}

    def subaccounts(extra):
        response = client.get("/app/feedback/", {**query, **extra})
        assert response.status_code == 200, response.content[:300]
        return {r[1] for r in list(csv.reader(io.StringIO(response.content.decode())))[1:]}

    assert subaccounts({}) == {NAMES["LSaas"], NAMES["LPrem"], NAMES["LChurn"]}
    assert subaccounts({"segment": "premium"}) == {NAMES["LPrem"]}
    assert subaccounts({"segment": "churned"}) == {NAMES["LChurn"]}
    tagging.assign_csm(agency, personas["owner_a"], locs(agency, "LSaas"))
    assert subaccounts({}) == {NAMES["LSaas"]}  # the owner now has a book: lands on it
    assert len(subaccounts({"book": "all"})) == 3
    page = client.get("/app/feedback/", {"segment": "saas", "book": "all"}).content.decode()
    assert "Showing: SaaS clients" in page
    assert NAMES["LPrem"] not in page and "+100" in page  # LSaas's promoter alone


def test_bulk_switches_the_nps_prompt_for_the_selected_rows_only(world, personas, login):
    from analytics.models import NpsOptIn

    agency = world["agency"]
    client = login(personas["owner_a"])

    def on():
        return set(NpsOptIn.objects.for_agency(agency).values_list("location_ghl_id", flat=True))

    r = client.post("/app/bulk/", {"action": "nps_on", "ids": ["LSaas", "LPrem"]})
    assert r.status_code == 302 and on() == {"LSaas", "LPrem"}
    client.post("/app/bulk/", {"action": "nps_off", "ids": ["LSaas"]})
    assert on() == {"LPrem"}
    assert (
        client.post("/app/bulk/", {"action": "nps_on", "ids": ["LSaas", "LOther"]}).status_code
        == 404
    )
    assert on() == {"LPrem"}
    # The settings page counts them and saving the interval alone switches nothing.
    page = client.get("/app/settings/")
    assert page.context["nps_on_count"] == 1
    assert client.post("/app/settings/nps/", {"ask_every_days": "45"}).status_code == 302
    assert on() == {"LPrem"}


def test_settings_counts_the_prompt_over_the_sub_accounts_the_viewer_may_see(
    world, personas, login, make_user
):
    """The whole agency is counted by the databases; a restricted admin's count covers only the
    sub-accounts GHL lets them see (another agency's opt-ins never count)."""
    from analytics.models import NpsOptIn

    agency = world["agency"]
    for ghl_id in ("LSaas", "LPrem"):
        NpsOptIn.objects.create(agency_id=agency.pk, location_ghl_id=ghl_id)
    NpsOptIn.objects.create(agency_id=personas["agency_b"].pk, location_ghl_id="LOther")
    page = login(personas["owner_a"]).get("/app/settings/")
    assert (page.context["nps_on_count"], page.context["nps_total"]) == (2, len(NAMES))
    assert f"On for 2 of {len(NAMES)} sub-accounts" in page.content.decode()
    admin = make_user(agency, role="admin", ghl_role="admin")
    page = login(admin, location_ids=["LSaas", "LChurn"]).get("/app/settings/")
    assert (page.context["nps_on_count"], page.context["nps_total"]) == (1, 2)
