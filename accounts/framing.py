"""Who may frame each response, decided per response (CSP frame-ancestors).

- App pages (a guarded route answered to a signed-in GHL person): GHL's app origins
  (settings.GHL_FRAME_ORIGINS) and the signed-in agency's own white-label domain. No other
  agency's domain is ever listed, so agency A's domain cannot frame agency B's pages.
- The SSO bootstrap page (`/`, anonymous by nature): GHL's app origins, plus the white-label
  domain of the page that is framing it when that domain is an installed agency's (read from the
  Referer, which a browser sends when it loads a frame). The list of customers is never published:
  a response names at most the one domain the request itself came from.
- Everything else (admin, OAuth, billing hand-offs, public endpoints, anything anonymous):
  `frame-ancestors 'none'` and `X-Frame-Options: DENY`.

Framable responses drop X-Frame-Options: it cannot name several origins, and browsers that know
frame-ancestors ignore it anyway. With DEV_TOOLS on, 'self' is added to framable responses so the
development GHL shell can frame the app from our own origin.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.utils.cache import patch_vary_headers

from accounts.models import Agency
from gocsm.authguard import ADMIN_NAMESPACE, is_public

log = logging.getLogger(__name__)

FRAME_ORIGINS_TTL = 30.0
# A host name only: letters, digits, hyphens and dots. Anything else (spaces, semicolons, quotes,
# schemes, paths, wildcards) could rewrite the CSP header, so it is skipped.
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9a-f:]+\](:\d{1,5})?$")

NONE = ["'none'"]
_lock = threading.Lock()
_cached: tuple[float, frozenset[str]] | None = None


def whitelabel_origin(domain: str) -> str | None:
    """`https://<domain>` for a well-formed host name, else None."""
    host = (domain or "").strip().lower().rstrip(".")
    return f"https://{host}" if _HOST.match(host) else None


def ghl_origins() -> list[str]:
    origins = []
    for origin in settings.GHL_FRAME_ORIGINS:
        value = origin.strip().lower().rstrip("/")
        if _ORIGIN.match(value):
            origins.append(value)
        else:
            log.warning("GHL_FRAME_ORIGINS entry ignored: not a scheme://host[:port] origin")
    return origins


def _customer_origins() -> frozenset[str]:
    """Installed agencies' white-label origins, for membership tests only (never listed)."""
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < FRAME_ORIGINS_TTL:
        return cached[1]
    with _lock:
        domains = (
            Agency.objects.installed()
            .exclude(whitelabel_domain="")
            .values_list("whitelabel_domain", flat=True)
        )
        origins = frozenset(filter(None, map(whitelabel_origin, domains)))
        _cached = (now, origins)
    return origins


def forget_customer_origins(**_kwargs) -> None:
    """Drop this process's copy (an agency's domain or install state changed)."""
    global _cached
    _cached = None


post_save.connect(forget_customer_origins, sender=Agency, dispatch_uid="framing-agency-saved")
post_delete.connect(forget_customer_origins, sender=Agency, dispatch_uid="framing-agency-deleted")
setting_changed.connect(forget_customer_origins, dispatch_uid="framing-settings-changed")


def framing_parent_origin(request) -> str | None:
    """The origin of the page framing this request (its Referer), when that page is an installed
    agency's white-label domain; None otherwise. Tells a prober only about the domain it sent."""
    referer = request.headers.get("Referer", "")
    try:
        parts = urlsplit(referer)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port not in (None, 443):
        return None
    origin = whitelabel_origin(host)
    if origin is None:
        return None
    try:
        return origin if origin in _customer_origins() else None
    except Exception as exc:
        # Database unreachable: GHL's own origins still work; white-label ones wait for it.
        log.error("frame origins: white-label domains unavailable (%s)", type(exc).__name__)
        return None


def bootstrap_parent_origins(request) -> list[str]:
    """Who may frame the SSO bootstrap page and hand it the payload."""
    own = framing_parent_origin(request)
    return list(dict.fromkeys([*ghl_origins(), *([own] if own else [])]))


def agency_frame_ancestors(agency: Agency) -> list[str]:
    origin = whitelabel_origin(agency.whitelabel_domain)
    return list(dict.fromkeys([*ghl_origins(), *([origin] if origin else [])]))


def unframeable[F: Callable](view: F) -> F:
    """Mark a guarded view that must never be framed (e.g. the billing hand-offs to Stripe)."""
    view.gocsm_unframeable = True  # type: ignore[attr-defined]
    return view


def sso_bootstrap[F: Callable](view: F) -> F:
    """Mark the one anonymous page GHL frames: the SSO bootstrap."""
    view.gocsm_sso_bootstrap = True  # type: ignore[attr-defined]
    return view


class FrameAncestorsMiddleware:
    """Sets each response's CSP frame-ancestors (see the module docstring).

    Sits inside Django's ContentSecurityPolicyMiddleware, which builds the header from
    response._csp_config. A view that sets its own CSP (csp_override) keeps what it chose. Who is
    signed in is read when the view is chosen, so the page that signs someone out is still framed
    like the agency's other pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.frame_view = view_func
        request.frame_agency = getattr(request, "agency", None)

    @staticmethod
    def _ancestors(request) -> list[str]:
        view = getattr(request, "frame_view", None)
        if view is None:
            return []  # no view ran: an unknown path, a refused host, a body too large
        if getattr(view, "gocsm_sso_bootstrap", False):
            return bootstrap_parent_origins(request)
        agency = getattr(request, "frame_agency", None)
        match = request.resolver_match
        if (
            agency is None
            or is_public(view)
            or getattr(view, "gocsm_unframeable", False)
            or (match is not None and ADMIN_NAMESPACE in match.namespaces)
        ):
            return []
        return agency_frame_ancestors(agency)

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "_csp_config", None) is not None:
            return response
        ancestors = self._ancestors(request)
        if ancestors:
            if settings.DEV_TOOLS:
                ancestors = ["'self'", *ancestors]
            # X-Frame-Options cannot name these origins; frame-ancestors decides.
            del response["X-Frame-Options"]
        else:
            ancestors = NONE
            response["X-Frame-Options"] = "DENY"
        if getattr(getattr(request, "frame_view", None), "gocsm_sso_bootstrap", False):
            # Its header names the framing page's domain, taken from the Referer.
            patch_vary_headers(response, ["Referer"])
        response._csp_config = {**settings.SECURE_CSP, "frame-ancestors": ancestors}
        return response
