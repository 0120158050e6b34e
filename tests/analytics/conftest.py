from datetime import date, timedelta

import pytest

from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.pipeline import refresh_agency_days

TODAY = date(2026, 3, 31)


def build_portfolio(agency, n_locations: int, days: int = 60):
    """n sub-accounts with `days` days of facts and activity ending TODAY, then scored."""
    from accounts.models import Location

    Location.objects.bulk_create(
        [
            Location(agency=agency, ghl_id=f"Loc{i:04d}", name=f"Sub {i:04d}")
            for i in range(n_locations)
        ]
    )
    for i in range(n_locations):
        for k in range(days):
            day = TODAY - timedelta(days=k)
            record_location_day(
                agency.pk,
                f"Loc{i:04d}",
                day,
                LocationDayFacts(
                    users_total=3,
                    workflows_published=i % 3,
                    calendars_active=1,
                    appointments_booked=k % 2,
                    products_total=1,
                    conversations_created=2,
                    subscription_status="active" if i % 4 else "past_due",
                    mrr_cents=9700 + 100 * i,
                    mrr_currency="USD",
                ),
            )
            if (k + i) % 3 == 0:
                record_user_activity_day(
                    agency.pk, f"Loc{i:04d}", f"U{i}", day, 1, {"conversations": 5}, False
                )
    refresh_agency_days(agency.pk, TODAY - timedelta(days=days - 1), TODAY)


@pytest.fixture
def portfolio():
    return build_portfolio


@pytest.fixture
def eager_celery():
    """Tasks a view queues run inline (with REDIS_URL set, Celery would send them to a broker
    that no worker reads in these tests)."""
    from gocsm.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
