"""Location tokens minted ahead of the sub-account tasks, on the agency's budget, once each."""

from __future__ import annotations

from urllib.parse import parse_qs

from analytics.models import LocationDayFact
from sync.models import SyncRun
from sync.pulls import agency_today
from sync.tasks import pull_agency


def _minted(ghl) -> list[str]:
    """The sub-accounts GHL minted a token for, one entry per successful mint, in order."""
    return [
        parse_qs(r.body.decode())["locationId"][0]
        for r in ghl.requests("/oauth/locationToken")
        if r.status == 200
    ]


def _run(agency) -> SyncRun:
    return SyncRun.objects.for_agency(agency).order_by("-pk").first()


def _pulled_ids(ghl, agency) -> list[str]:
    return sorted(loc.id for loc in ghl.world.locations(agency.company_id, 0) if loc.installed)


def test_a_pull_mints_each_token_once_before_the_sub_accounts_need_it(ghl, agency):
    pull_agency(agency.pk, reason="install")
    run = _run(agency)
    assert run.status == SyncRun.STATUS_OK
    minted = _minted(ghl)
    assert sorted(minted) == _pulled_ids(ghl, agency)  # each once, none missing
    log = ghl.requests()
    last_mint = max(i for i, r in enumerate(log) if r.path == "/oauth/locationToken")
    first_sub_account_call = min(
        i for i, r in enumerate(log) if r.path.startswith(("/workflows", "/calendars"))
    )
    assert last_mint < first_sub_account_call
    # The mints are the run's requests too.
    assert run.requests_made == len(log)


def test_a_second_pull_within_the_tokens_life_mints_nothing(ghl, agency):
    pull_agency(agency.pk, reason="install")
    first = len(_minted(ghl))
    pull_agency(agency.pk, reason="beat", kind="metadata")
    assert _run(agency).status == SyncRun.STATUS_OK
    assert len(_minted(ghl)) == first


def test_without_minters_each_sub_account_mints_its_own(ghl, agency, settings):
    settings.SYNC_TOKEN_MINTERS = 0
    pull_agency(agency.pk, reason="install")
    assert _run(agency).status == SyncRun.STATUS_OK
    assert sorted(_minted(ghl)) == _pulled_ids(ghl, agency)


def test_minting_ahead_stopped_by_ghl_trouble_leaves_the_tokens_to_the_sub_accounts(
    ghl, agency, settings
):
    settings.SYNC_TOKEN_MINTERS = 1
    # Enough 503s to spend every attempt of the minter's first mint, then GHL recovers.
    ghl.add_fault(
        "5xx", path="/oauth/locationToken", status=503, count=settings.GHL_RETRY_MAX_ATTEMPTS
    )
    pull_agency(agency.pk, reason="install")
    run = _run(agency)
    assert run.status == SyncRun.STATUS_OK
    assert sorted(_minted(ghl)) == _pulled_ids(ghl, agency)
    today = agency_today(agency)
    pulled = set(
        LocationDayFact.objects.for_agency(agency.pk)
        .filter(day=today)
        .values_list("location_ghl_id", flat=True)
    )
    assert pulled == set(_pulled_ids(ghl, agency))
    assert run.requests_made == len(ghl.requests())
