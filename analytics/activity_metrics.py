"""Login-activity metrics derived from UserActivityDay (the tracker's daily totals), in SQL.

Agency staff (is_agency_staff) are counted apart from a sub-account's own users everywhere here.
A user counts as active on a day when that day's row has a session or any active minute.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from django.db.models import Count, Max, Q, Sum

from analytics.models import FEATURES, UserActivityDay

TIER_WINDOW_DAYS = 30
HEAVY, REGULAR, CASUAL, GHOSTING = "heavy", "regular", "casual", "ghosting"
_ACTIVE = Q(sessions__gt=0) | Q(minutes_total__gt=0)


def tier_for(days_active: int, window: int = TIER_WINDOW_DAYS) -> str:
    """Heavy >= 85 % of days active, Regular 50-84 %, Casual 20-49 %, Ghosting < 20 %."""
    share = Fraction(days_active, window) * 100
    if share >= 85:
        return HEAVY
    if share >= 50:
        return REGULAR
    if share >= 20:
        return CASUAL
    return GHOSTING


def _rows(agency_id: int, location_ghl_id: str | None):
    qs = UserActivityDay.objects.for_agency(agency_id)
    return qs.filter(location_ghl_id=location_ghl_id) if location_ghl_id else qs


def daily_activity(agency_id: int, location_ghl_id: str, start: date, end: date) -> list[dict]:
    """Per day in [start, end]: active users, logins (sessions) and minutes per feature of the
    sub-account's own users, plus staff users and staff logins apart. Days without rows are
    absent."""
    own = Q(is_agency_staff=False)
    staff = Q(is_agency_staff=True)
    minutes = {f"minutes_{f}": Sum(f"minutes_{f}", filter=own, default=0) for f in FEATURES}
    return list(
        _rows(agency_id, location_ghl_id)
        .filter(day__gte=start, day__lte=end)
        .values("day")
        .annotate(
            active_users=Count("user_ghl_id", filter=own & _ACTIVE, distinct=True),
            logins=Sum("sessions", filter=own, default=0),
            staff_users=Count("user_ghl_id", filter=staff & _ACTIVE, distinct=True),
            staff_logins=Sum("sessions", filter=staff, default=0),
            minutes_total=Sum("minutes_total", filter=own, default=0),
            **minutes,
        )
        .order_by("day")
    )


def last_seen(
    agency_id: int, location_ghl_id: str | None = None, *, include_staff: bool = False
) -> dict[str, date]:
    """Each user's last active day (in one sub-account, or anywhere in the agency)."""
    qs = _rows(agency_id, location_ghl_id).filter(_ACTIVE)
    if not include_staff:
        qs = qs.filter(is_agency_staff=False)
    latest = qs.values("user_ghl_id").annotate(last=Max("day"))
    return dict(latest.values_list("user_ghl_id", "last"))


def tiers_for_location(
    agency_id: int,
    location_ghl_id: str,
    as_of: date,
    *,
    user_ids: list[str] | None = None,
    include_staff: bool = False,
) -> dict[str, str]:
    """Each user's tier over the 30 days ending on `as_of` (inclusive).

    Users with activity in the window are listed; pass `user_ids` (e.g. the sub-account's synced
    users) to list people with no activity at all too, as Ghosting.
    """
    start = as_of - timedelta(days=TIER_WINDOW_DAYS - 1)
    qs = _rows(agency_id, location_ghl_id).filter(_ACTIVE, day__gte=start, day__lte=as_of)
    if not include_staff:
        qs = qs.filter(is_agency_staff=False)
    days = dict(
        qs.values("user_ghl_id")
        .annotate(days=Count("day", distinct=True))
        .values_list("user_ghl_id", "days")
    )
    for user in user_ids or ():
        days.setdefault(user, 0)
    return {user: tier_for(n) for user, n in days.items()}
