"""CSV exports: numbers stay numbers, text that a spreadsheet would run is neutralised, and files
are named after the page and the sub-account, never after GHL ids."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Location
from analytics.ingest import LocationDayFacts, record_location_day
from analytics.pipeline import refresh_agency_days
from analytics.views.csvexport import file_name, safe_cell
from tests.analytics.conftest import TODAY


@pytest.mark.parametrize(
    "value", [-2, -2.5, 0, 12, 1234.5, Decimal("-0.50"), "-2", "-2.50", "0.00", "8257.49", "17"]
)
def test_numbers_are_left_alone(value):
    assert str(safe_cell(value)) == str(value)


@pytest.mark.parametrize(
    "text",
    [
        "=HYPERLINK(1)",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "-",
        "-1e5",
        "@SUM(A1)",
        "\tindent",
        "\rreturn",
        "- sale",
        "--2",
    ],
)
def test_text_starting_like_a_formula_gets_a_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Alvarez Salon", "2026-03-31", "", None, "3 sessions"])
def test_other_text_is_written_as_it_is(value):
    assert safe_cell(value) == ("" if value is None else value)


def test_file_names_are_slugs_of_the_page_and_the_name():
    assert file_name("score-history", "Alvarez Salon 19") == "score-history-alvarez-salon-19.csv"
    assert file_name("score-history", "O'Brien & Co. / HVAC") == "score-history-obrien-co-hvac.csv"
    assert file_name("score-history", "Café Zürich") == "score-history-café-zürich.csv"
    assert file_name("score-history", "") == "score-history.csv"


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def falling(personas, portfolio):
    """Three sub-accounts whose score fell this week and whose MRR shrank this month."""
    portfolio(personas["agency_a"], 3, days=40)
    agency = personas["agency_a"]
    Location.objects.for_agency(agency).filter(ghl_id="Loc0001").update(name="Café Zürich 1")
    for k in range(6):
        record_location_day(
            agency.pk,
            "Loc0001",
            TODAY - timedelta(days=k),
            LocationDayFacts(subscription_status="active", mrr_cents=4700, mrr_currency="USD"),
        )
    refresh_agency_days(agency.pk, TODAY - timedelta(days=39), TODAY)
    return personas


def test_overview_csv_keeps_negative_changes_as_numbers(falling, login):
    rows = _rows(login(falling["owner_a"]).get(reverse("analytics:overview") + "?format=csv"))
    changes = [r[rows[0].index("change_7d")] for r in rows[1:]]
    assert any(c.startswith("-") for c in changes), changes
    assert not any(c.startswith("'") for c in changes)
    assert all(c == "" or int(c) == int(c) for c in changes)


def test_revenue_csv_keeps_negative_movements_as_numbers(falling, login):
    client = login(falling["owner_a"])
    rows = _rows(client.get(reverse("analytics:revenue") + "?format=csv&days=90"))
    # The opening month leaves its movements empty (not known); the others are numbers.
    net_new = [r[rows[0].index("net_new")] for r in rows[1:] if r[rows[0].index("net_new")]]
    assert any(float(v) < 0 for v in net_new), net_new
    assert not any(v.startswith("'") for v in net_new)


def test_export_file_names_never_carry_ghl_ids(falling, login):
    client = login(falling["owner_a"])
    for url, expected in [
        (reverse("analytics:overview"), 'attachment; filename="subaccounts.csv"'),
        (reverse("analytics:at-risk"), 'attachment; filename="at-risk.csv"'),
        (reverse("analytics:adoption"), 'attachment; filename="adoption.csv"'),
        (reverse("analytics:logins"), 'attachment; filename="logins.csv"'),
        (reverse("analytics:revenue"), 'attachment; filename="mrr-movements.csv"'),
        (
            reverse("analytics:location-detail", args=["Loc0002"]),
            'attachment; filename="score-history-sub-0002.csv"',
        ),
        (
            # Not plain ASCII: the RFC 5987 form carries the name's own letters.
            reverse("analytics:location-detail", args=["Loc0001"]),
            "attachment; filename*=utf-8''score-history-caf%C3%A9-z%C3%BCrich-1.csv",
        ),
    ]:
        response = client.get(url + "?format=csv")
        assert response.status_code == 200, url
        assert response["Content-Disposition"] == expected
        assert "Loc000" not in response["Content-Disposition"]
