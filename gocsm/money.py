"""Money arithmetic shared by the pulls and the analytics: one rounding rule everywhere.

Amounts are integers in the currency's minor unit (cents). A recurring price becomes monthly
recurring revenue by its interval (year / 12, week x 52 / 12, day x 365 / 12, divided by the
interval count), computed exactly and rounded half up to the minor unit, as the revenue page's
definition says.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

# Months per interval, as exact fractions (a float 1/12 would round 84.5 down to 84).
PER_MONTH = {
    "month": Fraction(1),
    "year": Fraction(1, 12),
    "week": Fraction(52, 12),
    "day": Fraction(365, 12),
}


def round_half_up(value: Fraction | Decimal | int) -> int:
    """The nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3)."""
    exact = Fraction(value)
    magnitude = (abs(exact) + Fraction(1, 2)).__floor__()
    return magnitude if exact >= 0 else -magnitude


def monthly_minor_units(amount: Decimal | int, interval: str, interval_count: int = 1) -> int:
    """Monthly recurring amount, in minor units, of a price of `amount` minor units billed every
    `interval_count` `interval`s. One-time and unknown intervals have none: ValueError."""
    if interval not in PER_MONTH or interval_count < 1:
        raise ValueError("interval must be day, week, month or year with a positive count")
    return round_half_up(Fraction(amount) * PER_MONTH[interval] / interval_count)
