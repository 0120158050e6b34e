from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Agency
from analytics.agencyclock import agency_today
from analytics.pipeline import refresh_agency_days


class Command(BaseCommand):
    help = "Recompute rollups, scores, flags and alerts for an agency over a range of days."

    def add_arguments(self, parser):
        parser.add_argument("agency", type=int)
        parser.add_argument("--days", type=int, default=7, help="Days back from today")
        parser.add_argument("--first", type=date.fromisoformat)
        parser.add_argument("--last", type=date.fromisoformat)

    def handle(self, *args, agency, days, first=None, last=None, **options):
        obj = Agency.objects.filter(pk=agency).first()
        if obj is None:
            raise CommandError(f"No agency with id {agency}")
        last = last or agency_today(obj)
        first = first or last - timedelta(days=days - 1)
        result = refresh_agency_days(obj.pk, first, last)
        self.stdout.write(
            f"{result.scores} scores, {result.flags} flags, {result.alerts} alerts, "
            f"{result.rollup_rows} rollup rows"
        )
