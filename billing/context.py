"""Template context: the billing banner for the signed-in agency (empty for anyone else)."""

from __future__ import annotations

from billing.gating import access_for_request


def billing_banner(request):
    if getattr(request, "ghl_user", None) is None:
        return {}
    return {"billing_access": access_for_request(request)}
