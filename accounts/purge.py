"""Deleting everything GoCSM holds about one agency, on its request.

Tables are discovered, not listed: every model (apps.get_models()) with a foreign key to Agency or
an `agency_id` column is purged on the database its router names, followed by the Agency row
itself. So a table added next month is covered without anyone editing this file.

Order, chosen so a crash half-way heals when the command is run again:
1. Redis: the agency's sessions through their index (its people are signed out at once), then
   cache keys, counters and locks under gocsm.agencykeys' prefix.
2. Purge hooks (e.g. billing forgetting the Stripe customer), then the analytics database.
3. The default database, ending with the Agency row, in one transaction together with the audit
   event that records the purge. Until this commits the agency still exists, so a re-run finds it.

The audit event names no person: a hash of the company id and row counts per table.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import router, transaction
from django.db.models import Q
from django.db.models.deletion import Collector

from accounts import sessionindex
from accounts.audit import erase_agency_audit_events, fingerprint, record
from accounts.models import Agency, AuditEvent
from gocsm.agencykeys import agency_cache_patterns, agency_redis_patterns

log = logging.getLogger(__name__)


# Callables (agency, dry_run) -> dict[str, int] run before the database rows go; billing registers
# one that forgets the Stripe customer. Registered from an AppConfig.ready().
_hooks: list[Callable[[Agency, bool], dict[str, int] | None]] = []


def register_purge_hook(hook: Callable[[Agency, bool], dict[str, int] | None]) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


@dataclass
class PurgeReport:
    company_id_hash: str
    dry_run: bool
    # "<db alias>:<app_label>.<Model>" -> rows (to be) removed
    tables: dict[str, int] = field(default_factory=dict)
    redis: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.tables.values())


def agency_models() -> list[tuple[type, list[str]]]:
    """Every model holding agency rows, with the column(s) naming the agency."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model is Agency or model._meta.proxy:
            continue
        columns = [
            f.attname
            for f in model._meta.concrete_fields
            if f.attname == "agency_id" or (f.is_relation and f.related_model is Agency)
        ]
        if columns:
            found.append((model, columns))
    return found


def _rows_of(model, columns, agency_id, db):
    q = Q()
    for column in columns:
        q |= Q(**{column: agency_id})
    # _base_manager: the tenant manager's "scope me" guard is for views; this job is scoped.
    return model._base_manager.using(db).filter(q)


def _log_entries(agency: Agency, models_by_db) -> list[int]:
    """Admin history rows about the agency's objects: their object_repr names people."""
    ids: list[int] = []
    agency_ct = ContentType.objects.get_for_model(Agency)
    ids += LogEntry.objects.filter(content_type=agency_ct, object_id=str(agency.pk)).values_list(
        "pk", flat=True
    )
    for db, entries in models_by_db.items():
        for model, columns in entries:
            ct = ContentType.objects.get_for_model(model, for_concrete_model=False)
            logged = LogEntry.objects.filter(content_type=ct)
            object_ids = set(logged.values_list("object_id", flat=True))
            if not object_ids:
                continue
            pk_field = model._meta.pk
            try:
                pks = [pk_field.to_python(o) for o in object_ids]
            except Exception:  # noqa: S112 - an id of another shape cannot be this agency's
                continue
            mine = _rows_of(model, columns, agency.pk, db).filter(pk__in=pks)
            mine_ids = {str(pk) for pk in mine.values_list("pk", flat=True)}
            ids += logged.filter(object_id__in=mine_ids).values_list("pk", flat=True)
    return ids


def _collect(db: str, querysets) -> Collector:
    collector = Collector(using=db, origin=None)
    for qs in querysets:
        collector.collect(qs)
    return collector


def _planned_counts(collector: Collector, db: str) -> Counter:
    pks: dict[str, set] = {}
    for model, instances in collector.data.items():
        pks.setdefault(model._meta.label, set()).update(obj.pk for obj in instances)
    for qs in collector.fast_deletes:
        pks.setdefault(qs.model._meta.label, set()).update(qs.values_list("pk", flat=True))
    return Counter({f"{db}:{label}": len(v) for label, v in pks.items() if v})


def _delete(collector: Collector, db: str) -> Counter:
    _, per_label = collector.delete()
    return Counter({f"{db}:{label}": n for label, n in per_label.items() if n})


