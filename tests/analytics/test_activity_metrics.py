from datetime import date, timedelta

import pytest

from analytics.activity_metrics import (
    CASUAL,
    GHOSTING,
    HEAVY,
    REGULAR,
    daily_activity,
    last_seen,
    tier_for,
    tiers_for_location,
)
from analytics.ingest import record_user_activity_day

AS_OF = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("days", "tier"),
    [
        (30, HEAVY),
        (26, HEAVY),
        (25, REGULAR),
        (15, REGULAR),
        (14, CASUAL),
        (6, CASUAL),
        (5, GHOSTING),
        (0, GHOSTING),
    ],
)
def test_tier_boundaries_follow_the_share_of_days_active(days, tier):
    assert tier_for(days) == tier


def active_on(user, days, *, staff=False, location="LocA", agency=1):
    for n in days:
        record_user_activity_day(
            agency, location, user, AS_OF - timedelta(days=n), 1, {"contacts": 5}, staff
        )


def test_tiers_count_distinct_active_days_in_the_30_day_window(db):
    active_on("UHeavy", range(26))
    active_on("URegular", range(15))
    active_on("UCasual", range(6))
    active_on("UGhost", range(5))
    active_on("UOld", range(30, 60))  # all before the window
    active_on("UStaff", range(30), staff=True)
    active_on("UElsewhere", range(30), location="LocB")
    tiers = tiers_for_location(1, "LocA", AS_OF, user_ids=["UNever", "UHeavy"])
    assert tiers == {
        "UHeavy": HEAVY,
        "URegular": REGULAR,
        "UCasual": CASUAL,
        "UGhost": GHOSTING,
        "UNever": GHOSTING,
    }
    assert tiers_for_location(1, "LocA", AS_OF, include_staff=True)["UStaff"] == HEAVY
    assert tiers_for_location(2, "LocA", AS_OF) == {}


def test_last_seen_is_the_latest_active_day_and_ignores_zero_rows(db):
    active_on("U1", [3, 10])
    record_user_activity_day(1, "LocA", "U1", AS_OF, 0, {}, False)
    active_on("U2", [0], location="LocB")
    assert last_seen(1, "LocA") == {"U1": AS_OF - timedelta(days=3)}
    assert last_seen(1) == {"U1": AS_OF - timedelta(days=3), "U2": AS_OF}


def test_daily_activity_counts_own_users_and_staff_apart(db):
    day = AS_OF
    record_user_activity_day(1, "LocA", "U1", day, 2, {"contacts": 5, "dashboard": 1}, False)
    record_user_activity_day(1, "LocA", "U2", day, 1, {"contacts": 3}, False)
    record_user_activity_day(1, "LocA", "S1", day, 4, {"settings": 9}, True)
    (row,) = daily_activity(1, "LocA", day, day)
    assert (row["active_users"], row["logins"], row["staff_users"], row["staff_logins"]) == (
        2,
        3,
        1,
        4,
    )
    assert (row["minutes_contacts"], row["minutes_dashboard"], row["minutes_settings"]) == (8, 1, 0)
    assert row["minutes_total"] == 9
