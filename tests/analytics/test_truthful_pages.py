"""What an owner reads on the pages says what each value is: not billed, manual, not connected,
churned, onboarding, never a made-up zero."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts import lifecycle
from accounts.models import Location
from analytics.agencyclock import agency_today
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.models import ManualMRR
from analytics.pipeline import refresh_agency_days


def _facts(status, cents, currency="USD"):
    return LocationDayFacts(
        users_total=2,
        workflows_published=1,
        subscription_status=status,
        mrr_cents=cents,
        mrr_currency=currency,
        saas_plan_id="plan-gold" if status != "none" else "",
    )


@pytest.fixture
def pages(personas, login):
    agency = personas["agency_a"]
    agency.timezone = "UTC"
    agency.save()
    today = agency_today(agency)
    stories = {
        "Paying": ("active", 9700),
        "Unbilled": ("none", 0),
        "Manual": ("none", 0),
        "Gone": ("active", 5000),
        "Lost": ("active", 4000),
    }
    for name, (status, cents) in stories.items():
        Location.objects.create(agency=agency, ghl_id=name, name=f"{name} Client")
        for k in range(60, -1, -1):
            day = today - timedelta(days=k)
            if name == "Lost" and k <= 20:
                status, cents = "canceled", 0
            record_location_day(agency.pk, name, day, _facts(status, cents))
            record_user_activity_day(agency.pk, name, "U" + name, day, 1, {"dashboard": 3}, False)
    Location.objects.create(agency=agency, ghl_id="Fresh", name="Fresh Client")
    for k in range(5, -1, -1):
        day = today - timedelta(days=k)
        record_location_day(agency.pk, "Fresh", day, _facts("trialing", 9700))
        record_user_activity_day(agency.pk, "Fresh", "UFresh", day, 1, {"dashboard": 3}, False)
    ManualMRR.objects.create(
        agency_id=agency.pk, location_ghl_id="Manual", mrr_cents=30000, currency="EUR"
    )
    moment = datetime.combine(today - timedelta(days=3), datetime.min.time(), UTC)
    lifecycle.set_status(agency, ["Gone"], "uninstalled", at=moment)
    refresh_agency_days(agency.pk, today - timedelta(days=60), today)
    return login(personas["owner_a"])


def _row(body: str, name: str) -> str:
    """The sub-accounts table's row of `name` (alerts above it name sub-accounts too)."""
    start = body.index(f">{name} Client</a>", body.index("<tbody>"))
    return body[start : body.index("</tr>", start)]


def test_overview_says_what_each_sub_accounts_figures_are(pages):
    body = pages.get(reverse("analytics:overview")).content.decode()
    assert "not billed in GHL" in _row(body, "Unbilled")
    assert "0.00" not in _row(body, "Unbilled")
    assert "300.00 EUR" in _row(body, "Manual") and "manual" in _row(body, "Manual")
    gone = _row(body, "Gone")
    assert "Not connected" in gone and "band-" not in gone
    assert "Churned" in _row(body, "Lost")
    fresh = _row(body, "Fresh")
    assert "onboarding" in fresh and "new" in fresh
    # A trial counts 0 and says so: it is not a free client.
    assert "0.00 USD" in fresh and ">trial</span>" in fresh
    assert ">trial<" not in _row(body, "Paying")
    # Tiles: the lifecycle counts and the sub-accounts without a billing figure.
    assert "Not connected" in body and "1 not billed in GHL" in body
    assert "1 with MRR entered by hand" in body


def test_overview_csv_leaves_unknown_mrr_empty_and_names_its_source(pages):
    text = pages.get(reverse("analytics:overview") + "?format=csv").content.decode()
    lines = {line.split(",")[0]: line for line in text.splitlines()[1:]}
    assert lines["Unbilled Client"].split(",")[6:9] == ["", "", "none"]
    assert lines["Manual Client"].split(",")[6:9] == ["300.00", "EUR", "manual"]
    assert lines["Gone Client"].split(",")[2] == "not_connected"


def test_revenue_movements_never_print_minus_zero(pages):
    body = pages.get(reverse("analytics:revenue")).content.decode()
    assert "\N{MINUS SIGN}0.00" not in body
    assert "Monthly movements" in body


def test_at_risk_page_says_what_at_risk_means(pages):
    body = pages.get(reverse("analytics:at-risk")).content.decode()
    assert "at least one churn-risk signal" in body


@pytest.mark.parametrize(
    ("ghl_id", "says"),
    [
        ("Gone", "Not connected</strong> since"),
        ("Lost", "Churned</strong> since"),
        ("Fresh", "Onboarding</strong>: day 6 of its first 30 days"),
    ],
)
def test_sub_account_page_says_where_it_stands(pages, ghl_id, says):
    body = pages.get(reverse("analytics:location-detail", args=[ghl_id])).content.decode()
    assert says in body


def test_a_churned_sub_accounts_page_shows_its_last_scored_day_not_blanks(pages):
    body = pages.get(reverse("analytics:location-detail", args=["Lost"])).content.decode()
    assert "its last scored day" in body and "Today's components" not in body
    components = body[body.index("its last scored day") : body.index("Daily scores")]
    adoption_row = components.split("Adoption breadth")[1].split("</tr>")[0]
    assert "no data" not in adoption_row and re.search(r'class="num">\d+\.\d</td>', adoption_row)


def test_logins_list_says_which_quiet_sub_accounts_ended_or_are_new(pages):
    """Quietest first puts ended sub-accounts near the top: each says why, as on the overview."""
    body = pages.get(reverse("analytics:logins")).content.decode()
    assert ">Churned</span>" in _row(body, "Lost")
    assert ">Not connected</span>" in _row(body, "Gone")
    assert ">onboarding</span>" in _row(body, "Fresh")
    for connected in ("Paying", "Unbilled", "Manual"):
        assert 'class="tag' not in _row(body, connected)


def test_time_per_feature_lists_the_most_used_first(personas, login):
    agency = personas["agency_a"]
    agency.timezone = "UTC"
    agency.save()
    today = agency_today(agency)
    Location.objects.create(agency=agency, ghl_id="L1", name="One")
    record_location_day(agency.pk, "L1", today, _facts("active", 9700))
    minutes = {"dashboard": 2, "workflows": 9, "calendars": 5}
    record_user_activity_day(agency.pk, "L1", "U1", today, 1, minutes, False)
    refresh_agency_days(agency.pk, today, today)
    body = login(personas["owner_a"]).get(reverse("analytics:logins")).content.decode()
    card = body[body.index("Time per feature") :]
    card = card[: card.index("</section>")]
    listed = re.findall(r"<tr><td>([a-z]+)</td>", card)
    assert listed[:3] == ["workflows", "calendars", "dashboard"]
    assert len(listed) > 3 and "0 min" in card  # features nobody used stay, last
