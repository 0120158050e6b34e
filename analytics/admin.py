"""Staff views of sentiment (NPS) data. Read-only: answers are the sub-account users' own words,
changed only by them (a new answer) or by a purge."""

from django.contrib import admin

from analytics.models import (
    ChurnModel,
    ChurnPrediction,
    NpsOptIn,
    NpsResponse,
    SentimentSettings,
)
from gocsm.adminsafe import SafeModelAdmin


class _ReadOnly(SafeModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(NpsResponse)
class NpsResponseAdmin(_ReadOnly):
    list_display = (
        "agency_id",
        "location_ghl_id",
        "user_ghl_id",
        "outcome",
        "rating",
        "day",
        "at",
    )
    list_filter = ("outcome", "rating")
    search_fields = ("location_ghl_id", "user_ghl_id")


@admin.register(NpsOptIn)
class NpsOptInAdmin(_ReadOnly):
    list_display = ("agency_id", "location_ghl_id", "enabled_at", "enabled_by")
    search_fields = ("location_ghl_id",)


@admin.register(SentimentSettings)
class SentimentSettingsAdmin(_ReadOnly):
    list_display = ("agency_id", "ask_every_days", "updated_at")


@admin.register(ChurnModel)
class ChurnModelAdmin(_ReadOnly):
    """An agency's churn model (analytics.churn): retrained by the weekly beat, never by hand."""

    list_display = ("agency_id", "status", "day", "events", "events_needed", "trained_at")
    list_filter = ("status",)
    exclude = ("fitted", "backtest")


@admin.register(ChurnPrediction)
class ChurnPredictionAdmin(_ReadOnly):
    list_display = ("agency_id", "location_ghl_id", "day", "probability")
    search_fields = ("location_ghl_id",)
