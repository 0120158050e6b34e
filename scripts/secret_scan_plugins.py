"""A detect-secrets detector loaded by scripts/secret_scan.py (detect-secrets imports this file).

detect-secrets' own StripeDetector wants exactly 24 characters after `sk_live_`/`rk_live_`;
Stripe's keys have been longer for years, and a shortened or made-up one is still a key shape
nobody should commit. This one takes any length from 16 characters.
"""

import re

from detect_secrets.plugins.base import RegexBasedDetector


class StripeAnyLengthDetector(RegexBasedDetector):
    """Stripe live secret or restricted keys, whatever their length."""

    secret_type = "Stripe live key"

    denylist = (re.compile(r"(?:r|s)k_live_[0-9a-zA-Z]{16,}"),)
