"""Staff views of the connection. Token columns are never shown (not even encrypted)."""

from django.contrib import admin

from sync.models import Installation, SyncRun, WebhookReceipt


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    list_display = ("company_id", "agency", "installed_at", "refreshed_at", "revoked_at")
    search_fields = ("company_id",)
    exclude = ("access_token", "refresh_token")
    readonly_fields = (
        "agency",
        "company_id",
        "user_type",
        "access_expires_at",
        "scopes",
        "installer_user_id",
        "plan_id",
        "installed_at",
        "refreshed_at",
        "revoked_at",
    )

    def has_add_permission(self, request):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("agency", "kind", "status", "stop_reason", "requested_at", "requests_made")
    list_filter = ("status", "kind", "stop_reason")

    def get_queryset(self, request):
        return SyncRun.objects.all_agencies().select_related("agency")


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(admin.ModelAdmin):
    list_display = ("event_type", "webhook_id", "company_id", "received_at", "outcome")
    list_filter = ("event_type", "outcome")
    search_fields = ("webhook_id", "company_id", "location_id")
