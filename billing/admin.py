"""Read-only admin views of billing state: Stripe is the source of truth, so staff change
subscriptions in Stripe, never here."""

from django.contrib import admin

from billing.models import BillingAccount, StripeEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyAdmin):
    list_display = ["agency", "plan", "status", "current_period_end", "trial_end"]
    list_filter = ["status", "plan"]
    search_fields = ["agency__name", "stripe_customer_id", "stripe_subscription_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "outcome", "agency_id", "created", "received_at"]
    list_filter = ["type", "outcome"]
    search_fields = ["event_id"]
