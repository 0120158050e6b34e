"""Billing page (owners and admins), Checkout and portal hand-offs, and the Stripe webhook."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.framing import unframeable
from billing import stripe_api, webhooks
from billing.accounts import account_for
from billing.gating import READ_ONLY, access_for, can_manage_billing
from billing.handlers import LIVE
from billing.models import BillingAccount
from billing.plans import get_plan, purchasable_plans
from gocsm import metrics
from gocsm.authguard import public
from gocsm.errors import error_response, wants_json

log = logging.getLogger(__name__)

STRIPE_DOWN = (
    "Stripe, our payment provider, is not answering right now. Nothing was charged or "
    "changed; please try again in a few minutes."
)
NOT_CONFIGURED = "Billing is not set up on this GoCSM server yet. Please contact support."
# Stripe refuses a subscription trial that ends less than 48 hours from now.
MIN_CARRIED_TRIAL = timedelta(hours=48)


def billing_state(account: BillingAccount, access) -> str:
    """The one billing state the page explains (templates/billing/index.html has its words):

    trial             free trial running, no subscription yet
    trial_subscribed  a plan chosen during the trial; Stripe bills when the trial ends
    trial_ended       trial over without a subscription (read-only)
    active            paid subscription, managed on Stripe
    active_offline    active plan arranged with support, no Stripe subscription to manage
    past_due          last payment failed, still inside the grace period
    overdue           payment overdue past the grace period, or unpaid (read-only)
    canceled          the subscription has ended (read-only)
    """
    status = account.status
    if status == BillingAccount.TRIALING:
        if account.stripe_subscription_id:
            return "trial_subscribed"
        return "trial_ended" if access.mode == READ_ONLY else "trial"
    if status == BillingAccount.ACTIVE:
        return "active" if account.stripe_subscription_id else "active_offline"
    if status == BillingAccount.PAST_DUE and access.mode != READ_ONLY:
        return "past_due"
    if status in (BillingAccount.PAST_DUE, BillingAccount.UNPAID):
        return "overdue"
    return "canceled"


# States in which the page offers the plans: nothing is being billed, or what was has ended. An
# overdue subscription is fixed by paying it (the portal), not by buying a second one.
OFFERS_PLANS = {"trial", "trial_ended", "canceled"}


def _page(request, *, status: int = 200, error: str = "", notice: str = "") -> HttpResponse:
    account = account_for(request.agency)
    access = access_for(request.agency, request.ghl_user)
    state = billing_state(account, access)
    context = {
        "account": account,
        "access": access,
        "state": state,
        "current_plan": get_plan(account.plan),
        "trial_plan": get_plan(settings.BILLING_TRIAL_PLAN),
        "plans": purchasable_plans(),
        "offer_plans": state in OFFERS_PLANS
        or (state == "overdue" and not account.stripe_customer_id),
        "grace_ends": (account.past_due_since or timezone.now())
        + timedelta(days=settings.BILLING_GRACE_DAYS),
        "error": error,
        "notice": notice,
    }
    return render(request, "billing/index.html", context, status=status)


def _fail(request, status: int, message: str) -> HttpResponse:
    if wants_json(request):
        return error_response(request, status, message)
    return _page(request, status=status, error=message)


def _has_live_subscription(account: BillingAccount) -> bool:
    return bool(account.stripe_subscription_id) and account.status in LIVE


def _return_url(request) -> str:
    return settings.BILLING_RETURN_URL or request.build_absolute_uri(reverse("billing:index"))


def _hand_off(request, url: str) -> HttpResponse:
    # The page's script asks for JSON and opens Stripe in a new tab (Stripe's pages refuse to be
    # framed inside GoHighLevel); without the script the browser simply follows the redirect.
    if wants_json(request):
        return JsonResponse({"url": url})
    return HttpResponseRedirect(url, status=303)


@require_GET
def billing_page(request):
    if not can_manage_billing(request.ghl_user):
        return error_response(request, 403, "Only agency owners and admins can manage billing.")
    notice = {
        "success": "Thank you! Your subscription will show here as soon as Stripe confirms it.",
        "canceled": "Checkout was canceled; nothing changed.",
    }.get(request.GET.get("checkout", ""), "")
    return _page(request, notice=notice)


@unframeable
@require_POST
def start_checkout(request):
    if not can_manage_billing(request.ghl_user):
        return error_response(request, 403, "Only agency owners and admins can manage billing.")
    plan = get_plan(request.POST.get("plan"))
    if plan is None or not plan.checkout_price:
        return _fail(request, 400, "Please choose one of the plans listed.")
    account = account_for(request.agency)
    if _has_live_subscription(account):
        return _fail(
            request, 409, "You already have a subscription: use “Manage subscription” to change it."
        )
    trial_end = None
    now = timezone.now()
    if (
        account.status == BillingAccount.TRIALING
        and account.trial_end
        and account.trial_end - now > MIN_CARRIED_TRIAL
    ):
        trial_end = account.trial_end
    return_url = _return_url(request)
    joiner = "&" if "?" in return_url else "?"
    try:
        url = stripe_api.create_checkout_session(
            agency_id=request.agency.pk,
            price_id=plan.checkout_price,
            plan_slug=plan.slug,
            customer_id=account.stripe_customer_id,
            trial_end=trial_end,
            success_url=f"{return_url}{joiner}checkout=success",
            cancel_url=f"{return_url}{joiner}checkout=canceled",
        )
    except stripe_api.BillingNotConfigured:
        return _fail(request, 503, NOT_CONFIGURED)
    except stripe_api.BillingUnavailable:
        return _fail(request, 503, STRIPE_DOWN)
    return _hand_off(request, url)


@unframeable
@require_POST
def open_portal(request):
    if not can_manage_billing(request.ghl_user):
        return error_response(request, 403, "Only agency owners and admins can manage billing.")
    account = account_for(request.agency)
    if not account.stripe_customer_id:
        return _fail(request, 400, "There is no subscription to manage yet: choose a plan first.")
    try:
        url = stripe_api.create_portal_session(
            customer_id=account.stripe_customer_id, return_url=_return_url(request)
        )
    except stripe_api.BillingNotConfigured:
        return _fail(request, 503, NOT_CONFIGURED)
    except stripe_api.BillingUnavailable:
        return _fail(request, 503, STRIPE_DOWN)
    return _hand_off(request, url)


@public
@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's webhook endpoint. Public, but nothing happens unless Stripe's signature checks."""
    try:
        event = webhooks.read_event(request.body, request.headers.get("Stripe-Signature"))
    except webhooks.RejectedEvent as exc:
        metrics.WEBHOOK_REJECTIONS.labels(source="stripe", reason=str(exc)).inc()
        log.warning("stripe webhook refused: %s", exc)
        return JsonResponse({"error": str(exc)}, status=400)
    result = webhooks.process(event)
    return JsonResponse({"received": True, "outcome": result.outcome})
