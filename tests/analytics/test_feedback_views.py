"""The feedback page, its CSV, and switching the NPS prompt (one sub-account, in bulk, the wait):
figures as analytics.nps defines them, tenant-scoped, owner/admin only where they change data."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Location
from analytics.agencyclock import agency_today
from analytics.models import NpsOptIn, NpsResponse, SentimentSettings


@pytest.fixture
def portfolio(personas):
    a, b = personas["agency_a"], personas["agency_b"]
    for agency, ghl_id, name in (
        (a, "LocLombardi", "Lombardi Dental"),
        (a, "LocAlvarez", "Alvarez Salon"),
        (a, "LocQuiet", "Quiet Co"),
        (b, "LocNorth", "North Only"),
    ):
        Location.objects.create(agency=agency, ghl_id=ghl_id, name=name)
    today = agency_today(a)

    def answer(agency, loc, user, rating, days_ago=0, comment="", name="", outcome=None):
        NpsResponse.objects.create(
            agency_id=agency.pk,
            location_ghl_id=loc,
            user_ghl_id=user,
            user_name=name,
            outcome=outcome or ("dismissed" if rating is None else "answered"),
            rating=rating,
            comment=comment,
            day=today - timedelta(days=days_ago),
        )

    # Lombardi: a detractor and a passive; Alvarez: two promoters and one dismissal.
    answer(a, "LocLombardi", "U1", 3, 2, '=HYPERLINK("x") reminders broke', "Maria Lombardi")
    answer(a, "LocLombardi", "U2", 8, 40, "", "Tony Lombardi")
    answer(a, "LocAlvarez", "U3", 10, 1, "Love the reports", "Rosa Alvarez")
    answer(a, "LocAlvarez", "U4", 9, 1, "", "Luis Alvarez")
    answer(a, "LocAlvarez", "U5", None, 3, "", "Ana Alvarez")
    # Shown to Lombardi's third person, who went away without answering.
    answer(a, "LocLombardi", "U7", None, 5, "", "Gio Lombardi", outcome="asked")
    # Older than the default 180 days: not in the default period.
    answer(a, "LocQuiet", "U6", 0, 200, "ancient", "Old Timer")
    # Another agency's answer never shows.
    answer(b, "LocNorth", "U9", 0, 1, "SECRET-OF-NORTHSTAR", "North Person")
    NpsOptIn.objects.create(agency_id=a.pk, location_ghl_id="LocLombardi")
    return {"today": today}


def test_the_feedback_page_gives_portfolio_and_per_sub_account_nps(personas, login, portfolio):
    response = login(personas["user_a"]).get(reverse("analytics:feedback"))
    assert response.status_code == 200
    ctx = response.context
    p = ctx["portfolio"]
    # 6 prompts: 4 answers (2 promoters, 1 passive, 1 detractor), 1 dismissal, 1 unanswered.
    assert (p.answers, p.promoter, p.passive, p.detractor) == (4, 2, 1, 1)
    assert (p.dismissed, p.unanswered, p.prompts) == (1, 1, 6)
    # NPS = 100 * (2 - 1) / 4 = 25; shares of the 4 answers: 50 %, 25 %, 25 %.
    assert (p.nps, p.promoter_share, p.passive_share, p.detractor_share) == (25, 50, 25, 25)
    # Response rate = answers / prompts = 4 / 6 = 66.7 -> 67 %.
    assert p.response_rate == 67
    rows = {r["name"]: r for r in ctx["locations"]}
    # Lombardi: (0 - 1) / 2 = -50, 2 of 3 prompts answered; Alvarez: (2 - 0) / 2 = +100, 2 of 3.
    assert rows["Lombardi Dental"]["t"].nps == -50 and rows["Lombardi Dental"]["on"] is True
    assert rows["Lombardi Dental"]["t"].response_rate == 67
    assert rows["Alvarez Salon"]["t"].nps == 100
    assert rows["Alvarez Salon"]["t"].response_rate == 67
    # Quiet Co has no answer in the period and the prompt off: not listed.
    assert "Quiet Co" not in rows
    body = response.content.decode()
    assert "Maria Lombardi" in body and "reminders broke" in body
    assert "SECRET-OF-NORTHSTAR" not in body and "ancient" not in body
    assert 'href="/app/feedback/"' in body  # the nav entry
    # Months without answers say so rather than showing 0.
    assert "No answers" in body


def test_filters_narrow_the_list_and_bad_or_foreign_filters_are_400(personas, login, portfolio):
    client = login(personas["owner_a"])
    url = reverse("analytics:feedback")
    only = client.get(url, {"location": "LocLombardi", "category": "detractor"})
    assert [r["who"] for r in only.context["page"]] == ["Maria Lombardi"]
    # The figures follow the sub-account, not the category.
    assert only.context["portfolio"].answers == 2
    unanswered = client.get(url, {"category": "unanswered"})
    assert [r["who"] for r in unanswered.context["page"]] == ["Gio Lombardi"]
    dismissed = client.get(url, {"category": "dismissed"})
    assert [r["who"] for r in dismissed.context["page"]] == ["Ana Alvarez"]
    old = client.get(url, {"since": (portfolio["today"] - timedelta(days=400)).isoformat()})
    assert "Old Timer" in [r["who"] for r in old.context["page"]]
    for bad in (
        {"location": "LocNorth"},  # another agency's sub-account
        {"category": "angry"},
        {"since": "yesterday"},
        {"since": "2026-05-02", "until": "2026-05-01"},
    ):
        assert client.get(url, bad).status_code == 400, bad


def test_the_csv_has_who_when_rating_and_safe_comments(personas, login, portfolio):
    response = login(personas["owner_a"]).get(reverse("analytics:feedback"), {"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["day", "sub_account", "person", "rating", "category", "comment"]
    by_person = {r[2]: r for r in rows[1:]}
    assert set(by_person) == {
        "Gio Lombardi",
        "Maria Lombardi",
        "Tony Lombardi",
        "Rosa Alvarez",
        "Luis Alvarez",
        "Ana Alvarez",
    }
    maria = by_person["Maria Lombardi"]
    assert maria[1:5] == ["Lombardi Dental", "Maria Lombardi", "3", "detractor"]
    assert maria[5].startswith("'=HYPERLINK")  # a spreadsheet does not run it
    assert by_person["Ana Alvarez"][3:5] == ["", "dismissed"]
    assert by_person["Gio Lombardi"][3:5] == ["", "unanswered"]


def test_an_agency_without_answers_is_told_how_to_start(personas, login):
    response = login(personas["owner_b"]).get(reverse("analytics:feedback"))
    assert response.status_code == 200
    assert response.context["portfolio"].nps is None
    assert "No feedback yet" in response.content.decode()


def test_the_owner_switches_the_prompt_on_a_sub_account_page(personas, login, portfolio):
    agency = personas["agency_a"]
    client = login(personas["owner_a"])
    page = client.get(reverse("analytics:location-detail", args=["LocAlvarez"]))
    assert "The NPS prompt is <strong>off</strong>" in page.content.decode()
    url = reverse("analytics:location-nps", args=["LocAlvarez"])
    assert client.post(url, {"nps": "on"}).status_code == 302
    assert NpsOptIn.objects.for_agency(agency).filter(location_ghl_id="LocAlvarez").exists()
    assert client.post(url, {"nps": "maybe"}).status_code == 400
    assert client.post(url, {"nps": "off"}).status_code == 302
    assert not NpsOptIn.objects.for_agency(agency).filter(location_ghl_id="LocAlvarez").exists()
    assert (
        AuditEvent.objects.filter(agency=agency, action="analytics.nps_prompt_switched").count()
        == 2
    )
    # Not for a plain user, nor another agency's sub-account.
    assert login(personas["user_a"]).post(url, {"nps": "on"}).status_code == 403
    other = reverse("analytics:location-nps", args=["LocNorth"])
    assert login(personas["owner_a"]).post(other, {"nps": "on"}).status_code == 404
    assert not NpsOptIn.objects.all_agencies().filter(location_ghl_id="LocNorth").exists()


def test_bulk_switching_and_the_wait_on_the_settings_page(personas, login, portfolio):
    agency = personas["agency_a"]
    client = login(personas["owner_a"])
    page = client.get(reverse("analytics:settings"))
    assert page.context["nps_ask_every_days"] == 90
    url = reverse("analytics:nps-settings")

    def on():
        return set(NpsOptIn.objects.for_agency(agency).values_list("location_ghl_id", flat=True))

    assert client.post(url, {"ask_every_days": "60", "all": "on"}).status_code == 302
    assert on() == {"LocLombardi", "LocAlvarez", "LocQuiet"}
    assert SentimentSettings.objects.for_agency(agency).get().ask_every_days == 60
    resp = client.post(url, {"ask_every_days": "60", "locations": ["LocQuiet", "LocAlvarez"]})
    assert resp.status_code == 302
    assert on() == {"LocAlvarez", "LocQuiet"}
    # Bad input changes nothing.
    for bad in (
        {"ask_every_days": "3", "all": "on"},
        {"ask_every_days": "abc", "all": "on"},
        {"ask_every_days": "60", "all": "maybe"},
    ):
        assert client.post(url, bad).status_code == 400, bad
    assert client.post(url, {"ask_every_days": "60", "locations": ["LocNorth"]}).status_code == 404
    assert (
        client.post(
            url, {"ask_every_days": "30", "locations": ["LocLombardi", "LocNorth"]}
        ).status_code
        == 404
    )
    assert on() == {"LocAlvarez", "LocQuiet"}
    assert SentimentSettings.objects.for_agency(agency).get().ask_every_days == 60
    assert (
        login(personas["user_a"]).post(url, {"ask_every_days": "60", "all": "off"}).status_code
        == 403
    )
    client = login(personas["owner_a"])
    assert client.post(url, {"ask_every_days": "60", "all": "off"}).status_code == 302
    assert on() == set()
    # The other agency's switches were never touched.
    assert not NpsOptIn.objects.for_agency(personas["agency_b"]).exists()


def test_a_person_restricted_to_some_sub_accounts_sees_only_their_feedback(
    personas, login, make_user, portfolio
):
    agency = personas["agency_a"]
    restricted = make_user(agency, restrict_sub_account=True, location_ids=["LocLombardi"])
    client = login(restricted, location_ids=["LocLombardi"])
    response = client.get(reverse("analytics:feedback"))
    assert response.status_code == 200
    assert {r["sub_account"] for r in response.context["page"]} == {"Lombardi Dental"}
    assert response.context["portfolio"].answers == 2
    assert "Rosa Alvarez" not in response.content.decode()
    # Another of the agency's sub-accounts, asked for by name, is not theirs to filter on.
    assert client.get(reverse("analytics:feedback"), {"location": "LocAlvarez"}).status_code == 400


def test_a_sub_accounts_own_people_never_see_the_agencys_feedback_or_churn_pages(
    personas, login, make_user, portfolio
):
    # The agency's clients' staff answering about the agency must not read their colleagues'
    # answers, nor the agency's churn model about them.
    own = make_user(
        personas["agency_a"], role="location", ghl_type="account", location_ids=["LocLombardi"]
    )
    client = login(own)
    assert client.get(reverse("analytics:feedback")).status_code == 403
    assert client.get(reverse("analytics:feedback"), {"format": "csv"}).status_code == 403
    assert client.get(reverse("analytics:churn")).status_code == 403
    menu = client.get(reverse("analytics:overview")).content.decode()
    assert reverse("analytics:feedback") not in menu
    assert reverse("analytics:churn") not in menu
    assert "Churn (90 d)" not in menu and "churn-status" not in menu
    page = client.get(reverse("analytics:location-detail", args=["LocLombardi"]))
    assert page.status_code == 200
    assert "Churn (90 d)" not in page.content.decode()
    # The agency's own people still see it (here: why there is no prediction yet).
    assert (
        "churn-status"
        in login(personas["owner_a"]).get(reverse("analytics:overview")).content.decode()
    )


def test_the_default_period_starts_at_the_agencys_first_prompt(personas, login):
    """Months before the prompt existed would fill the chart and table with empty months; another
    agency's older prompts do not move the start, and an explicit start is kept."""
    a, b = personas["agency_a"], personas["agency_b"]
    Location.objects.create(agency=a, ghl_id="LocNew", name="New Prompt Co")
    Location.objects.create(agency=b, ghl_id="LocOld", name="Old Prompt Co")
    today = agency_today(a)
    for agency, loc, days_ago in ((a, "LocNew", 40), (a, "LocNew", 3), (b, "LocOld", 150)):
        NpsResponse.objects.create(
            agency_id=agency.pk,
            location_ghl_id=loc,
            user_ghl_id="U1",
            outcome="answered",
            rating=9,
            day=today - timedelta(days=days_ago),
        )
    client = login(personas["owner_a"])
    response = client.get(reverse("analytics:feedback"))
    assert response.context["since"] == today - timedelta(days=40)
    assert response.context["until"] == today
    months = [m for m, _t in response.context["months"]]
    assert min(months) == (today - timedelta(days=40)).replace(day=1)
    chosen = today - timedelta(days=100)
    again = client.get(reverse("analytics:feedback"), {"since": chosen.isoformat()})
    assert again.context["since"] == chosen
