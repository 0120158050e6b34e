"""Send the analytics app to the "analytics" alias and everything else to "default"."""

from __future__ import annotations

from django.db import connections

ANALYTICS_APPS = frozenset({"analytics"})
ANALYTICS_DB = "analytics"


def _same_database(a: str, b: str) -> bool:
    # Live settings, not the configured ones: during tests each alias gets its own test database.
    sa, sb = connections[a].settings_dict, connections[b].settings_dict
    keys = ("ENGINE", "NAME", "HOST", "PORT")
    return all(sa.get(k) == sb.get(k) for k in keys)


class AnalyticsRouter:
    def db_for_read(self, model, **hints):
        return ANALYTICS_DB if model._meta.app_label in ANALYTICS_APPS else "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        # Objects may relate only within one store; cross-store links are plain id columns.
        return (obj1._meta.app_label in ANALYTICS_APPS) == (obj2._meta.app_label in ANALYTICS_APPS)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in ANALYTICS_APPS:
            if db == ANALYTICS_DB:
                return True
            # When both aliases name one database, migrating "default" records the analytics
            # migrations in the shared django_migrations table, so it must also create them.
            return db == "default" and _same_database("default", ANALYTICS_DB)
        return db != ANALYTICS_DB
