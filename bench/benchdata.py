"""Builds (once) the benchmark agency: BENCH_LOCATIONS (default 2,000) sub-accounts with 365 days
of facts in PostgreSQL.

Rows are bulk-inserted directly (the ingest functions' per-row upserts would make set-up, not
the thing measured, take most of the run); values follow the same shapes the pulls write.
"""

from __future__ import annotations

import os
import random
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gocsm.settings")


def _production_settings() -> None:
    """Measure what production runs: DEBUG off (no query log, no static file re-scanning),
    with throwaway secrets made for this run when none are given."""
    import secrets

    from cryptography.fernet import Fernet

    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault(
        "STATIC_ROOT", str(Path(__file__).resolve().parent.parent / "var" / "bench-static")
    )


_production_settings()

import django  # noqa: E402 settings come from the environment set just above

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.models import Agency, GHLUser, Location  # noqa: E402
from analytics.models import LocationDayFact, UserActivityDay  # noqa: E402

N_LOCATIONS = int(os.environ.get("BENCH_LOCATIONS", "2000"))
COMPANY = f"BenchAgency{N_LOCATIONS}Subaccounts"  # one agency per size: both can stay built
N_DAYS = 365
LAST_DAY = date(2026, 3, 31)


def require_postgres() -> None:
    if settings.DATABASES["analytics"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database (the benchmark measures PostgreSQL).")


def on_unlimited_plan(agency: Agency) -> Agency:
    """A paid Scale subscription: every one of the 2,000 sub-accounts is analysed (a trial's
    plan would analyse only the first 100 and measure less than the target asks)."""
    from billing.accounts import account_for
    from billing.models import BillingAccount

    account = account_for(agency)
    if (account.plan, account.status) != ("scale", BillingAccount.ACTIVE):
        account.plan, account.status = "scale", BillingAccount.ACTIVE
        account.save()
    return agency


def with_a_finished_pull(agency: Agency) -> Agency:
    """The bench agency's facts are bulk-inserted, not pulled; a real agency with a year of facts
    has finished pulls, and every page's status line reads the newest one. Without it the status
    also looks for a queued first install (one more read) that no such agency pays for."""
    from django.utils import timezone

    from sync.models import SyncRun

    if not SyncRun.objects.for_agency(agency).filter(status=SyncRun.STATUS_OK).exists():
        now = timezone.now()
        SyncRun.objects.create(
            agency=agency,
            kind="counts",
            status=SyncRun.STATUS_OK,
            reason="beat",
            requested_at=now,
            started_at=now,
            finished_at=now,
            locations_total=N_LOCATIONS,
            locations_done=N_LOCATIONS,
        )
    return agency


def vacuum() -> None:
    """VACUUM ANALYZE every table before a measurement.

    A recompute deletes and rewrites its rows and the build bulk-inserts thousands; in
    production autovacuum reclaims the dead rows and keeps the planner's statistics. This server
    runs with autovacuum off, so without this each bench run would measure the bloat of all the
    runs before it (2 GB of dead score rows after a few), and the planner would pick its plans
    for tables it still thinks are empty."""
    from django.apps import apps
    from django.db import connections, router

    for alias in ("default", "analytics"):
        with connections[alias].cursor() as cur:
            for model in apps.get_models():
                if model._meta.managed and router.allow_migrate_model(alias, model):
                    cur.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def build() -> Agency:
    require_postgres()
    call_command("migrate", verbosity=0)
    call_command("migrate", database="analytics", verbosity=0)
    agency = Agency.objects.filter(company_id=COMPANY).first()
    if agency and LocationDayFact.objects.for_agency(agency.pk).count() == N_LOCATIONS * N_DAYS:
        return with_a_finished_pull(on_unlimited_plan(agency))
    if agency:
        for model in (LocationDayFact, UserActivityDay):
            model.objects.for_agency(agency.pk).delete()
        agency.delete()
    agency = Agency.objects.create(
        company_id=COMPANY, name="Bench Agency", is_installed=True, timezone="America/Chicago"
    )
    GHLUser.objects.create(agency=agency, ghl_id="BenchOwner", name="Owner", role="owner")
    rng = random.Random(7)
    Location.objects.bulk_create(
        [
            Location(agency=agency, ghl_id=f"BLoc{i:05d}", name=f"Sub-account {i:05d}")
            for i in range(N_LOCATIONS)
        ],
        batch_size=2000,
    )
    first = LAST_DAY - timedelta(days=N_DAYS - 1)
    facts, acts = [], []
    for i in range(N_LOCATIONS):
        loc = f"BLoc{i:05d}"
        users = rng.randint(1, 6)
        mrr = rng.choice([0, 9700, 29700, 49700])
        activity = rng.random()
        for k in range(N_DAYS):
            day = first + timedelta(days=k)
            if k == 200 and rng.random() < 0.1:
                mrr = rng.choice([0, 9700, 29700])
            facts.append(
                LocationDayFact(
                    agency_id=agency.pk,
                    location_ghl_id=loc,
                    day=day,
                    users_total=users,
                    users_admin=1,
                    users_user=users - 1,
                    workflows_total=5 + k // 60,
                    workflows_published=rng.randint(0, 5),
                    workflows_draft=1,
                    workflows_created=int(rng.random() < 0.05),
                    calendars_total=2,
                    calendars_active=rng.randint(0, 2),
                    appointments_booked=rng.randint(0, 4),
                    products_total=rng.randint(0, 3),
                    conversations_total=100 + k,
                    conversations_created=rng.randint(0, 8),
                    saas_plan_id=f"plan{mrr}",
                    subscription_status="active" if mrr else "canceled",
                    mrr_cents=mrr,
                    mrr_currency="USD",
                )
            )
            if rng.random() < activity:
                acts.append(
                    UserActivityDay(
                        agency_id=agency.pk,
                        location_ghl_id=loc,
                        user_ghl_id=f"{loc}U1",
                        day=day,
                        sessions=rng.randint(1, 4),
                        minutes_total=30,
                        minutes_conversations=20,
                        minutes_dashboard=10,
                    )
                )
        if len(facts) >= 50000:
            LocationDayFact.objects.bulk_create(facts, batch_size=5000)
            UserActivityDay.objects.bulk_create(acts, batch_size=5000)
            facts, acts = [], []
    LocationDayFact.objects.bulk_create(facts, batch_size=5000)
    UserActivityDay.objects.bulk_create(acts, batch_size=5000)
    return with_a_finished_pull(on_unlimited_plan(agency))
