"""The weekly digest: one email per owner/admin, the week's band drops and new flags, only on
plans that include it, no end-customer data; and the beat entry that sends it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command

from accounts.models import Location
from analytics.ingest import LocationDayFacts, record_location_day
from analytics.models import Alert
from analytics.pipeline import refresh_agency_days
from billing.accounts import account_for
from billing.models import BillingAccount
from tests.analytics.conftest import TODAY

NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)  # 13:00 in Chicago, the agencies' timezone


def portfolio_with_a_payment_failure(agency):
    """Two sub-accounts; "Harbor Dental" goes past due two days before TODAY."""
    Location.objects.create(agency=agency, ghl_id="LocHarbor", name="Harbor Dental")
    Location.objects.create(agency=agency, ghl_id="LocCalm", name="Calm Yoga")
    for k in range(40):
        day = TODAY - timedelta(days=k)
        for loc, status in (
            ("LocHarbor", "past_due" if k < 2 else "active"),
            ("LocCalm", "active"),
        ):
            record_location_day(
                agency.pk,
                loc,
                day,
                LocationDayFacts(
                    users_total=2,
                    workflows_published=1,
                    subscription_status=status,
                    mrr_cents=9700,
                    mrr_currency="USD",
                ),
            )
    refresh_agency_days(agency.pk, TODAY - timedelta(days=9), TODAY)
    # A band drop from the same week (written as the pipeline writes them).
    Alert.objects.create(
        agency_id=agency.pk,
        location_ghl_id="LocCalm",
        day=TODAY - timedelta(days=3),
        kind=Alert.KIND_BAND_DROP,
        message="Score fell to 48: Healthy → Steady",
    )
    # Older than the week: left out.
    Alert.objects.create(
        agency_id=agency.pk,
        location_ghl_id="LocCalm",
        day=TODAY - timedelta(days=9),
        kind=Alert.KIND_BAND_DROP,
        message="Score fell to 20: Steady → At risk",
    )


@pytest.fixture
def digest_agency(personas, make_user):
    agency = personas["agency_a"]
    admin = make_user(agency, role="admin", email="admin@brightpath.example")
    make_user(agency, role="admin", email="gone@brightpath.example", deleted=True)
    portfolio_with_a_payment_failure(agency)
    return agency, [personas["owner_a"].email, admin.email]


@pytest.mark.django_db
def test_send_digest_emails_each_owner_and_admin_once_with_the_weeks_alerts(
    digest_agency, personas, mailoutbox
):
    _agency, expected = digest_agency
    with time_machine.travel(NOW, tick=False):
        call_command("send_digest")
    assert sorted(m.to[0] for m in mailoutbox) == sorted(expected)
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mailoutbox)
    body = mailoutbox[0].body
    html = mailoutbox[0].alternatives[0][0]
    assert "Harbor Dental: Past due / payment failed: Subscription is past due" in body
    assert "Calm Yoga: Score fell to 48: Healthy → Steady" in body
    assert "Steady → At risk" not in body  # 9 days old
    assert "Harbor Dental" in html and "Healthy → Steady" in html
    assert mailoutbox[0].subject == "GoCSM weekly digest: BrightPath Agency"
    # Agency B has no alerts and nothing at risk: no email for it.
    assert personas["owner_b"].email not in {m.to[0] for m in mailoutbox}


@pytest.mark.django_db
def test_digest_contains_no_end_customer_data(digest_agency, mailoutbox):
    with time_machine.travel(NOW, tick=False):
        call_command("send_digest")
    for message in mailoutbox:
        for text in (message.body, message.alternatives[0][0]):
            assert "@" not in text  # no email address of anyone, customer or colleague
            assert "contact" not in text.lower()


@pytest.mark.django_db
def test_digest_skips_agencies_whose_plan_excludes_digests(digest_agency, mailoutbox):
    agency, _ = digest_agency
    account = account_for(agency)
    account.plan, account.status = "starter", BillingAccount.ACTIVE  # no digest_emails
    account.save()
    with time_machine.travel(NOW, tick=False):
        call_command("send_digest")
    assert mailoutbox == []


@pytest.mark.django_db
def test_digest_skips_uninstalled_agencies(digest_agency, mailoutbox):
    agency, _ = digest_agency
    agency.is_installed = False
    agency.save()
    with time_machine.travel(NOW, tick=False):
        call_command("send_digest")
    assert mailoutbox == []


def test_beat_sends_the_digest_every_monday():
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-email-analytics-digest-to-owners-and-admins"]
    assert entry["task"] == "analytics.tasks.send_weekly_digests"
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.day_of_week == {1}
    assert schedule.hour == {settings.ANALYTICS_DIGEST_HOUR_UTC}
