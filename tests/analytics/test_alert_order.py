"""Alerts are listed with drops into Steady or Critical first, then newest first."""

from datetime import date, timedelta

from analytics.alertorder import ranked
from analytics.models import Alert

D = date(2026, 3, 31)


def test_drops_into_steady_or_at_risk_rank_before_newer_alerts(db):
    def alert(days_ago, kind, code):
        Alert.objects.create(
            agency_id=1,
            location_ghl_id=f"L{days_ago}{code}",
            day=D - timedelta(days=days_ago),
            kind=kind,
            code=code,
            message="",
        )

    alert(0, Alert.KIND_NEW_FLAG, "no_login_7")
    alert(1, Alert.KIND_BAND_DROP, "healthy")
    alert(3, Alert.KIND_BAND_DROP, "steady")
    alert(5, Alert.KIND_BAND_DROP, "at_risk")
    order = list(ranked(Alert.objects.for_agency(1)).values_list("kind", "code"))
    assert order == [
        ("band_drop", "steady"),
        ("band_drop", "at_risk"),
        ("new_flag", "no_login_7"),
        ("band_drop", "healthy"),
    ]
