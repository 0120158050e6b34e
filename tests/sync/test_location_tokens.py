"""Location tokens: one mint per sub-account however many workers ask, cached within its life."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from sync.credentials import client_for_agency
from sync.locks import named_lock


def _mints(fake_ghl) -> list:
    return fake_ghl.requests("/oauth/locationToken")


def _first_location(fake_ghl, agency) -> str:
    return fake_ghl.world.locations(agency.company_id, 0)[0].id


@pytest.mark.django_db(transaction=True)  # the threads read the installation committed
def test_workers_asking_at_once_share_one_mint(installed, fake_ghl):
    location_id = _first_location(fake_ghl, installed)
    start = threading.Barrier(6)
    tokens, errors = [], []

    def ask():
        client = client_for_agency(installed)
        start.wait()
        try:
            tokens.append(client.tokens.location_token(location_id, client))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_mints(fake_ghl)) == 1
    assert len(set(tokens)) == 1
    # The shared token works for the sub-account.
    client = client_for_agency(installed)
    client.workflows(location_id)
    assert fake_ghl.requests("/workflows/")[-1].status == 200


def test_priming_mints_once_and_then_finds_the_cached_token(installed, fake_ghl):
    location_id = _first_location(fake_ghl, installed)
    client = client_for_agency(installed)
    assert client.tokens.prime_location_token(location_id, client) is True
    assert client.tokens.prime_location_token(location_id, client) is False
    client.calendars(location_id)  # the sub-account's call uses the primed token
    assert len(_mints(fake_ghl)) == 1


def test_priming_leaves_a_token_another_worker_is_minting_to_that_worker(installed, fake_ghl):
    location_id = _first_location(fake_ghl, installed)
    client = client_for_agency(installed)
    with named_lock(f"ghl-loctoken:agency:{installed.pk}:{location_id}", timeout=30, wait=1):
        assert client.tokens.prime_location_token(location_id, client) is False
    assert _mints(fake_ghl) == []


def test_a_token_expiring_within_the_refresh_margin_is_not_kept(installed, fake_ghl, settings):
    settings.GHL_TOKEN_REFRESH_MARGIN_SECONDS = 86_400  # longer than the fake's token lives
    location_id = _first_location(fake_ghl, installed)
    client = client_for_agency(installed)
    client.workflows(location_id)
    client.calendars(location_id)
    assert len(_mints(fake_ghl)) == 2
