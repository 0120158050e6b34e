"""Small helpers for tests that write a few days of facts and read back what was scored."""

from datetime import date, timedelta

from analytics.ingest import LocationDayFacts, record_location_day, record_user_activity_day
from analytics.models import Alert, HealthScore, RiskFlag

D = date(2026, 3, 31)
AGENCY = 5


def facts(loc: str, oldest: int, newest: int = 0, agency: int = AGENCY, **values) -> None:
    """Facts on days D-oldest..D-newest; a callable value is called with k (the day is D-k)."""
    for k in range(oldest, newest - 1, -1):
        row = {f: v(k) if callable(v) else v for f, v in values.items()}
        record_location_day(agency, loc, D - timedelta(days=k), LocationDayFacts(**row))


def session(loc: str, k: int, user: str = "U1", n: int = 1, agency: int = AGENCY) -> None:
    record_user_activity_day(agency, loc, f"{loc}{user}", D - timedelta(days=k), n, {}, False)


def stored(loc: str, day: date = D, agency: int = AGENCY) -> HealthScore:
    return HealthScore.objects.for_agency(agency).get(location_ghl_id=loc, day=day)


def flags(loc: str, day: date = D, agency: int = AGENCY) -> dict[str, str]:
    return dict(
        RiskFlag.objects.for_agency(agency)
        .filter(location_ghl_id=loc, day=day)
        .values_list("code", "evidence")
    )


def alerts(loc: str, agency: int = AGENCY) -> list[tuple]:
    """(day offset k, kind, code, message) of every alert of the sub-account, oldest first."""
    return [
        ((D - day).days, kind, code, message)
        for day, kind, code, message in Alert.objects.for_agency(agency)
        .filter(location_ghl_id=loc)
        .order_by("day", "kind", "code")
        .values_list("day", "kind", "code", "message")
    ]
