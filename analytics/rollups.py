"""Daily facts → per-sub-account and per-agency series by day, ISO week and month.

Set-based: each (grain, table) is one DELETE of the affected periods and one INSERT … SELECT …
GROUP BY in the database, inside one transaction, so recomputing any range is idempotent and no
Python loop touches a row. The period expression is written for PostgreSQL with a SQLite
fallback for the embedded default.

Per sub-account: flows (created, booked) are summed over the period, levels (totals, published,
active) take the period's maximum. The agency row (location_ghl_id = '') sums the sub-account
rows of the same period; active users at agency level are distinct people across sub-accounts.
Staff sessions are counted apart from the sub-account's own users.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connections, transaction

from analytics.models import (
    FEATURES,
    ActivityRollup,
    FactRollup,
    Grain,
    LocationDayFact,
    UserActivityDay,
)

DB = "analytics"

FACT_FLOWS = ("workflows_created", "appointments_booked", "conversations_created")
FACT_LEVELS = (
    "users_total",
    "workflows_total",
    "workflows_published",
    "calendars_total",
    "calendars_active",
    "products_total",
    "conversations_total",
)
MINUTE_COLUMNS = ("minutes_total", *(f"minutes_{f}" for f in FEATURES))


def period_bounds(grain: str, first: date, last: date) -> tuple[date, date]:
    """The whole periods of `grain` that cover [first, last] (weeks start on Monday, ISO)."""
    if grain == Grain.DAY:
        return first, last
    if grain == Grain.WEEK:
        return first - timedelta(days=first.weekday()), last + timedelta(days=6 - last.weekday())
    start = first.replace(day=1)
    nxt = (last.replace(day=1) + timedelta(days=32)).replace(day=1)
    return start, nxt - timedelta(days=1)


def _period_sql(vendor: str, grain: str, column: str = "day") -> str:
    if grain == Grain.DAY:
        return column
    if vendor == "postgresql":
        unit = "week" if grain == Grain.WEEK else "month"
        return f"CAST(date_trunc('{unit}', {column}) AS date)"
    if grain == Grain.WEEK:
        # %% because these statements carry parameters: the backend (and DEBUG's query log)
        # formats them with %, so a bare % would be read as a placeholder.
        weekday = f"((CAST(strftime('%%w', {column}) AS integer) + 6) %% 7)"
        return f"date({column}, '-' || {weekday} || ' days')"
    return f"date({column}, 'start of month')"


def _fact_sql(vendor: str, grain: str) -> str:
    period = _period_sql(vendor, grain)
    cols = [*FACT_LEVELS, *FACT_FLOWS]
    if grain == Grain.DAY:
        # One fact row per sub-account-day (unique): its MAX and SUM are the row itself, so the
        # day series is a plain copy without the cost of grouping 365 x N rows.
        return (
            f"INSERT INTO {FactRollup._meta.db_table} "  # noqa: S608 our names; values are params
            f"(agency_id, location_ghl_id, grain, period_start, days_reported, {', '.join(cols)}) "
            f"SELECT agency_id, location_ghl_id, %s, day, 1, {', '.join(cols)} "
            f"FROM {LocationDayFact._meta.db_table} "
            f"WHERE agency_id = %s AND day BETWEEN %s AND %s"
        )
    aggs = [f"MAX({c})" for c in FACT_LEVELS] + [f"SUM({c})" for c in FACT_FLOWS]
    return (
        f"INSERT INTO {FactRollup._meta.db_table} "  # noqa: S608 our names; values are params
        f"(agency_id, location_ghl_id, grain, period_start, days_reported, {', '.join(cols)}) "
        f"SELECT agency_id, location_ghl_id, %s, {period}, COUNT(*), {', '.join(aggs)} "
        f"FROM {LocationDayFact._meta.db_table} "
        f"WHERE agency_id = %s AND day BETWEEN %s AND %s "
        f"GROUP BY agency_id, location_ghl_id, {period}"
    )


def _fact_agency_sql() -> str:
    cols = [*FACT_LEVELS, *FACT_FLOWS]
    table = FactRollup._meta.db_table
    return (
        f"INSERT INTO {table} "  # noqa: S608 our names; values are params
        f"(agency_id, location_ghl_id, grain, period_start, days_reported, {', '.join(cols)}) "
        f"SELECT agency_id, '', grain, period_start, MAX(days_reported), "
        f"{', '.join(f'SUM({c})' for c in cols)} FROM {table} "
        f"WHERE agency_id = %s AND grain = %s AND period_start BETWEEN %s AND %s "
        f"AND location_ghl_id <> '' GROUP BY agency_id, grain, period_start"
    )


def _activity_sql(vendor: str, grain: str, per_location: bool) -> str:
    period = _period_sql(vendor, grain)
    own = "NOT is_agency_staff AND sessions > 0"
    staff = "is_agency_staff AND sessions > 0"
    scope = "location_ghl_id" if per_location else "''"
    group = "agency_id, location_ghl_id" if per_location else "agency_id"
    minutes = ", ".join(
        f"SUM(CASE WHEN NOT is_agency_staff THEN {c} ELSE 0 END)" for c in MINUTE_COLUMNS
    )
    if per_location and grain == Grain.DAY:
        # A user has one row per sub-account-day (unique), so counting rows counts distinct
        # users, and the aggregate can hash instead of sorting every group.
        own_users = f"SUM(CASE WHEN {own} THEN 1 ELSE 0 END)"
        staff_users = f"SUM(CASE WHEN {staff} THEN 1 ELSE 0 END)"
    else:
        own_users = f"COUNT(DISTINCT CASE WHEN {own} THEN user_ghl_id END)"
        staff_users = f"COUNT(DISTINCT CASE WHEN {staff} THEN user_ghl_id END)"
    return (
        f"INSERT INTO {ActivityRollup._meta.db_table} "  # noqa: S608 our names; values are params
        f"(agency_id, location_ghl_id, grain, period_start, active_users, staff_users, sessions, "
        f"staff_sessions, {', '.join(MINUTE_COLUMNS)}) "
        f"SELECT agency_id, {scope}, %s, {period}, "
        f"{own_users}, {staff_users}, "
        f"SUM(CASE WHEN NOT is_agency_staff THEN sessions ELSE 0 END), "
        f"SUM(CASE WHEN is_agency_staff THEN sessions ELSE 0 END), {minutes} "
        f"FROM {UserActivityDay._meta.db_table} "
        f"WHERE agency_id = %s AND day BETWEEN %s AND %s GROUP BY {group}, {period}"
    )


def recompute_rollups(agency_id: int, first: date, last: date) -> int:
    """Rebuild every series touching [first, last] for one agency. Returns rows written.

    Idempotent: the affected periods are deleted and rebuilt from the facts in one transaction.
    """
    if last < first:
        return 0
    conn = connections[DB]
    vendor = conn.vendor
    written = 0
    with transaction.atomic(using=DB), conn.cursor() as cur:
        for grain in (Grain.DAY, Grain.WEEK, Grain.MONTH):
            lo, hi = period_bounds(grain, first, last)
            for model in (FactRollup, ActivityRollup):
                cur.execute(
                    f"DELETE FROM {model._meta.db_table} "  # noqa: S608 table names are ours
                    "WHERE agency_id = %s AND grain = %s AND period_start BETWEEN %s AND %s",
                    [agency_id, grain.value, lo, hi],
                )
            cur.execute(_fact_sql(vendor, grain), [grain.value, agency_id, lo, hi])
            written += max(cur.rowcount, 0)
            cur.execute(_fact_agency_sql(), [agency_id, grain.value, lo, hi])
            written += max(cur.rowcount, 0)
            for per_location in (True, False):
                cur.execute(
                    _activity_sql(vendor, grain, per_location), [grain.value, agency_id, lo, hi]
                )
                written += max(cur.rowcount, 0)
    return written
