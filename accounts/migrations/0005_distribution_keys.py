"""Tenant tables distributable by agency (docs/scaling.md §4): on PostgreSQL the primary key of
every accounts table holding one agency's rows is (id, agency_id). No row changes.

Not here, with their reasons in tests/ops/test_distribution_keys.py: Agency (the tenant root, a
reference table) and AuditEvent (its agency is empty for staff and system events).
"""

from django.db import migrations

from gocsm.migrationops import PrimaryKeyWithAgency


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_location_status_history_and_plans")]

    operations = [
        PrimaryKeyWithAgency("location"),
        PrimaryKeyWithAgency("locationstatuschange"),
        PrimaryKeyWithAgency("saasplan"),
        PrimaryKeyWithAgency("ghluser"),
    ]
