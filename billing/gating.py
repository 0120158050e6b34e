"""What an agency may do given its billing state, and the banner that explains it.

Modes:
- full: trial running or subscription paid;
- grace: payment failed less than BILLING_GRACE_DAYS ago; everything works, a banner warns;
- read_only: grace over, subscription canceled or unpaid, or trial ended without a subscription.
  Dashboards still show history (pulls and webhooks go on, so nothing is lost) but writes are
  refused with 402.

Views use `access_for(agency, user)` to decide and `refuse_writes_when_read_only` to enforce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Agency, GHLUser
from billing.accounts import account_for
from billing.models import BillingAccount
from billing.plans import NO_FEATURES, Features, features_for_plan
from gocsm.errors import error_response

FULL = "full"
GRACE = "grace"
READ_ONLY = "read_only"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Access:
    mode: str
    status: str
    plan: str
    features: Features = NO_FEATURES
    banner: str = ""
    # "info" | "warning" | "danger", for the banner's look.
    banner_level: str = ""
    can_manage_billing: bool = False
    billing_url: str = ""
    # Names of the people who can fix billing, for viewers who cannot.
    ask: list[str] = field(default_factory=list)

    @property
    def read_only(self) -> bool:
        return self.mode == READ_ONLY

    @property
    def show_banner(self) -> bool:
        return bool(self.banner)


def can_manage_billing(user: GHLUser | None) -> bool:
    return user is not None and user.role in (GHLUser.ROLE_OWNER, GHLUser.ROLE_ADMIN)


def _billing_managers(agency: Agency) -> list[str]:
    people = (
        GHLUser.objects.for_agency(agency)
        .filter(role__in=(GHLUser.ROLE_OWNER, GHLUser.ROLE_ADMIN), deleted=False)
        .order_by("-is_agency_owner", "role", "name")
        .values_list("name", flat=True)[:3]
    )
    return [name for name in people if name]


def _mode(account: BillingAccount, now) -> tuple[str, str, str]:
    """(mode, banner for managers, level)."""
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    status = account.status
    if status == BillingAccount.ACTIVE:
        return FULL, "", ""
    if status == BillingAccount.TRIALING:
        if account.stripe_subscription_id:
            # A Stripe-managed trial; Stripe tells us when it converts or lapses.
            return FULL, "", ""
        if account.trial_end is None or account.trial_end > now:
            days_left = (account.trial_end - now).days if account.trial_end else None
            if days_left is not None and days_left < 3:
                return FULL, "Your free trial ends soon.", "info"
            return FULL, "", ""
        return READ_ONLY, "Your free trial has ended. Dashboards are read-only.", "danger"
    if status == BillingAccount.PAST_DUE:
        since = account.past_due_since or now
        if since + grace > now:
            deadline = date_format(since + grace, "N j")
            return (
                GRACE,
                f"The last payment failed. Update the payment method by {deadline} "
                "to keep full access.",
                "warning",
            )
        return READ_ONLY, "Payment is overdue. Dashboards are read-only.", "danger"
    if status == BillingAccount.UNPAID:
        return READ_ONLY, "Payment is overdue. Dashboards are read-only.", "danger"
    return READ_ONLY, "The subscription has ended. Dashboards are read-only.", "danger"


def access_for(agency: Agency, user: GHLUser | None = None) -> Access:
    """The agency's access right now, phrased for `user` (who may or may not manage billing)."""
    account = account_for(agency)
    now = timezone.now()
    mode, banner, level = _mode(account, now)
    manager = can_manage_billing(user)
    ask: list[str] = []
    if banner and mode != FULL:
        if manager:
            banner += " Open Billing to fix it."
        else:
            ask = _billing_managers(agency)
            who = ", ".join(ask) if ask else "your agency owner"
            banner += f" Ask {who} to update billing."
    if mode == READ_ONLY:
        features = NO_FEATURES
    elif account.status == BillingAccount.TRIALING and not account.plan:
        features = features_for_plan(settings.BILLING_TRIAL_PLAN)
    else:
        features = features_for_plan(account.plan)
    return Access(
        mode=mode,
        status=account.status,
        plan=account.plan,
        features=features,
        banner=banner,
        banner_level=level,
        can_manage_billing=manager,
        billing_url=reverse("billing:index") if manager else "",
        ask=ask,
    )


def access_for_request(request) -> Access | None:
    """access_for() for the signed-in user, computed once per request (banner, nav and views all
    ask). None for anonymous requests."""
    agency = getattr(request, "agency", None)
    if agency is None:
        return None
    if getattr(request, "_billing_access", None) is None:
        request._billing_access = access_for(agency, getattr(request, "ghl_user", None))
    return request._billing_access


def refuse_writes_when_read_only(view):
    """Decorate a view so write requests (POST, PUT, PATCH, DELETE) get 402 in read-only mode.
    Reads still work: read-only mode keeps the history visible."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method in WRITE_METHODS:
            access = access_for_request(request)
            if access is not None and access.read_only:
                return error_response(request, 402, access.banner)
        return view(request, *args, **kwargs)

    return wrapped
