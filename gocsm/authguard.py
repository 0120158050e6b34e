"""Authentication is the default: a view runs only for an authenticated request, unless it is
explicitly marked public with @public.

Two kinds of identity exist: an agency person signed in through GHL SSO (request.ghl_user, set by
accounts.identity.TenantMiddleware) and GoCSM staff signed in to Django admin. Admin views keep
Django's own staff check (they redirect to the staff login); everything else needs a GHL session.

Every response of a guarded route (pages, /auth/me/, CSV exports, errors and the guard's own
refusals) is marked `Cache-Control: private, no-store`: what a signed-in person sees must never
be kept by a browser's or a proxy's cache.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.cache import patch_cache_control

from gocsm.errors import error_response

ADMIN_NAMESPACE = "admin"


def public[F: Callable](view: F) -> F:
    """Mark a view as reachable without a session. Every use must be on the reviewed list in
    tests/gocsm/test_url_guard.py (PUBLIC_ROUTES)."""
    view.gocsm_public = True  # type: ignore[attr-defined]
    return view


def is_public(view: Callable) -> bool:
    # Class-based views expose their class on view_class; function views carry the attribute.
    return bool(
        getattr(view, "gocsm_public", False)
        or getattr(getattr(view, "view_class", None), "gocsm_public", False)
    )


class AuthGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and not is_public(match.func):
            patch_cache_control(response, private=True, no_store=True)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_public(view_func):
            return None
        match = request.resolver_match
        if match is not None and ADMIN_NAMESPACE in match.namespaces:
            # django.contrib.admin wraps each view in admin_view(), which sends anyone who is not
            # active staff to the staff sign-in page; GHL sessions never reach admin.
            return None
        if getattr(request, "ghl_user", None) is not None:
            return None
        return error_response(request, 401)
