"""Tenant tables distributable by agency (docs/scaling.md §4): on PostgreSQL every primary key,
unique constraint and tenant-to-tenant foreign key of the sync app includes agency_id.

No row changes. The new unique constraint is added before the old one goes, so a run's
sub-account never lacks its once-only guard. On PostgreSQL, each primary key's index is rebuilt
under an ACCESS EXCLUSIVE lock (seconds for these tables: one row per sub-account and per run).
"""

import django.db.models.deletion
from django.db import migrations, models

from gocsm.migrationops import ForeignKeyWithAgency, PrimaryKeyWithAgency


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_location_status_history_and_plans"),
        ("sync", "0002_pull_progress"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="syncrunlocation",
            constraint=models.UniqueConstraint(
                fields=("agency", "run", "location_ghl_id"), name="syncrunloc_once_per_agency"
            ),
        ),
        migrations.RemoveConstraint(model_name="syncrunlocation", name="syncrunloc_once"),
        # Django's single-column constraint gives way to the composite one below.
        migrations.AlterField(
            model_name="syncrunlocation",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="locations",
                to="sync.syncrun",
            ),
        ),
        PrimaryKeyWithAgency("installation"),
        PrimaryKeyWithAgency("syncrun"),
        PrimaryKeyWithAgency("syncrunlocation"),
        PrimaryKeyWithAgency("locationpullstate"),
        ForeignKeyWithAgency("syncrunlocation", "run"),
    ]
