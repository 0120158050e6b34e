"""manage.py purge_agency <company_id> [--dry-run]: delete everything of one agency on request."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Agency
from accounts.purge import purge_agency


class Command(BaseCommand):
    help = (
        "Delete every row of an agency in both databases, its Redis keys and its Stripe customer "
        "link. --dry-run prints what would go and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("company_id", help="the GHL company id of the agency")
        parser.add_argument(
            "--dry-run", action="store_true", help="print counts per table, change nothing"
        )

    def handle(self, company_id, dry_run=False, **options):
        agency = Agency.objects.filter(company_id=company_id.strip()).first()
        if agency is None:
            raise CommandError(
                "No agency has that company id (already purged, or a typo). Nothing changed."
            )
        report = purge_agency(agency, dry_run=dry_run)
        out = self.stdout
        out.write(("DRY RUN - nothing changed. " if dry_run else "") + "Rows per table:")
        width = max((len(t) for t in report.tables), default=10)
        for table, n in report.tables.items():
            out.write(f"  {table.ljust(width)}  {n}")
        out.write("Redis and external:")
        for name, n in report.redis.items():
            out.write(f"  {name.ljust(width)}  {n}")
        out.write(f"Total rows: {report.total_rows}")
        if not dry_run:
            out.write(
                self.style.SUCCESS(
                    f"Purged. Audit reference (company id hash): {report.company_id_hash}"
                )
            )
