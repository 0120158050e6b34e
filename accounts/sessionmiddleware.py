"""The session middleware: Django's, plus failing closed on Redis errors and the CHIPS cookie.

- A session backend error (SessionStoreUnavailable) never lets a request through: pages that need
  a session answer 503; public pages (health checks, the SSO bootstrap) still render, and the
  client's cookie is left untouched so a Redis blip does not sign anyone out.
- The session cookie is written with `Partitioned` (CHIPS) in this one place, both when it is set
  and when it is deleted: a browser only deletes a partitioned cookie with a partitioned
  Set-Cookie. Python's cookie module rejects the attribute before 3.14, so the cookie's Morsel is
  swapped for a subclass that appends it.
"""

from __future__ import annotations

from http.cookies import Morsel

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

from accounts.sessions import SessionStoreUnavailable
from gocsm.authguard import is_public
from gocsm.errors import error_response


class PartitionedMorsel(Morsel):
    """A cookie Morsel that always renders the Partitioned attribute."""

    def OutputString(self, attrs=None):
        text = super().OutputString(attrs)
        # Attributes only (never the value): Python 3.14's Morsel may already write it.
        if not any(part.strip().lower() == "partitioned" for part in text.split(";")[1:]):
            text += "; Partitioned"
        return text


def mark_partitioned(response, name: str) -> None:
    """Make the cookie `name` on `response` (set or deletion) carry Partitioned."""
    morsel = response.cookies.get(name)
    if morsel is None or isinstance(morsel, PartitionedMorsel):
        return
    partitioned = PartitionedMorsel()
    partitioned.set(morsel.key, morsel.value, morsel.coded_value)
    for attr in morsel:
        if morsel[attr]:
            partitioned[attr] = morsel[attr]
    dict.__setitem__(response.cookies, name, partitioned)


class SessionMiddleware(DjangoSessionMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.session_unavailable = False
        if request.session.session_key is None:
            return
        try:
            # Load now, inside this middleware, so a backend error is seen here rather than
            # deep inside another middleware (where it would become a 500).
            request.session.get("_")
        except SessionStoreUnavailable:
            request.session_unavailable = True
            # An empty store without a key: nothing later reads Redis through it.
            request.session = self.SessionStore(None)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.session_unavailable and not is_public(view_func):
            return error_response(request, 503)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, SessionStoreUnavailable):
            return error_response(request, 503)
        return None

    def process_response(self, request, response):
        if getattr(request, "session_unavailable", False):
            # Neither save nor delete: the stored session may be fine once Redis is back.
            return response
        try:
            response = super().process_response(request, response)
        except SessionStoreUnavailable:
            return error_response(request, 503)
        mark_partitioned(response, settings.SESSION_COOKIE_NAME)
        return response
