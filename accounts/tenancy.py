"""The one place that knows how tenant data is scoped.

Every model holding an agency's data derives from TenantModel (default database, a real foreign
key) or TenantFactModel (analytics database, a plain agency id since foreign keys cannot cross
databases). Their default manager refuses to run a query that was not scoped with
`.for_agency(agency)`; jobs and admin say so explicitly with `.all_agencies()`.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.db import InterfaceError, OperationalError, models
from django.http import Http404

from gocsm.dboutage import unreachable_database

if TYPE_CHECKING:
    from accounts.models import Agency


class UnscopedQuery(RuntimeError):
    """A tenant model was queried without for_agency() or all_agencies()."""


class TenantQuerySet(models.QuerySet):
    _scoped = False

    def for_agency(self, agency: Agency | int) -> TenantQuerySet:
        agency_id = agency if isinstance(agency, int) else agency.pk
        if agency_id is None:
            raise UnscopedQuery("for_agency() needs a saved agency")
        qs = self.filter(agency_id=agency_id)
        qs._scoped = True
        return qs

    def all_agencies(self) -> TenantQuerySet:
        qs = self._chain()
        qs._scoped = True
        return qs

    def _clone(self):
        clone = super()._clone()
        clone._scoped = self._scoped
        return clone

    def _guard(self) -> None:
        if not self._scoped:
            raise UnscopedQuery(
                f"{self.model.__name__} queried without .for_agency(); tenant data is always scoped"
            )

    # Every path that reaches the database goes through one of these.
    def _fetch_all(self):
        if self._result_cache is None:
            self._guard()
        super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._guard()
        return super().iterator(*args, **kwargs)

    def count(self):
        if self._result_cache is None:
            self._guard()
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._guard()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._guard()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._guard()
        return super().update(**kwargs)

    def delete(self):
        self._guard()
        return super().delete()

    def bulk_update(self, objs, fields, batch_size=None):
        self._guard()
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def explain(self, **options):
        self._guard()
        return super().explain(**options)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    pass


class TenantModel(models.Model):
    """A row of one agency's data in the default database."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True


class TenantFactModel(models.Model):
    """A row of one agency's data in the analytics database (agency id only: no cross-DB FK)."""

    agency_id = models.BigIntegerField(db_index=True)

    objects = TenantManager()

    class Meta:
        abstract = True


def get_for_agency(model: type[models.Model], agency: Agency, **lookup: Any) -> Any:
    """Fetch one object of `agency`, or raise Http404 (also for another agency's object)."""
    try:
        return model.objects.for_agency(agency).get(**lookup)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def get_location_for_request(request, ghl_location_id: str):
    """The sub-account `ghl_location_id` if the signed-in user may see it, else Http404."""
    from accounts.models import Location

    location = get_for_agency(Location, request.agency, ghl_id=ghl_location_id)
    _require_visible(request, location.ghl_id)
    return location


def location_for_request(request, ghl_location_id: str) -> SimpleNamespace:
    """get_location_for_request's check for a page that shows only the sub-account's id and
    name: one prepared read instead of a model instance."""
    row = _LOCATION_NAME().first(request.agency.pk, ghl_location_id)
    if row is None:
        raise Http404
    _require_visible(request, row[0])
    return SimpleNamespace(ghl_id=row[0], name=row[1])


def _require_visible(request, ghl_location_id: str) -> None:
    """Http404 for a sub-account outside the signed-in user's allowed ones."""
    allowed = getattr(request, "allowed_location_ids", None)
    if allowed is not None and ghl_location_id not in allowed:
        raise Http404


@functools.cache
def _LOCATION_NAME():
    from accounts.models import Location
    from accounts.tenantsql import Select

    return Select(Location, ("ghl_id", "name"), where=(("ghl_id", "="),))


def visible_locations(request) -> TenantQuerySet:
    """The sub-accounts the signed-in user may see, as a scoped queryset."""
    from accounts.models import Location

    qs = Location.objects.for_agency(request.agency)
    allowed = getattr(request, "allowed_location_ids", None)
    if allowed is not None:
        qs = qs.filter(ghl_id__in=allowed)
    return qs


class TenantMiddleware:
    """Sets request.agency, request.ghl_user and request.allowed_location_ids from the session.

    Anything missing or stale (agency uninstalled, user gone) leaves the request anonymous; the
    auth guard then turns it away.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.agency = None
        request.ghl_user = None
        request.allowed_location_ids = None
        from accounts.identity import resolve_session_identity

        try:
            resolve_session_identity(request)
        except (OperationalError, InterfaceError) as exc:
            # The database does not answer: nobody is signed in for this request, and guarded
            # pages answer 503 (gocsm.dboutage) rather than 401 or 500.
            request.agency = request.ghl_user = request.allowed_location_ids = None
            request.database_unavailable = unreachable_database(exc)
        return self.get_response(request)
