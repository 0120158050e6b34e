"""Plan gating: full, grace and read-only access, the banner, and refusing writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from billing.accounts import account_for
from billing.context import billing_banner
from billing.gating import FULL, GRACE, READ_ONLY, access_for, refuse_writes_when_read_only
from billing.models import BillingAccount
from billing.plans import NO_FEATURES, features_for_plan, plan_for_price


def set_state(agency, **fields):
    account = account_for(agency)
    for key, value in fields.items():
        setattr(account, key, value)
    account.save()
    return account


def test_trial_gives_full_access_with_trial_features(personas, settings):
    access = access_for(personas["agency_a"], personas["owner_a"])
    assert access.mode == FULL
    assert access.features == features_for_plan(settings.BILLING_TRIAL_PLAN)
    assert not access.show_banner


def test_trial_ended_without_subscription_is_read_only(personas):
    set_state(personas["agency_a"], trial_end=timezone.now() - timedelta(minutes=1))
    access = access_for(personas["agency_a"], personas["owner_a"])
    assert access.mode == READ_ONLY
    assert access.features == NO_FEATURES
    assert "trial has ended" in access.banner


def test_trial_ends_after_trial_days(personas, settings):
    settings.TRIAL_DAYS = 14
    agency = personas["agency_a"]
    account_for(agency)
    with time_machine.travel(timezone.now() + timedelta(days=13, hours=23)):
        assert access_for(agency).mode == FULL
    with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1)):
        assert access_for(agency).mode == READ_ONLY


def test_active_subscription_gets_its_plan_features(personas):
    set_state(personas["agency_a"], status=BillingAccount.ACTIVE, plan="starter")
    access = access_for(personas["agency_a"])
    assert access.mode == FULL
    assert access.features.max_locations == 25
    assert not access.features.csv_export


def test_past_due_keeps_access_for_seven_days_then_turns_read_only(personas):
    agency = personas["agency_a"]
    failed_at = timezone.now()
    set_state(agency, status=BillingAccount.PAST_DUE, plan="growth", past_due_since=failed_at)
    with time_machine.travel(failed_at + timedelta(days=6, hours=23)):
        access = access_for(agency, personas["owner_a"])
        assert access.mode == GRACE
        assert access.features.csv_export
        assert "payment failed" in access.banner
    with time_machine.travel(failed_at + timedelta(days=7, minutes=1)):
        assert access_for(agency).mode == READ_ONLY


@pytest.mark.parametrize("status", [BillingAccount.CANCELED, BillingAccount.UNPAID])
def test_canceled_and_unpaid_are_read_only(personas, status):
    set_state(personas["agency_a"], status=status, plan="growth")
    assert access_for(personas["agency_a"]).mode == READ_ONLY


def test_banner_links_managers_to_billing(personas):
    set_state(personas["agency_a"], status=BillingAccount.CANCELED)
    access = access_for(personas["agency_a"], personas["owner_a"])
    assert access.can_manage_billing
    assert access.billing_url == "/billing/"


def test_banner_tells_others_whom_to_ask(personas):
    set_state(personas["agency_a"], status=BillingAccount.CANCELED)
    access = access_for(personas["agency_a"], personas["user_a"])
    assert not access.can_manage_billing
    assert access.billing_url == ""
    assert personas["owner_a"].name in access.banner
    assert personas["owner_b"].name not in access.banner


def test_unknown_plan_unlocks_nothing():
    assert plan_for_price("price_nobody_sells") is None
    assert plan_for_price("") is None
    assert features_for_plan("") == NO_FEATURES


def test_every_configured_price_maps_to_its_plan(settings):
    assert plan_for_price("price_growth_yearly").slug == "growth"
    assert plan_for_price("price_scale_m").features.max_locations is None


def _request(personas, method, user_key="user_a"):
    request = getattr(RequestFactory(), method)("/somewhere/")
    request.agency = personas["agency_a"]
    request.ghl_user = personas[user_key]
    return request


def test_writes_are_refused_with_402_in_read_only_mode(personas):
    set_state(personas["agency_a"], status=BillingAccount.CANCELED)
    view = refuse_writes_when_read_only(lambda request: HttpResponse("written"))
    response = view(_request(personas, "post"))
    assert response.status_code == 402
    assert b"written" not in response.content
    assert view(_request(personas, "get")).status_code == 200


def test_writes_pass_during_grace(personas):
    set_state(personas["agency_a"], status=BillingAccount.PAST_DUE, past_due_since=timezone.now())
    view = refuse_writes_when_read_only(lambda request: HttpResponse("written"))
    assert view(_request(personas, "post")).status_code == 200


def test_context_processor_and_partial_render_the_banner(personas):
    from django.template.loader import render_to_string

    set_state(personas["agency_a"], status=BillingAccount.UNPAID)
    context = billing_banner(_request(personas, "get", "owner_a"))
    html = render_to_string("billing/_banner.html", context)
    assert "read-only" in html
    assert 'href="/billing/"' in html
    context = billing_banner(_request(personas, "get", "user_a"))
    html = render_to_string("billing/_banner.html", context)
    assert "/billing/" not in html
    assert "Ask" in html


def test_context_processor_is_empty_without_a_session():
    request = RequestFactory().get("/")
    assert billing_banner(request) == {}
