"""Every tenant table is distributable by agency: its primary key and every unique constraint
include agency_id, in both databases (docs/scaling.md §4; what Citus requires of a table
distributed by agency_id).

A tenant table is any model, of any app, with an `agency` foreign key or an `agency_id` column
(the rule accounts.purge uses to find agency data). Three checks:
- the models' unique constraints (every backend);
- the migrations: each tenant table gets gocsm.migrationops.PrimaryKeyWithAgency (every backend;
  SQLite keeps single-column keys, so this is what catches a new table there);
- the real schema on PostgreSQL: primary keys, unique constraints and unique indexes as the
  catalog has them, on the database each model's router names.
A table that is deliberately not distributed by agency is listed in NOT_DISTRIBUTED with why.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connections, models, router
from django.db.migrations.loader import MigrationLoader
from django.test.utils import isolate_apps

from accounts.models import Agency
from gocsm.migrationops import PrimaryKeyWithAgency

AGENCY_COLUMN = "agency_id"

# label -> why it stays out of the agency distribution (and where it lives instead on Citus).
NOT_DISTRIBUTED = {
    "accounts.AuditEvent": (
        "agency is empty for staff and system events and a distribution column cannot be; "
        "append-only, stays a local table on the coordinator (plan: split agency events into a "
        "table distributed by agency_id if their volume matters)"
    ),
    "billing.BillingAccount": (
        "Stripe webhooks find the agency by stripe_customer_id, which must stay unique across all "
        "agencies; one row per agency, so a reference table (replicated), like Agency"
    ),
    "billing.StripeEvent": (
        "Stripe's ledger keyed by Stripe's global event id (a replay must hit the unique "
        "constraint whatever agency it names); agency_id is empty for events touching none; a "
        "local table on the coordinator where the webhook lands"
    ),
}


def agency_field(model) -> models.Field | None:
    for field in model._meta.concrete_fields:
        if field.attname == AGENCY_COLUMN or (field.is_relation and field.related_model is Agency):
            return field
    return None


def tenant_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m is not Agency and not m._meta.proxy and agency_field(m) is not None
    ]


def distributed_models() -> list[type[models.Model]]:
    return [m for m in tenant_models() if m._meta.label not in NOT_DISTRIBUTED]


def model_problems(model) -> list[str]:
    """Unique constraints of the model (as Django declares them) that lack the agency."""
    field = agency_field(model)
    if field is None:
        return [f"{model._meta.label}: no agency column"]
    if field.attname != AGENCY_COLUMN or field.column != AGENCY_COLUMN:
        return [f"{model._meta.label}: the agency column must be named {AGENCY_COLUMN}"]
    names = {field.name, field.attname}
    problems = []
    for f in model._meta.concrete_fields:
        if f.unique and not f.primary_key and f is not field:
            problems.append(f"{model._meta.label}.{f.name} is unique without {AGENCY_COLUMN}")
    for together in model._meta.unique_together:
        if not names & set(together):
            problems.append(f"{model._meta.label}: unique_together {together} lacks the agency")
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and not names & set(
            constraint.fields or ()
        ):
            problems.append(f"{model._meta.label}: {constraint.name} lacks the agency")
    return problems


def migrated_with_agency_key() -> set[tuple[str, str]]:
    """(app_label, model_name) of every table a migration gives PrimaryKeyWithAgency."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {
        (app_label, op.model_name.lower())
        for (app_label, _), migration in loader.disk_migrations.items()
        for op in migration.operations
        if isinstance(op, PrimaryKeyWithAgency)
    }


def migration_problems(models_, migrated) -> list[str]:
    return [
        f"{m._meta.label}: no migration applies PrimaryKeyWithAgency"
        for m in models_
        if (m._meta.app_label, m._meta.model_name) not in migrated
    ]


def test_the_walk_finds_the_tenant_tables_of_every_app_and_both_databases():
    labels = {m._meta.label for m in tenant_models()}
    assert {"accounts.Location", "sync.SyncRunLocation", "analytics.LocationDayFact"} <= labels
    assert {"billing.BillingAccount"} <= labels
    assert {router.db_for_write(m) for m in tenant_models()} == {"default", "analytics"}
    # Every exception is still a tenant table (a stale entry would hide nothing, but mislead).
    assert set(NOT_DISTRIBUTED) <= labels


def test_every_unique_constraint_of_a_tenant_table_includes_the_agency():
    problems = [p for m in distributed_models() for p in model_problems(m)]
    assert problems == []


def test_every_tenant_table_gets_a_primary_key_with_the_agency_from_its_migrations():
    assert migration_problems(distributed_models(), migrated_with_agency_key()) == []


@isolate_apps("tests")
def test_the_checks_fail_for_a_new_tenant_table_that_lacks_the_agency():
    class Widget(models.Model):
        agency = models.ForeignKey(Agency, on_delete=models.CASCADE)
        code = models.CharField(max_length=10, unique=True)
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "tests"
            constraints = [models.UniqueConstraint(fields=["name"], name="widget_name")]

    class Tagged(models.Model):
        agency_id = models.BigIntegerField()
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "tests"
            constraints = [
                models.UniqueConstraint(fields=["agency_id", "name"], name="tagged_name")
            ]

    assert model_problems(Widget) == [
        "tests.Widget.code is unique without agency_id",
        "tests.Widget: widget_name lacks the agency",
    ]
    assert model_problems(Tagged) == []
    assert migration_problems([Widget, Tagged], migrated_with_agency_key()) == [
        "tests.Widget: no migration applies PrimaryKeyWithAgency",
        "tests.Tagged: no migration applies PrimaryKeyWithAgency",
    ]


@pytest.mark.django_db(databases=["default", "analytics"])
def test_the_postgresql_schema_has_the_agency_in_every_primary_key_and_unique_constraint():
    if connections["default"].vendor != "postgresql":
        pytest.skip("SQLite keeps single-column keys (one machine); checked on PostgreSQL")
    problems = []
    for model in distributed_models():
        connection = connections[router.db_for_write(model)]
        table = model._meta.db_table
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        primary = [c for c in constraints.values() if c["primary_key"]]
        if len(primary) != 1 or AGENCY_COLUMN not in primary[0]["columns"]:
            problems.append(f"{table}: primary key {[c['columns'] for c in primary]}")
        for name, info in constraints.items():
            if info["unique"] and not info["primary_key"] and AGENCY_COLUMN not in info["columns"]:
                problems.append(f"{table}: unique {name} on {info['columns']}")
        for name, info in constraints.items():
            to_agency = info["foreign_key"] and info["foreign_key"][0] == Agency._meta.db_table
            if info["foreign_key"] and not to_agency and AGENCY_COLUMN not in info["columns"]:
                problems.append(f"{table}: foreign key {name} on {info['columns']}")
    assert problems == []
