"""What the signed-in user may see: their agency's sub-accounts, narrowed to the ones GHL assigns
them (request.allowed_location_ids, set by accounts.identity.TenantMiddleware). Another agency's
sub-account, or one outside the allowed ones, is a 404.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

from django.http import Http404

from accounts.models import Location
from accounts.tenancy import TenantQuerySet, get_for_agency
from accounts.tenantsql import Select


def get_location_for_request(request, ghl_location_id: str):
    """The sub-account `ghl_location_id` if the signed-in user may see it, else Http404."""
    location = get_for_agency(Location, request.agency, ghl_id=ghl_location_id)
    _require_visible(request, location.ghl_id)
    return location


def location_for_request(request, ghl_location_id: str) -> SimpleNamespace:
    """get_location_for_request's check for a page that shows only the sub-account's id and
    name (and reads its tags by its pk): one prepared read instead of a model instance."""
    row = _LOCATION_NAME().first(request.agency.pk, ghl_location_id)
    if row is None:
        raise Http404
    _require_visible(request, row[0])
    return SimpleNamespace(ghl_id=row[0], name=row[1], pk=row[2])


def _require_visible(request, ghl_location_id: str) -> None:
    """Http404 for a sub-account outside the signed-in user's allowed ones."""
    allowed = getattr(request, "allowed_location_ids", None)
    if allowed is not None and ghl_location_id not in allowed:
        raise Http404


@functools.cache
def _LOCATION_NAME():
    return Select(Location, ("ghl_id", "name", "id"), where=(("ghl_id", "="),))


def visible_locations(request) -> TenantQuerySet:
    """The sub-accounts the signed-in user may see, as a scoped queryset."""
    qs = Location.objects.for_agency(request.agency)
    allowed = getattr(request, "allowed_location_ids", None)
    if allowed is not None:
        qs = qs.filter(ghl_id__in=allowed)
    return qs


def sole_location(request) -> str | None:
    """The GHL id of the one sub-account a sub-account's own person (role "location") may see,
    once GoCSM knows it: their portfolio is that sub-account, so its page is where they land
    (the overview leads there) and what the menu's "Overview" opens. None for the agency's
    staff (restricted to one sub-account or not, the portfolio pages are theirs), for anyone
    allowed several, and before the sub-account's first import (its page would be a 404; the
    overview says what is being imported). Asked once per request."""
    if "_sole_location" in request.__dict__:
        return request._sole_location
    user = getattr(request, "ghl_user", None)
    allowed = getattr(request, "allowed_location_ids", None)
    sole = None
    if user is not None and user.role == user.ROLE_LOCATION and allowed and len(allowed) == 1:
        (ghl_id,) = allowed
        if Location.objects.for_agency(request.agency).filter(ghl_id=ghl_id).exists():
            sole = ghl_id
    request._sole_location = sole
    return sole
