"""Every migration of both databases can be undone: each app migrated to zero and back up on
PostgreSQL leaves no table behind on the way down and the same schema on the way up.

Runs in a child process against two databases of its own (named after DATABASE_URL's, with a
suffix), created and dropped here: the test databases of this run are never touched.
"""

from __future__ import annotations

import json
import os

import environ
import psycopg
import pytest
from psycopg import sql

from tests.childproc import run_python

CHILD = r"""
import json, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connections, router
from django.db.migrations.loader import MigrationLoader

def schema(alias):
    with connections[alias].cursor() as c:
        c.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name <> 'django_migrations' ORDER BY 1, 2"
        )
        columns = c.fetchall()
        c.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename <> 'django_migrations' ORDER BY 1"
        )
        indexes = c.fetchall()
        c.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
            " AND conrelid::regclass::text <> 'django_migrations' ORDER BY 1, 2"
        )
        constraints = c.fetchall()
    return {"columns": columns, "indexes": indexes, "constraints": constraints}

def tables(alias):
    with connections[alias].cursor() as c:
        c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'django_migrations' ORDER BY 1"
        )
        return [r[0] for r in c.fetchall()]

out = {}
for alias in ("default", "analytics"):
    call_command("migrate", database=alias, verbosity=0, interactive=False)
    up = schema(alias)
    apps = sorted(MigrationLoader(connections[alias]).migrated_apps)
    for app in apps:
        call_command("migrate", app, "zero", database=alias, verbosity=0, interactive=False)
    with connections[alias].cursor() as c:
        c.execute("SELECT count(*) FROM django_migrations")
        applied = c.fetchone()[0]
    left = tables(alias)
    call_command("migrate", database=alias, verbosity=0, interactive=False)
    again = schema(alias)
    out[alias] = {
        "apps": apps,
        "tables_at_zero": left,
        "applied_at_zero": applied,
        "same_schema_back_up": again == up,
        "tables_up": len(tables(alias)),
        # Only when they differ, to show how.
        "schema_first_up": None if again == up else up,
        "schema_back_up": None if again == up else again,
    }
json.dump(out, sys.stdout)
"""


@pytest.fixture
def own_databases():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    config = environ.Env.db_url_config(url)
    base = config["NAME"]
    names = {"default": f"{base}_migrations_default", "analytics": f"{base}_migrations_analytics"}
    admin = psycopg.connect(
        host=config.get("HOST") or "127.0.0.1",
        port=config.get("PORT") or 5432,
        user=config.get("USER") or "postgres",
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
    for name in names.values():
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    user = config.get("USER") or "postgres"
    secret = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    urls = {k: f"postgres://{user}{secret}@{host}:{port}/{v}" for k, v in names.items()}
    yield urls
    for name in names.values():
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    admin.close()


@pytest.mark.services
@pytest.mark.slow
def test_every_app_of_both_databases_migrates_to_zero_and_back(own_databases):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "CELERY_BROKER_URL", "ANALYTICS_DATABASE_URL")
    }
    env.update(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="gocsm.settings",
        DATABASE_URL=own_databases["default"],
        ANALYTICS_DATABASE_URL=own_databases["analytics"],
    )
    result = run_python(CHILD, env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert {"accounts", "sync", "billing"} <= set(report["default"]["apps"])
    assert "analytics" in report["analytics"]["apps"]
    for alias, seen in report.items():
        assert seen["tables_at_zero"] == [], f"{alias}: left behind at zero"
        assert seen["applied_at_zero"] == 0, f"{alias}: migrations still recorded at zero"
        assert seen["same_schema_back_up"], f"{alias}: schema differs after going back up"
        assert seen["tables_up"] > 5
