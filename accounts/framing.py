"""Who may frame GoCSM and who may hand the bootstrap page an SSO payload.

The same list answers both questions: GHL's app origins (settings.GHL_FRAME_ORIGINS) plus the
white-label app domain of every installed agency. It is computed per request for the CSP's
frame-ancestors, from a per-process copy refreshed every FRAME_ORIGINS_TTL seconds, so a request
costs no query most of the time and a new white-label domain is live within that delay (at once
in the process that saved the agency).
"""

from __future__ import annotations

import logging
import re
import threading
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save

from accounts.models import Agency

log = logging.getLogger(__name__)

FRAME_ORIGINS_TTL = 30.0
# A host name only: letters, digits, hyphens and dots. Anything else (spaces, semicolons, quotes,
# schemes, paths, wildcards) could rewrite the CSP header, so it is skipped.
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9a-f:]+\](:\d{1,5})?$")

_lock = threading.Lock()
_cached: tuple[float, tuple[str, ...]] | None = None


def whitelabel_origin(domain: str) -> str | None:
    """`https://<domain>` for a well-formed host name, else None."""
    host = (domain or "").strip().lower().rstrip(".")
    return f"https://{host}" if _HOST.match(host) else None


def _configured_origins() -> list[str]:
    origins = []
    for origin in settings.GHL_FRAME_ORIGINS:
        value = origin.strip().lower().rstrip("/")
        if _ORIGIN.match(value):
            origins.append(value)
        else:
            log.warning("GHL_FRAME_ORIGINS entry ignored: not a scheme://host[:port] origin")
    return origins


def _whitelabel_origins() -> list[str]:
    origins = []
    domains = (
        Agency.objects.installed()
        .exclude(whitelabel_domain="")
        .values_list("whitelabel_domain", flat=True)
    )
    for domain in domains:
        origin = whitelabel_origin(domain)
        if origin:
            origins.append(origin)
    return origins


def allowed_parent_origins() -> tuple[str, ...]:
    """Origins allowed to frame us and to post the SSO payload, deduplicated, in stable order."""
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < FRAME_ORIGINS_TTL:
        return cached[1]
    with _lock:
        origins = tuple(dict.fromkeys([*_configured_origins(), *sorted(_whitelabel_origins())]))
        _cached = (now, origins)
    return origins


def forget_parent_origins(**_kwargs) -> None:
    """Drop this process's copy (an agency's domain or install state changed)."""
    global _cached
    _cached = None


post_save.connect(forget_parent_origins, sender=Agency, dispatch_uid="framing-agency-saved")
post_delete.connect(forget_parent_origins, sender=Agency, dispatch_uid="framing-agency-deleted")
setting_changed.connect(forget_parent_origins, dispatch_uid="framing-settings-changed")


class FrameAncestorsMiddleware:
    """Sets the CSP frame-ancestors of each response to 'self' plus the allowed parent origins.

    Sits inside Django's ContentSecurityPolicyMiddleware, which builds the header from
    response._csp_config. A view that sets its own CSP (csp_override) keeps what it chose.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "_csp_config", None) is None:
            try:
                origins = allowed_parent_origins()
            except Exception as exc:
                # Database unreachable: fall back to the configured GHL origins only (fail closed
                # for white-label domains rather than fail the response).
                log.error("frame origins: white-label domains unavailable (%s)", type(exc).__name__)
                origins = tuple(_configured_origins())
            response._csp_config = {
                **settings.SECURE_CSP,
                "frame-ancestors": ["'self'", *origins],
            }
        return response
