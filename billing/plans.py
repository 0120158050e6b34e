"""Plans and what each unlocks. Prices come from settings (STRIPE_PRICE_*); features live here.

A price we do not know unlocks nothing: a typo in the environment must never give away the top
plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Features:
    # None = no limit.
    max_locations: int | None = 0
    digest_emails: bool = False
    csv_export: bool = False

    def allows_locations(self, count: int) -> bool:
        return self.max_locations is None or count <= self.max_locations


NO_FEATURES = Features()


@dataclass(frozen=True)
class Plan:
    slug: str
    name: str
    features: Features
    setting: str  # the STRIPE_PRICE_* setting holding its price ids

    @property
    def price_ids(self) -> list[str]:
        return [p for p in getattr(settings, self.setting, []) if p]

    @property
    def checkout_price(self) -> str | None:
        prices = self.price_ids
        return prices[0] if prices else None


PLANS: dict[str, Plan] = {
    plan.slug: plan
    for plan in (
        Plan("starter", "Starter", Features(max_locations=25), "STRIPE_PRICE_STARTER"),
        Plan(
            "growth",
            "Growth",
            Features(max_locations=100, digest_emails=True, csv_export=True),
            "STRIPE_PRICE_GROWTH",
        ),
        Plan(
            "scale",
            "Scale",
            Features(max_locations=None, digest_emails=True, csv_export=True),
            "STRIPE_PRICE_SCALE",
        ),
    )
}


def plan_for_price(price_id: str | None) -> Plan | None:
    """The plan a Stripe price belongs to, or None for a price we do not sell."""
    if not price_id:
        return None
    for plan in PLANS.values():
        if price_id in plan.price_ids:
            return plan
    return None


def get_plan(slug: str | None) -> Plan | None:
    return PLANS.get(slug or "")


def purchasable_plans() -> list[Plan]:
    """Plans with a configured price, in display order."""
    return [plan for plan in PLANS.values() if plan.checkout_price]


def features_for_plan(slug: str | None) -> Features:
    plan = get_plan(slug)
    return plan.features if plan else NO_FEATURES
