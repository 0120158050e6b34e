"""Plan gating of the number of sub-accounts analysed (billing.plans Features.max_locations).

The plan analyses the first N sub-accounts by MRR (highest first), then name; the others are
left out of every list, tile and the digest, and the overview says how many and where to fix it.
"""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from analytics.models import PortfolioState
from billing.accounts import account_for
from billing.models import BillingAccount
from tests.analytics.conftest import build_portfolio


def on_plan(agency, plan):
    account = account_for(agency)
    account.plan, account.status = plan, BillingAccount.ACTIVE
    account.save()


@pytest.mark.django_db
def test_starter_plan_analyses_the_25_highest_mrr_sub_accounts(personas, login):
    agency = personas["agency_a"]
    on_plan(agency, "starter")  # max_locations=25
    build_portfolio(agency, 30, days=3)  # MRR rises with the number: Loc0005..Loc0029 analysed
    body = login(personas["owner_a"]).get("/app/").content.decode()
    assert "Your plan analyses 25 of your 30 sub-accounts" in body
    assert "5 sub-accounts are not analysed" in body
    assert 'href="/billing/"' in body
    assert "Sub 0029" in body and "Sub 0005" in body
    assert "Sub 0004" not in body and "Sub 0000" not in body
    state = PortfolioState.objects.for_agency(agency.pk).get()
    assert (state.locations, state.limit_applied) == (30, 25)


@pytest.mark.django_db
def test_non_owners_are_told_whom_to_ask(personas, login):
    on_plan(personas["agency_a"], "starter")
    build_portfolio(personas["agency_a"], 30, days=3)
    body = login(personas["user_a"]).get("/app/").content.decode()
    assert "5 sub-accounts are not analysed" in body
    assert "Ask your agency owner to upgrade the plan" in body


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/app/at-risk/", "/app/adoption/", "/app/logins/"])
def test_every_list_leaves_the_unanalysed_sub_accounts_out(personas, login, url):
    on_plan(personas["agency_a"], "starter")
    build_portfolio(personas["agency_a"], 30, days=3)
    body = login(personas["owner_a"]).get(url).content.decode()
    assert "Sub 0004" not in body
    assert "not analysed" in body


@pytest.mark.django_db
def test_plan_change_applies_at_once_before_the_next_recompute(personas, login):
    agency = personas["agency_a"]
    on_plan(agency, "scale")
    build_portfolio(agency, 30, days=3)
    client = login(personas["owner_a"])
    assert "not analysed" not in client.get("/app/").content.decode()
    on_plan(agency, "starter")
    body = Client().get("/app/").content.decode()  # anonymous: 401, proves nothing leaks
    assert "Sub 00" not in body
    body = login(personas["owner_a"], test_client=Client()).get("/app/").content.decode()
    assert "5 sub-accounts are not analysed" in body
    assert "Sub 0004" not in body


@pytest.mark.django_db
def test_unlimited_plan_shows_every_sub_account_without_a_notice(personas, login):
    on_plan(personas["agency_a"], "scale")
    build_portfolio(personas["agency_a"], 30, days=3)
    response = login(personas["owner_a"]).get("/app/?sort=name")
    body = response.content.decode()
    assert "not analysed" not in body
    assert "Sub 0000" in body


@pytest.mark.django_db
def test_detail_of_an_unanalysed_sub_account_hides_its_analysis(personas, login):
    on_plan(personas["agency_a"], "starter")
    build_portfolio(personas["agency_a"], 30, days=3)
    client = login(personas["owner_a"])
    body = client.get("/app/locations/Loc0001/").content.decode()
    assert "This sub-account is not analysed" in body
    assert "Score history" not in body
    analysed = client.get("/app/locations/Loc0029/").content.decode()
    assert "Score history" in analysed and "not analysed" not in analysed


@pytest.mark.django_db
def test_digest_lists_only_analysed_sub_accounts(personas, mailoutbox, monkeypatch):
    agency = personas["agency_a"]
    on_plan(agency, "growth")  # digests included
    build_portfolio(agency, 8, days=40)  # Loc0000 and Loc0004 are past due (i % 4 == 0)
    at = datetime(2026, 3, 31, 18, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        call_command("send_digest")
    assert "Sub 0000" in mailoutbox[0].body and "Sub 0004" in mailoutbox[0].body
    mailoutbox.clear()
    # A plan analysing 7: Loc0000 has the lowest MRR and is left out.
    monkeypatch.setattr("analytics.planlimit._limit", lambda access: 7)
    with time_machine.travel(at, tick=False):
        call_command("send_digest")
    assert "Sub 0004" in mailoutbox[0].body
    assert "Sub 0000" not in mailoutbox[0].body
