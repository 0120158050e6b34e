"""A database that does not answer gives a clear 503 with Retry-After, never a 500.

A connection-level failure (django.db.OperationalError or InterfaceError: refused, timed out, the
server gone or restarting, out of connection slots, a transaction aborted by a failover) means
"try again shortly", not a bug. Two places meet one:
- identity resolution (accounts.tenancy.TenantMiddleware), which reads the main database on every
  signed-in request: it leaves the request anonymous and marks it, and a guarded page then
  answers 503 here (process_view) while public routes (health checks, webhooks) carry on;
- a view or its template (process_exception).
The page says what is missing: the main database (nothing can be shown) or only the analytics
database (figures; billing, security and sign-in still work). Other database errors stay 500s.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from gocsm.authguard import is_public
from gocsm.errors import error_response

log = logging.getLogger(__name__)

UNAVAILABLE = {
    "default": (
        "GoCSM cannot reach its database right now, so this page cannot be shown. Nothing was "
        "lost. Please try again in a minute."
    ),
    "analytics": (
        "Your figures are unavailable for a moment: GoCSM cannot reach its analytics database. "
        "Billing, security and your account still work. Please try again in a minute."
    ),
}


def unreachable_database(exc: BaseException) -> str | None:
    """The alias of the database `exc` says does not answer, or None for any other error."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    alias = "default"
    tb = exc.__traceback__
    while tb is not None:
        # The innermost frame run by a connection (or a cursor, through .db) names the alias.
        owner = tb.tb_frame.f_locals.get("self")
        wrapper = getattr(owner, "db", owner)
        if isinstance(wrapper, BaseDatabaseWrapper):
            alias = wrapper.alias
        tb = tb.tb_next
    return alias


def outage_response(request, alias: str):
    log.warning("database unavailable", extra={"database": alias})
    return error_response(request, 503, UNAVAILABLE.get(alias, UNAVAILABLE["default"]))


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        alias = getattr(request, "database_unavailable", None)
        if alias and not is_public(view_func):
            return outage_response(request, alias)
        return None

    def process_exception(self, request, exception):
        alias = unreachable_database(exception)
        return outage_response(request, alias) if alias else None
