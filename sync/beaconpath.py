"""Activity beacons skip the request layers they never use.

Beacons are by far the most frequent request (every open GHL tab sends one a minute). A beacon
carries no cookie and is authenticated by its encrypted payload alone, so sessions, identity,
page-view capture, the sign-in guard, CSRF, Django auth, OTP and messages have nothing to do
for it but cost. This middleware sits after the request id, metrics, body cap and security headers
(which still apply) and hands the beacon URL (and the NPS prompt's, authenticated the same way)
straight to its view; every other request goes on through the whole stack. Not skipping those
layers would also let a beacon that carries a session cookie by accident refresh that session;
here it cannot.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, resolve, reverse

from sync.activity_views import ingest_activity
from sync.sentiment_views import nps_answer, nps_ask, nps_dismiss

FAST_ROUTES = {
    "sync:activity:ingest": ingest_activity,
    "sync:activity:nps-ask": nps_ask,
    "sync:activity:nps-answer": nps_answer,
    "sync:activity:nps-dismiss": nps_dismiss,
}


class BeaconFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._urlconf: str | None = None
        self._routes: dict = {}

    def _beacon_routes(self) -> dict:
        # Looked up once per URLconf (tests swap it); empty when it has no beacon routes.
        urlconf = settings.ROOT_URLCONF
        if urlconf != self._urlconf:
            routes = {}
            for name, view in FAST_ROUTES.items():
                try:
                    path = reverse(name, urlconf=urlconf)
                except NoReverseMatch:
                    continue
                routes[path] = (resolve(path, urlconf=urlconf), view)
            self._routes, self._urlconf = routes, urlconf
        return self._routes

    def __call__(self, request):
        route = self._beacon_routes().get(request.path_info)
        if route is None:
            return self.get_response(request)
        match, view = route
        # A foreign or malformed Host is refused (400) here as CommonMiddleware would for any
        # other request.
        request.get_host()
        # The metrics middleware labels requests by their route name.
        request.resolver_match = match
        return view(request)
