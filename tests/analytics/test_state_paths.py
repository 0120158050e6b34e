"""The precomputed whole-portfolio figures equal what the per-sub-account path computes.

An owner reads PortfolioState; a person restricted to a list of sub-accounts gets the same
figures aggregated from the sub-accounts' rows. Restricted to every sub-account, both must agree.
"""

import re
from datetime import timedelta

import pytest
from django.test import Client

from analytics.ingest import LocationDayFacts, record_location_day
from analytics.pipeline import refresh_agency_days
from tests.analytics.conftest import TODAY, build_portfolio

IDS = [f"Loc{i:04d}" for i in range(6)]


def _numbers(html: str, start: str, end: str) -> list[str]:
    part = html[html.index(start) : html.index(end, html.index(start))]
    # Numbers, and times as the logins page shows them ("1 h 40 min").
    return re.findall(r">\s*([+\-]?[\d,.]+(?: h \d\d min| min)?)\s*<", part)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "start", "end"),
    [
        ("/app/", 'class="tiles"', "</section>"),
        ("/app/", "Numbers</summary>", "</details>"),
        ("/app/logins/", "<h2>Tiers</h2>", "</section>"),
        ("/app/logins/", "<h2>Sessions per day</h2>", "</section>"),
        ("/app/at-risk/", "<table", "</table>"),
        ("/app/logins/", "<h2>Time per feature</h2>", "</section>"),
        ("/app/revenue/", "Monthly movements", "</table>"),
        ("/app/adoption/", "Portfolio adoption per feature", "</table>"),
    ],
)
def test_owner_figures_match_those_of_a_person_restricted_to_every_sub_account(
    personas, login, make_user, url, start, end
):
    agency = personas["agency_a"]
    build_portfolio(agency, len(IDS), days=70)
    owner_html = login(personas["owner_a"]).get(url).content.decode()
    person = make_user(agency, role="location")
    restricted = login(person, test_client=Client(), location_ids=IDS)
    person_html = restricted.get(url).content.decode()
    assert _numbers(owner_html, start, end) == _numbers(person_html, start, end)
    assert _numbers(owner_html, start, end)  # the comparison saw numbers


def _text(html: str, start: str, end: str) -> str:
    part = html[html.index(start) : html.index(end, html.index(start))]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))


@pytest.mark.django_db
def test_owner_sees_the_same_alerts_and_at_risk_rows_as_a_person_restricted_to_all(
    personas, login, make_user
):
    agency = personas["agency_a"]
    build_portfolio(agency, len(IDS), days=70)
    # Two sub-accounts fall past due this week: each raises a new-flag alert.
    for loc in ("Loc0001", "Loc0002"):
        for k in range(3):
            record_location_day(
                agency.pk,
                loc,
                TODAY - timedelta(days=k),
                LocationDayFacts(subscription_status="past_due"),
            )
    refresh_agency_days(agency.pk, TODAY - timedelta(days=6), TODAY)
    person = make_user(agency, role="location")
    owner = login(personas["owner_a"])
    restricted = login(person, test_client=Client(), location_ids=IDS)
    owner_html, person_html = (c.get("/app/").content.decode() for c in (owner, restricted))
    alerts = _text(owner_html, "<h2>Alerts this week</h2>", "</section>")
    assert alerts == _text(person_html, "<h2>Alerts this week</h2>", "</section>")
    assert "Sub 0001" in alerts and "Sub 0002" in alerts
    owner_html, person_html = (c.get("/app/at-risk/").content.decode() for c in (owner, restricted))
    rows = _text(owner_html, "<table", "</table>")
    assert rows == _text(person_html, "<table", "</table>")
    assert "Sub 000" in rows
