"""The order alerts are shown in, everywhere (overview, digest): a drop into Steady or Critical
first, the most recent first within each group."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When

from analytics.models import Alert

# A band-drop alert carries the band it dropped into in `code`.
URGENT_BANDS = ("steady", "at_risk")


def ranked(alerts):
    """An Alert queryset in display order."""
    urgency = Case(
        When(kind=Alert.KIND_BAND_DROP, code__in=URGENT_BANDS, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return alerts.annotate(urgency=urgency).order_by(
        "urgency", "-day", "location_ghl_id", "kind", "code"
    )
