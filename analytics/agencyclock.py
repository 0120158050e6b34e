"""Days in the agency's timezone: every day-keyed row and every page uses these."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone as dj_tz


def agency_zone(agency) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(agency, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def agency_today(agency) -> date:
    return dj_tz.now().astimezone(agency_zone(agency)).date()
