"""The only write path into the daily facts (contract in HELPER_RULES.md, "Cross-team contracts").

Both functions are idempotent upserts keyed on (agency, sub-account, [user,] day): running a pull
or a counter flush twice leaves the same rows. Bad input raises ValueError before anything is
written.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, fields
from datetime import date, datetime

from django.utils import timezone as dj_tz

from analytics.models import (
    FEATURE_ALIASES,
    FEATURES,
    SUBSCRIPTION_STATUSES,
    LocationDayFact,
    UserActivityDay,
)

_GHL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX_COUNT = 2**31 - 1


@dataclass(frozen=True)
class LocationDayFacts:
    """One sub-account-day. None means "not measured this time": the stored value is kept."""

    users_total: int | None = None
    users_admin: int | None = None
    users_user: int | None = None
    workflows_total: int | None = None
    workflows_published: int | None = None
    workflows_draft: int | None = None
    workflows_created: int | None = None
    workflows_updated: int | None = None
    calendars_total: int | None = None
    calendars_active: int | None = None
    appointments_booked: int | None = None
    products_total: int | None = None
    conversations_total: int | None = None
    conversations_created: int | None = None
    conversations_inbound: int | None = None
    conversations_outbound: int | None = None
    saas_plan_id: str | None = None
    subscription_status: str | None = None
    mrr_cents: int | None = None
    mrr_currency: str | None = None


_FACT_FIELDS = tuple(f.name for f in fields(LocationDayFacts))
_TEXT_FIELDS = {"saas_plan_id", "subscription_status", "mrr_currency"}


def _check_key(agency_id: int, location_ghl_id: str, day: date) -> None:
    if not isinstance(agency_id, int) or isinstance(agency_id, bool) or agency_id <= 0:
        raise ValueError("agency_id must be a positive integer")
    if not isinstance(location_ghl_id, str) or not _GHL_ID.match(location_ghl_id):
        raise ValueError("location_ghl_id must be a GHL id (letters, digits, _ or -)")
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValueError("day must be a datetime.date in the agency's timezone")


def _count(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_COUNT:
        raise ValueError(f"{name} must be a non-negative integer")
    return value


def _clean_facts(facts: LocationDayFacts) -> dict:
    if not isinstance(facts, LocationDayFacts):
        raise ValueError("facts must be a LocationDayFacts")
    values = {}
    for name, value in dataclasses.asdict(facts).items():
        if value is None:
            continue
        if name == "mrr_cents":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError("mrr_cents must be a non-negative integer")
        elif name == "subscription_status":
            if value not in SUBSCRIPTION_STATUSES:
                raise ValueError(f"subscription_status must be one of {SUBSCRIPTION_STATUSES}")
        elif name == "mrr_currency":
            value = str(value).upper()
            if not _CURRENCY.match(value):
                raise ValueError("mrr_currency must be a 3-letter ISO code")
        elif name == "saas_plan_id":
            if not isinstance(value, str) or len(value) > 64:
                raise ValueError("saas_plan_id must be a string of at most 64 characters")
        else:
            _count(name, value)
        values[name] = value
    return values


def record_location_day(
    agency_id: int, location_ghl_id: str, day: date, facts: LocationDayFacts
) -> bool:
    """Upsert one sub-account-day of facts. Fields left None keep their stored value.

    Returns True when the stored row was created or changed, False when it already held exactly
    these values (so a repeated pull reports zero rows written). Raises ValueError on bad input.
    """
    return day in record_location_days(agency_id, location_ghl_id, {day: facts})


def record_location_days(
    agency_id: int, location_ghl_id: str, facts_by_day: dict[date, LocationDayFacts]
) -> set[date]:
    """record_location_day for many days of one sub-account (a pull that catches up several
    days): every day is checked first, the stored rows are read in one query and the changed
    ones upserted with one statement per set of fields given. Returns the days created or
    changed."""
    cleaned = {}
    for day, facts in facts_by_day.items():
        _check_key(agency_id, location_ghl_id, day)
        cleaned[day] = _clean_facts(facts)
    if not cleaned:
        return set()
    current = {
        row["day"]: row
        for row in LocationDayFact.objects.for_agency(agency_id)
        .filter(location_ghl_id=location_ghl_id, day__in=list(cleaned))
        .values("day", *_FACT_FIELDS)
    }
    now = dj_tz.now()
    groups: dict[tuple[str, ...], list[LocationDayFact]] = {}
    for day, values in cleaned.items():
        stored = current.get(day)
        if stored is not None and all(stored[k] == v for k, v in values.items()):
            continue
        groups.setdefault(tuple(values), []).append(
            LocationDayFact(
                agency_id=agency_id,
                location_ghl_id=location_ghl_id,
                day=day,
                updated_at=now,
                **values,
            )
        )
    for names, rows in groups.items():
        # ON CONFLICT DO UPDATE of only the given columns: two writers racing on a new day
        # cannot create a duplicate, and a partial update never blanks what another pull
        # measured.
        LocationDayFact.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["agency_id", "location_ghl_id", "day"],
            update_fields=[*names, "updated_at"],
        )
    return {row.day for rows in groups.values() for row in rows}


def feature_column(feature: str) -> str:
    """The UserActivityDay minutes column for a tracker feature name (unknown → other)."""
    name = FEATURE_ALIASES.get(feature, feature)
    return f"minutes_{name if name in FEATURES else 'other'}"


def record_user_activity_day(
    agency_id: int,
    location_ghl_id: str,
    user_ghl_id: str,
    day: date,
    sessions: int,
    minutes_by_feature: dict[str, int],
    is_agency_staff: bool,
) -> None:
    """Set (not add) one user's sessions and minutes per feature in one sub-account on one day.

    Flushing the same counters twice gives the same row. Unknown feature names are counted as
    "other". Raises ValueError on bad input.
    """
    record_user_activity_days(
        agency_id,
        [(location_ghl_id, user_ghl_id, day, sessions, minutes_by_feature, is_agency_staff)],
    )


def record_user_activity_days(agency_id: int, days, batch_size: int = 1000) -> int:
    """record_user_activity_day for many (location GHL id, user GHL id, day, sessions, minutes
    by feature, is agency staff) at once: every row is checked before any is written, then
    upserted in batches (one statement per batch instead of one per row). Returns the rows."""
    rows = []
    now = dj_tz.now()
    for location_ghl_id, user_ghl_id, day, sessions, minutes_by_feature, staff in days:
        _check_key(agency_id, location_ghl_id, day)
        if not isinstance(user_ghl_id, str) or not _GHL_ID.match(user_ghl_id):
            raise ValueError("user_ghl_id must be a GHL id (letters, digits, _ or -)")
        _count("sessions", sessions)
        if not isinstance(minutes_by_feature, dict):
            raise ValueError("minutes_by_feature must be a dict of feature name to minutes")
        minutes = {f"minutes_{f}": 0 for f in FEATURES}
        for feature, value in minutes_by_feature.items():
            if not isinstance(feature, str):
                raise ValueError("feature names must be strings")
            minutes[feature_column(feature)] += _count(f"minutes for {feature}", value)
        minutes["minutes_total"] = sum(minutes.values())
        rows.append(
            UserActivityDay(
                agency_id=agency_id,
                location_ghl_id=location_ghl_id,
                user_ghl_id=user_ghl_id,
                day=day,
                sessions=sessions,
                is_agency_staff=bool(staff),
                updated_at=now,
                **minutes,
            )
        )
    # One row per key in a batch: a statement cannot upsert the same row twice (the last wins,
    # as it would one call at a time).
    unique = {(r.location_ghl_id, r.user_ghl_id, r.day): r for r in rows}
    UserActivityDay.objects.bulk_create(
        list(unique.values()),
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=["agency_id", "location_ghl_id", "user_ghl_id", "day"],
        update_fields=[
            "sessions",
            "is_agency_staff",
            "updated_at",
            *(f"minutes_{f}" for f in FEATURES),
            "minutes_total",
        ],
    )
    return len(unique)
