"""Each dashboard page through the full middleware stack against 2,000 sub-accounts.

Prints p50/p95 per page, the p95 of a trivial authenticated page in the same run, and the
ratio (target <= 3x). Beside the overview it prints the Django admin changelist of the same
sub-accounts, as a staff member with a verified second factor sees it, and the overview's p95 as
a share of the changelist's (target <= 0.5). Run after (or it runs) the data build of
bench/rollup.py.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/dashboard.py [rounds]

Settings are production's (DEBUG off, hashed static files); see benchdata. The pages are
requested in interleaved rounds (each round asks every page once, the trivial page included),
so a burst of load from elsewhere on the machine falls on all of them alike instead of on
whichever page happened to be measured at that moment.
"""

import statistics
import sys
import time

from benchdata import LAST_DAY, N_LOCATIONS, build, vacuum
from django.conf import settings
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from django.test.utils import override_settings
from django.urls import include, path
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.identity import SESSION_AGENCY, SESSION_ROLE, SESSION_USER
from accounts.models import GHLUser
from analytics.models import PortfolioState
from analytics.pipeline import refresh_agency_days

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def trivial(request):
    return HttpResponse("ok")


urlpatterns = [path("bench-trivial/", trivial), path("", include("gocsm.urls"))]

agency = build()
call_command("collectstatic", interactive=False, verbosity=0)
vacuum()
state = PortfolioState.objects.for_agency(agency.pk).first()
if state is None or state.day != LAST_DAY or state.locations != N_LOCATIONS:
    from datetime import timedelta

    refresh_agency_days(agency.pk, LAST_DAY - timedelta(days=60), LAST_DAY)
    vacuum()  # the state rows were just written: the planner must know them (autovacuum would)
state = PortfolioState.objects.for_agency(agency.pk).get()
print(f"sub-accounts analysed: {state.locations} (plan limit applied: {state.limit_applied})")
owner = GHLUser.objects.for_agency(agency).get(ghl_id="BenchOwner")


ADMIN_CHANGELIST = "/admin/accounts/location/"


def staff_client() -> Client:
    """A staff member signed in to admin with the second factor verified (as the OTP form does)."""
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True
    )
    staff = Client()
    staff.force_login(user)
    session = staff.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return staff


def timings(clients: dict[str, Client]) -> dict[str, list[float]]:
    """{url: milliseconds per request}, each url asked of its own client, in interleaved rounds."""
    out: dict[str, list[float]] = {url: [] for url in clients}
    for url, client in clients.items():
        assert client.get(url, secure=True).status_code == 200, url  # warm-up
    for _ in range(ROUNDS):
        for url, client in clients.items():
            t = time.perf_counter()
            r = client.get(url, secure=True)
            out[url].append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (url, r.status_code)
    return out


def p50_p95(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


with override_settings(ROOT_URLCONF=__name__, SECURE_SSL_REDIRECT=False):
    client = Client()
    session = client.session
    session[SESSION_USER], session[SESSION_AGENCY], session[SESSION_ROLE] = (
        owner.pk,
        agency.pk,
        owner.role,
    )
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    pages = [
        "/app/",
        "/app/?sort=-mrr&page=3",
        "/app/at-risk/",
        "/app/adoption/",
        "/app/logins/",
        "/app/revenue/",
        "/app/locations/BLoc00042/",
        "/app/settings/",
    ]
    staff = staff_client()
    assert b"BLoc00042" in staff.get(ADMIN_CHANGELIST + "?q=BLoc00042", secure=True).content
    results = timings(
        {"/bench-trivial/": client, **dict.fromkeys(pages, client), ADMIN_CHANGELIST: staff}
    )
    trivial_p50, trivial_p95 = p50_p95(results["/bench-trivial/"])
    print(f"{ROUNDS} interleaved rounds")
    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>6}")
    print(f"{'trivial authenticated page':32} {trivial_p50:8.1f} {trivial_p95:8.1f}")
    worst = 0.0
    for url in pages:
        p50, p95 = p50_p95(results[url])
        worst = max(worst, p95 / trivial_p95)
        print(f"{url:32} {p50:8.1f} {p95:8.1f} {p95 / trivial_p95:6.1f}x")
    print(f"worst p95 ratio: {worst:.2f}x (target <= 3x)")
    admin_p50, admin_p95 = p50_p95(results[ADMIN_CHANGELIST])
    _p50, overview_p95 = p50_p95(results["/app/"])
    print(f"{'admin changelist, same sub-accounts':32} {admin_p50:8.1f} {admin_p95:8.1f}")
    print(
        f"overview p95 / admin changelist p95: {overview_p95 / admin_p95:.2f} (target <= 0.5;"
        f" {ADMIN_CHANGELIST}, {N_LOCATIONS:,} sub-accounts, 100 a page)"
    )
