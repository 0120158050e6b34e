"""Activity beacons skip the request layers they never use.

Beacons are by far the most frequent request (every open GHL tab sends one a minute). A beacon
carries no cookie and is authenticated by its encrypted payload alone, so sessions, identity,
page-view capture, the sign-in guard, CSRF, Django auth, OTP and messages have nothing to do
for it but cost. This middleware sits after the request id, metrics, body cap and security headers
(which still apply) and hands the beacon URL straight to its view; every other request
goes on through the whole stack. Not skipping those layers would also let a beacon that carries
a session cookie by accident refresh that session; here it cannot.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, resolve, reverse

from sync.activity_views import ingest_activity


class BeaconFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._urlconf: str | None = None
        self._path: str | None = None
        self._match = None

    def _beacon_route(self):
        # Looked up once per URLconf (tests swap it), and skipped when it has no beacon route.
        urlconf = settings.ROOT_URLCONF
        if urlconf != self._urlconf:
            try:
                path = reverse("sync:activity:ingest", urlconf=urlconf)
                self._path, self._match = path, resolve(path, urlconf=urlconf)
            except NoReverseMatch:
                self._path, self._match = None, None
            self._urlconf = urlconf
        return self._path, self._match

    def __call__(self, request):
        path, match = self._beacon_route()
        if path is None or request.path_info != path:
            return self.get_response(request)
        # A foreign or malformed Host is refused (400) here as CommonMiddleware would for any
        # other request.
        request.get_host()
        # The metrics middleware labels requests by their route name.
        request.resolver_match = match
        return ingest_activity(request)
