"""Middleware that records a product "page viewed" event for each successful page a GHL user
opens. It sends the URL *name* (e.g. "analytics:location-detail"), never the URL, its query or
its arguments, which may carry sub-account ids.

Enable by adding "gocsm.pageviews.PageViewMiddleware" to MIDDLEWARE after
accounts.identity.TenantMiddleware. It does nothing when POSTHOG_API_KEY is unset.
"""

from __future__ import annotations

from gocsm import product_events

# Namespaces that are not pages people look at.
SKIPPED_NAMESPACES = frozenset({"admin", "dev"})


class PageViewMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._is_page_view(request, response):
            product_events.capture(
                request,
                product_events.PAGE_VIEWED,
                {"url_name": request.resolver_match.view_name},
            )
        return response

    @staticmethod
    def _is_page_view(request, response) -> bool:
        match = getattr(request, "resolver_match", None)
        return (
            request.method == "GET"
            and response.status_code == 200
            and getattr(request, "ghl_user", None) is not None
            and match is not None
            and bool(match.url_name)
            and not (set(match.namespaces) & SKIPPED_NAMESPACES)
            and response.get("Content-Type", "").startswith("text/html")
        )
