"""Billing state per agency and the ledger of Stripe events already applied.

Only identifiers and state live here: no card data, no invoice bodies, no customer emails.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_tz


class BillingAccount(models.Model):
    """One agency's subscription as Stripe last told us. Created by billing.accounts.account_for."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    STATUSES = [
        (TRIALING, "Trial"),
        (ACTIVE, "Active"),
        (PAST_DUE, "Payment overdue"),
        (CANCELED, "Canceled"),
        (UNPAID, "Unpaid"),
    ]

    agency = models.OneToOneField(
        "accounts.Agency", on_delete=models.CASCADE, related_name="billing_account"
    )
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    # A plan slug from billing.plans ("" = none / unknown price).
    plan = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default=TRIALING)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    # `created` of the newest Stripe event applied to stripe_subscription_id: an older event
    # arriving late (Stripe does not promise order) never overwrites newer state.
    subscription_event_created = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_tz.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~Q(stripe_customer_id=""),
                name="billing_unique_stripe_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}: {self.plan or 'no plan'} ({self.status})"


class StripeEvent(models.Model):
    """A Stripe event id we have applied. Inserted in the same transaction as its effect, so an
    event is applied exactly once: a replay hits the unique constraint and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField()
    # Which agency it touched (none for types we do not handle); a plain id keeps the ledger
    # intact when an agency is deleted.
    agency_id = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=32, default="applied")
    received_at = models.DateTimeField(default=dj_tz.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
