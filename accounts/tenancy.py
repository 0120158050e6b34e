"""The one place that knows how tenant data is scoped.

Every model holding an agency's data derives from TenantModel (default database, a real foreign
key) or TenantFactModel (analytics database, a plain agency id since foreign keys cannot cross
databases). Their default manager refuses to run a query that was not scoped with
`.for_agency(agency)`; jobs and admin say so explicitly with `.all_agencies()`.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404


class UnscopedQuery(RuntimeError):
    """A tenant model was queried without for_agency() or all_agencies()."""


class TenantQuerySet(models.QuerySet):
    _scoped = False

    def for_agency(self, agency: models.Model | int) -> TenantQuerySet:
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


def get_for_agency(model: type[models.Model], agency: models.Model, **lookup: Any) -> Any:
    """Fetch one object of `agency`, or raise Http404 (also for another agency's object)."""
    try:
        return model.objects.for_agency(agency).get(**lookup)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
