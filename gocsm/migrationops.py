"""Migration operations that make tenant tables distributable by agency (docs/scaling.md §4).

Citus (PostgreSQL distributed by `agency_id`) requires every primary key, unique constraint and
foreign key between distributed tables to include the distribution column. Django cannot migrate
an existing table to a `CompositePrimaryKey`, cannot register such a model in admin, and cannot
point a ForeignKey at one, so the model keeps `id` as Django's primary key and these operations
change only the database's constraints, on PostgreSQL:

- `PrimaryKeyWithAgency("location")`: `PRIMARY KEY (id)` becomes `PRIMARY KEY (id, agency_id)`
  (same constraint name). `id` first, so Django's `WHERE id = %s` (admin, save(), delete()) keeps
  using the index prefix. Every tenant table's migrations apply it once, right after the table is
  created; tests/ops/test_distribution_keys.py fails for a tenant table they do not.
- `ForeignKeyWithAgency("syncrunlocation", "run")`: a foreign key between two tenant tables
  becomes `FOREIGN KEY (run_id, agency_id) REFERENCES sync_syncrun (id, agency_id)`. The Django
  field must say `db_constraint=False` (the composite constraint is this operation's).

Both are reversible and change no rows; they do nothing on SQLite (embedded mode, one machine,
where a primary key cannot be altered in place) and on a database the router does not migrate the
model to. Django's model state is untouched.
"""

from __future__ import annotations

from django.db.migrations.operations.base import Operation, OperationCategory

AGENCY_COLUMN = "agency_id"


def _applies(operation: Operation, schema_editor, model) -> bool:
    return schema_editor.connection.vendor == "postgresql" and operation.allow_migrate_model(
        schema_editor.connection.alias, model
    )


def _primary_key_name(schema_editor, table: str) -> str:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    names = [name for name, info in constraints.items() if info["primary_key"]]
    if len(names) != 1:
        raise ValueError(f"{table} has {len(names)} primary keys; expected one")
    return names[0]


def _foreign_keys_into(schema_editor, table: str) -> list[tuple[str, str]]:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE contype = 'f' AND confrelid = %s::regclass",
            [table],
        )
        return cursor.fetchall()


class PrimaryKeyWithAgency(Operation):
    reversible = True
    reduces_to_sql = False  # reads the catalog to find the constraint's name
    category = OperationCategory.ALTERATION

    def __init__(self, model_name: str):
        self.model_name = model_name

    def deconstruct(self):
        return self.__class__.__qualname__, [self.model_name], {}

    def state_forwards(self, app_label, state):
        pass

    def _set(self, schema_editor, model, columns: list[str]) -> None:
        table = model._meta.db_table
        incoming = _foreign_keys_into(schema_editor, table)
        if incoming:
            # A foreign key needs a unique key on exactly its referenced columns: it would block
            # the swap (or be dropped with it). Tenant-to-tenant keys go through
            # ForeignKeyWithAgency, created after this and dropped before its reverse.
            raise ValueError(
                f"foreign keys reference {table} ({incoming}); make them db_constraint=False and "
                "ForeignKeyWithAgency before changing its primary key"
            )
        name = _primary_key_name(schema_editor, table)
        qn = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)},"
            f" ADD CONSTRAINT {qn(name)} PRIMARY KEY ({', '.join(qn(c) for c in columns)})"
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if _applies(self, schema_editor, model):
            self._set(schema_editor, model, [model._meta.pk.column, AGENCY_COLUMN])

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if _applies(self, schema_editor, model):
            self._set(schema_editor, model, [model._meta.pk.column])

    def describe(self):
        return f"Primary key of {self.model_name} includes {AGENCY_COLUMN} (PostgreSQL)"

    @property
    def migration_name_fragment(self):
        return f"{self.model_name.lower()}_pk_with_agency"


class ForeignKeyWithAgency(Operation):
    reversible = True
    reduces_to_sql = True
    category = OperationCategory.ALTERATION

    def __init__(self, model_name: str, field_name: str):
        self.model_name = model_name
        self.field_name = field_name

    def deconstruct(self):
        return self.__class__.__qualname__, [self.model_name, self.field_name], {}

    def state_forwards(self, app_label, state):
        pass

    @staticmethod
    def constraint_name(table: str, column: str) -> str:
        return f"{table}_{column}_agency_fk"[:63]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not _applies(self, schema_editor, model):
            return
        field = model._meta.get_field(self.field_name)
        if field.db_constraint:
            raise ValueError(f"{model._meta.label}.{self.field_name} must be db_constraint=False")
        target = field.related_model._meta
        table, qn = model._meta.db_table, schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} ADD CONSTRAINT"
            f" {qn(self.constraint_name(table, field.column))}"
            f" FOREIGN KEY ({qn(field.column)}, {qn(AGENCY_COLUMN)})"
            f" REFERENCES {qn(target.db_table)} ({qn(target.pk.column)}, {qn(AGENCY_COLUMN)})"
            " DEFERRABLE INITIALLY DEFERRED"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not _applies(self, schema_editor, model):
            return
        field = model._meta.get_field(self.field_name)
        table, qn = model._meta.db_table, schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} DROP CONSTRAINT"
            f" {qn(self.constraint_name(table, field.column))}"
        )

    def describe(self):
        return (
            f"Foreign key {self.model_name}.{self.field_name} includes {AGENCY_COLUMN} (PostgreSQL)"
        )

    @property
    def migration_name_fragment(self):
        return f"{self.model_name.lower()}_{self.field_name}_fk_with_agency"
