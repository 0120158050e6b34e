from django.core.management.base import BaseCommand, CommandError

from accounts.models import Agency
from analytics.digest import send_digest


class Command(BaseCommand):
    help = "Send the weekly analytics digest to owners, admins and CSMs (all installed agencies)."

    def add_arguments(self, parser):
        parser.add_argument("--agency", type=int, help="Only this agency id")

    def handle(self, *args, agency=None, **options):
        agencies = Agency.objects.installed()
        if agency is not None:
            agencies = agencies.filter(pk=agency)
            if not agencies.exists():
                raise CommandError(f"No installed agency with id {agency}")
        total = 0
        for a in agencies:
            total += send_digest(a)
        self.stdout.write(f"digest sent to {total} recipients")
