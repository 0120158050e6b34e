from datetime import date, datetime

import pytest

from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.models import LocationDayFact, UserActivityDay

DAY = date(2026, 3, 2)


def facts_rows(agency_id):
    return list(
        LocationDayFact.objects.for_agency(agency_id).values().order_by("location_ghl_id", "day")
    )


def test_same_facts_twice_leave_one_identical_row(db):
    facts = LocationDayFacts(
        users_total=4, workflows_published=2, mrr_cents=9700, mrr_currency="usd"
    )
    assert record_location_day(1, "LocA", DAY, facts) is True
    first = facts_rows(1)
    assert record_location_day(1, "LocA", DAY, facts) is False
    assert facts_rows(1) == first
    assert len(first) == 1
    assert first[0]["mrr_currency"] == "USD"


def test_fields_left_none_keep_their_stored_value(db):
    record_location_day(1, "LocA", DAY, LocationDayFacts(users_total=4, calendars_total=3))
    assert record_location_day(1, "LocA", DAY, LocationDayFacts(users_total=5)) is True
    row = LocationDayFact.objects.for_agency(1).get(location_ghl_id="LocA", day=DAY)
    assert (row.users_total, row.calendars_total, row.products_total) == (5, 3, None)


def test_agencies_do_not_share_rows(db):
    record_location_day(1, "LocA", DAY, LocationDayFacts(users_total=4))
    record_location_day(2, "LocA", DAY, LocationDayFacts(users_total=9))
    assert LocationDayFact.objects.for_agency(1).get().users_total == 4
    assert LocationDayFact.objects.for_agency(2).get().users_total == 9


@pytest.mark.parametrize(
    ("args", "facts"),
    [
        ((0, "LocA", DAY), LocationDayFacts()),
        ((1, "bad id!", DAY), LocationDayFacts()),
        ((1, "LocA", datetime(2026, 3, 2, 10)), LocationDayFacts()),
        ((1, "LocA", DAY), LocationDayFacts(users_total=-1)),
        ((1, "LocA", DAY), LocationDayFacts(subscription_status="gold")),
        ((1, "LocA", DAY), LocationDayFacts(mrr_currency="dollars")),
        ((1, "LocA", DAY), LocationDayFacts(users_total=True)),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(db, args, facts):
    with pytest.raises(ValueError, match="must"):
        record_location_day(*args, facts)
    assert LocationDayFact.objects.all_agencies().count() == 0


def test_activity_flush_sets_totals_instead_of_adding(db):
    minutes = {"conversations": 12, "automation": 3, "mystery": 2}
    record_user_activity_day(1, "LocA", "UserX", DAY, 2, minutes, False)
    record_user_activity_day(1, "LocA", "UserX", DAY, 2, minutes, False)
    row = UserActivityDay.objects.for_agency(1).get()
    assert row.sessions == 2
    assert row.minutes_conversations == 12
    assert row.minutes_workflows == 3
    assert row.minutes_other == 2
    assert row.minutes_total == 17
    record_user_activity_day(1, "LocA", "UserX", DAY, 3, {"conversations": 20}, False)
    row.refresh_from_db()
    assert (row.sessions, row.minutes_conversations, row.minutes_workflows) == (3, 20, 0)


def test_staff_activity_is_kept_apart(db):
    record_user_activity_day(1, "LocA", "Staff1", DAY, 1, {}, True)
    assert UserActivityDay.objects.for_agency(1).get().is_agency_staff is True


def test_bad_activity_is_refused(db):
    with pytest.raises(ValueError, match="must"):
        record_user_activity_day(1, "LocA", "UserX", DAY, -1, {}, False)
    with pytest.raises(ValueError, match="must"):
        record_user_activity_day(1, "LocA", "UserX", DAY, 1, {"calendars": -5}, False)
    assert UserActivityDay.objects.all_agencies().count() == 0


@pytest.mark.services
def test_upsert_is_idempotent_on_postgresql(db):
    facts = LocationDayFacts(users_total=1, subscription_status="active")
    record_location_day(3, "LocP", DAY, facts)
    record_location_day(3, "LocP", DAY, facts)
    assert LocationDayFact.objects.for_agency(3).count() == 1