# --- Redis ------------------------------------------------------------------------------------
def _cache_keys(pattern: str) -> list[str]:
    """Keys of the Django cache matching a glob, as the cache API names them."""
    if hasattr(cache, "iter_keys"):  # django-redis
        return list(cache.iter_keys(pattern))
    store = getattr(cache, "_cache", None)  # local memory (embedded mode)
    if isinstance(store, dict):
        import fnmatch

        keys = []
        for made in list(store):
            parts = made.split(":", 2)
            key = parts[2] if len(parts) == 3 else made
            if fnmatch.fnmatchcase(key, pattern):
                keys.append(key)
        return keys
    return []


def _raw_redis_keys(pattern: str) -> tuple[object | None, list[bytes]]:
    if not hasattr(cache, "iter_keys"):
        return None, []
    from django_redis import get_redis_connection

    conn = get_redis_connection("default")
    return conn, list(conn.scan_iter(match=pattern, count=500))


def purge_redis(agency: Agency, *, dry_run: bool) -> dict[str, int]:
    # Sessions first and through their index (one operation, no scan of every session key);
    # any the index missed name an agency row that is about to be gone, so they resolve to
    # nobody and are deleted on their next request.
    if dry_run:
        sessions = sessionindex.count_for_agency(agency.pk)
    else:
        sessions = sessionindex.destroy_agency(agency.pk)
    cached = [k for pattern in agency_cache_patterns(agency.pk) for k in _cache_keys(pattern)]
    conn, raw = None, []
    for pattern in agency_redis_patterns(agency.pk):
        conn, found = _raw_redis_keys(pattern)
        raw += found
    if not dry_run:
        cache.delete_many(cached)
        if conn is not None and raw:
            conn.delete(*raw)
    return {"sessions": sessions, "cache_keys": len(cached), "raw_keys": len(raw)}


# --- the purge --------------------------------------------------------------------------------
def purge_agency(
    agency: Agency,
    *,
    dry_run: bool = False,
    actor_type: str = AuditEvent.ACTOR_SYSTEM,
    actor_id: str = "",
    request=None,
) -> PurgeReport:
    """Remove every row and key of `agency`; with dry_run, only count them."""
    report = PurgeReport(company_id_hash=fingerprint(agency.company_id), dry_run=dry_run)
    report.redis = purge_redis(agency, dry_run=dry_run)
    for hook in list(_hooks):
        for name, n in (hook(agency, dry_run) or {}).items():
            report.redis[name] = n

    models_by_db: dict[str, list] = {}
    for model, columns in agency_models():
        db = router.db_for_write(model)
        models_by_db.setdefault(db, []).append((model, columns))

    tables: Counter = Counter()
    # Other databases first: the Agency row (default) goes last so a failed run can be repeated.
    for db in sorted(models_by_db, key=lambda alias: alias == "default"):
        entries = models_by_db[db]
        ordinary = [(m, c) for m, c in entries if not getattr(m, "append_only", False)]
        append_only = [m for m, _ in entries if getattr(m, "append_only", False)]
        with transaction.atomic(using=db):
            querysets = [_rows_of(m, c, agency.pk, db) for m, c in ordinary]
            if db == "default":
                log_ids = _log_entries(agency, models_by_db)
                querysets.append(LogEntry.objects.using(db).filter(pk__in=log_ids))
                querysets.append(Agency.objects.using(db).filter(pk=agency.pk))
            for model in append_only:
                n = model._base_manager.using(db).filter(agency_id=agency.pk).count()
                if n:
                    tables[f"{db}:{model._meta.label}"] += n
                if not dry_run:
                    erase_agency_audit_events(agency.pk, using=db)
            collector = _collect(db, querysets)
            if dry_run:
                tables += _planned_counts(collector, db)
                continue
            tables += _delete(collector, db)
            if db == "default":
                report.tables = dict(sorted(tables.items()))
                record(
                    "agency.purged",
                    actor_type=actor_type,
                    actor_id=actor_id,
                    target="agency",
                    request=request,
                    detail={
                        "company_id_hash": report.company_id_hash,
                        "tables": report.tables,
                        "redis": report.redis,
                    },
                )
    report.tables = dict(sorted(tables.items()))
    if not dry_run:
        log.info(
            "agency purged",
            extra={
                "event": "agency.purged",
                "company_id_hash": report.company_id_hash,
                "rows": report.total_rows,
            },
        )
    return report
