"""Tenant tables distributable by agency (docs/scaling.md §4): on PostgreSQL the primary key of
every analytics table is (id, agency_id); their unique constraints already lead with agency_id.

No row changes. Each primary key's index is rebuilt under an ACCESS EXCLUSIVE lock, during which
reads and writes of that table wait: measured 5.3 s forward and 5.6 s back (Django's start-up
included) for a 2,000-sub-account agency's year, about 4 million rows. Run it while pulls and the
recompute are quiet.
"""

from django.db import migrations

from gocsm.migrationops import PrimaryKeyWithAgency


class Migration(migrations.Migration):
    dependencies = [("analytics", "0008_day_state_and_manual_mrr")]

    operations = [
        PrimaryKeyWithAgency(name)
        for name in (
            "locationdayfact",
            "useractivityday",
            "factrollup",
            "activityrollup",
            "scoresettings",
            "weightchange",
            "healthscore",
            "riskflag",
            "alert",
            "locationday",
            "manualmrr",
            "locationstate",
            "portfoliostate",
        )
    ]
