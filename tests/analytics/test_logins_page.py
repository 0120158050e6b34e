"""The logins page lists the quietest sub-accounts first and shows time as hours and minutes."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Location
from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.pipeline import refresh_agency_days
from analytics.templatetags.analytics_format import duration
from tests.analytics.conftest import TODAY


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (73_925, "1,232 h 05 min"),
        (13_779, "229 h 39 min"),
        (60, "1 h 00 min"),
        (59, "59 min"),
        (0, "0 min"),
        (None, "—"),
    ],
)
def test_minutes_read_as_hours_and_minutes(minutes, shown):
    assert duration(minutes) == shown


def _names(body: str) -> list[str]:
    table = body[body.index("<tbody>") : body.index("</tbody>")]
    return re.findall(r'<a href="/app/locations/[^"]+/">([^<]+)</a>', table)


def _sessions(client) -> dict[str, int]:
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    reverse("analytics:logins"), {"format": "csv", "sort": "name"}
                ).content.decode()
            )
        )
    )
    return {r[0]: int(r[4]) for r in rows[1:]}


@pytest.fixture
def busy_and_quiet(personas):
    """Five sub-accounts, named so that their alphabetical order is not their activity's."""
    agency = personas["agency_a"]
    per_day = {"Alpha": 4, "Bravo": 0, "Charlie": 9, "Delta": 1, "Echo": 2}
    for i, (name, n) in enumerate(per_day.items()):
        Location.objects.create(agency=agency, ghl_id=f"Loc{i}", name=name)
        for k in range(20):
            day = TODAY - timedelta(days=k)
            record_location_day(agency.pk, f"Loc{i}", day, LocationDayFacts(users_total=2))
            if n:
                record_user_activity_day(agency.pk, f"Loc{i}", f"U{i}", day, n, {"sites": n}, False)
    refresh_agency_days(agency.pk, TODAY - timedelta(days=19), TODAY)
    return personas


def test_quietest_first_by_default_and_busiest_on_request(busy_and_quiet, login):
    client = login(busy_and_quiet["owner_a"])
    sessions = _sessions(client)
    assert sessions == {"Alpha": 80, "Bravo": 0, "Charlie": 180, "Delta": 20, "Echo": 40}
    body = client.get(reverse("analytics:logins")).content.decode()
    assert _names(body) == ["Bravo", "Delta", "Echo", "Alpha", "Charlie"]
    assert '<option value="sessions" selected>Fewest sessions</option>' in body
    busiest = _names(
        client.get(reverse("analytics:logins"), {"sort": "-sessions"}).content.decode()
    )
    assert [sessions[n] for n in busiest] == sorted((sessions[n] for n in busiest), reverse=True)
    for sort in ("active", "-active", "minutes", "-minutes", "name"):
        assert client.get(reverse("analytics:logins"), {"sort": sort}).status_code == 200


def test_time_is_shown_in_hours_and_minutes_and_exported_in_minutes(personas, login, portfolio):
    portfolio(personas["agency_a"], 2, days=40)
    client = login(personas["owner_a"])
    body = client.get(reverse("analytics:logins")).content.decode()
    # Each sub-account's own users spent 5 minutes in conversations on 10 of the last 30 days.
    assert re.search(r'<td class="num">50 min</td>', body)
    assert 'conversations</td><td class="num">1 h 40 min</td>' in body
    rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("analytics:logins"), {"format": "csv"}).content.decode())
        )
    )
    assert rows[0][-1] == "minutes"
    assert sorted(r[-1] for r in rows[1:]) == ["50", "50"]
