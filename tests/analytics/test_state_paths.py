"""The precomputed whole-portfolio figures equal what the per-sub-account path computes.

An owner reads PortfolioState; a person restricted to a list of sub-accounts gets the same
figures aggregated from the sub-accounts' rows. Restricted to every sub-account, both must agree.
"""

import re

import pytest
from django.test import Client

from tests.analytics.conftest import build_portfolio

IDS = [f"Loc{i:04d}" for i in range(6)]


def _numbers(html: str, start: str, end: str) -> list[str]:
    part = html[html.index(start) : html.index(end, html.index(start))]
    return re.findall(r">\s*([+\-]?[\d,.]+)\s*<", part)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "start", "end"),
    [
        ("/app/", 'class="tiles"', "</section>"),
        ("/app/", "Numbers</summary>", "</details>"),
        ("/app/logins/", "<h2>Tiers</h2>", "</section>"),
        ("/app/logins/", "<h2>Minutes per feature</h2>", "</section>"),
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
