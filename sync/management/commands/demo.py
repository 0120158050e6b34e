"""`make run`: migrate both databases, load the demo portfolio and serve the app on localhost.

Runs only with the embedded development defaults (DEBUG=1), never against production settings.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Prepare the demo portfolio and serve GoCSM behind the development GHL shell."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Prepare data, do not serve.")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Days of history of a new demo (default 450: the last 60 pulled every day, one "
            "pull a week before). A churn model's 90-day labels are known 120 days late, and it "
            "needs 10 churn events: below about 400 days the demo stays in cold start.",
        )
        parser.add_argument(
            "--locations",
            type=int,
            default=None,
            help="Sub-accounts of a new demo over its history (default 100, about 70 connected "
            "today: the world loses roughly a third of its clients a year and wins as many).",
        )

    def handle(
        self,
        *args,
        port: int,
        no_serve: bool,
        days: int | None = None,
        locations: int | None = None,
        **options,
    ):
        if not settings.DEBUG:
            raise CommandError("The demo runs only with DEBUG=1 (use `make run`).")
        for alias in settings.DATABASES:
            call_command("migrate", database=alias, interactive=False, verbosity=0)
        from sync.demo import build_demo_portfolio

        sizes = {"days": days, "locations": locations}
        summary = build_demo_portfolio(
            stdout=self.stdout, **{k: max(1, v) for k, v in sizes.items() if v is not None}
        )
        url = f"http://localhost:{port}/dev/ghl-shell/"
        self.stdout.write(self.style.SUCCESS(f"\nGoCSM is ready: open {url}\n"))
        self.stdout.write(summary + "\n")
        if not no_serve:
            # GHL's consent page sends the browser back to the server that is running, so a
            # Marketplace install or a "Reconnect" from the status area completes here.
            settings.GHL_REDIRECT_URI = f"http://localhost:{port}/oauth/callback/"
            call_command("runserver", f"localhost:{port}", use_reloader=False)
