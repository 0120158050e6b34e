"""The one way to reach an agency's billing state."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Agency
from billing.models import BillingAccount


def account_for(agency: Agency) -> BillingAccount:
    """Return the agency's BillingAccount, creating it on first use with a TRIAL_DAYS trial.

    The trial is counted from the install (or the agency's creation), not from the first page
    view, so creating the row lazily never extends a trial.
    """
    if Agency.billing_account.is_cached(agency):
        # Loaded with the agency (select_related): no second query. A cached "none yet" falls
        # through to the creation below.
        existing = getattr(agency, "billing_account", None)
    else:
        existing = BillingAccount.objects.filter(agency=agency).first()
    if existing is not None:
        return existing
    started = agency.installed_at or agency.created_at or timezone.now()
    try:
        with transaction.atomic():
            account = BillingAccount.objects.create(
                agency=agency,
                status=BillingAccount.TRIALING,
                trial_end=started + timedelta(days=settings.TRIAL_DAYS),
            )
    except IntegrityError:
        # Two first requests raced; the other one created it.
        account = BillingAccount.objects.get(agency=agency)
    agency.billing_account = account  # later calls in this request see it, not the cached "none"
    return account
