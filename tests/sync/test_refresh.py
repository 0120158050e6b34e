"""Token refresh: one refresher per agency, the new pair committed first, revocation handled."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from sync import tokens
from sync.credentials import AgencyTokens, client_for_agency
from sync.models import Installation


def _run_concurrently(n, fn):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_call_ghl_once_and_the_install_survives(installed, fake_ghl):
    inst = Installation.objects.get(agency=installed)
    stale = tokens.decrypt(inst.access_token)
    fake_ghl.expire_access_tokens()

    results, errors = _run_concurrently(
        4, lambda: AgencyTokens(installed).refresh_company_token(rejected=stale)
    )
    assert errors == []
    assert len(set(results)) == 1
    assert results[0] != stale
    assert len(fake_ghl.requests("/oauth/token")) == 1  # nobody spent the refresh token twice
    inst.refresh_from_db()
    assert tokens.decrypt(inst.access_token) == results[0]  # committed before use
    # The stored refresh token is the live one: the install keeps working.
    fake_ghl.expire_access_tokens()
    assert client_for_agency(installed).company().id == installed.company_id
    installed.refresh_from_db()
    assert not installed.needs_reauth


@pytest.mark.django_db(transaction=True)
def test_concurrent_pulls_on_an_expired_token_share_one_refresh(installed, fake_ghl):
    fake_ghl.expire_access_tokens()
    results, errors = _run_concurrently(3, lambda: client_for_agency(installed).company().id)
    assert errors == []
    assert results == [installed.company_id] * 3
    assert len(fake_ghl.requests("/oauth/token")) == 1


def test_refresh_ahead_of_expiry(installed, fake_ghl, settings):
    settings.GHL_TOKEN_REFRESH_MARGIN_SECONDS = 86400 * 2  # every token counts as nearly expired
    client_for_agency(installed).company()
    assert [r.path for r in fake_ghl.requests()][:1] == ["/oauth/token"]


@pytest.mark.django_db(transaction=True)
def test_token_revoked_while_a_pull_runs_stops_cleanly(installed, fake_ghl):
    from sync.ghl.errors import AuthRevoked

    client = client_for_agency(installed)
    first = next(client.iter_locations())
    fake_ghl.revoke(installed.company_id)
    fake_ghl.expire_access_tokens()
    with pytest.raises(AuthRevoked):
        client.get_location(first.id)
    installed.refresh_from_db()
    assert installed.needs_reauth
    inst = Installation.objects.get(agency=installed)
    assert not inst.has_tokens
    assert len(fake_ghl.requests("/oauth/token")) == 1  # one refused refresh, no loop


def test_rotate_token_keys_reencrypts_with_the_newest_key(installed, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old_key]
    inst = Installation.objects.get(agency=installed)
    plain_access = "access-" + "x" * 20
    inst.access_token, inst.refresh_token = tokens.encrypt(plain_access), tokens.encrypt("r1")
    inst.save()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_token_keys")
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]  # old key retired
    inst.refresh_from_db()
    assert tokens.decrypt(inst.access_token) == plain_access
    assert tokens.decrypt(inst.refresh_token) == "r1"
    settings.TOKEN_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(tokens.InvalidToken):
        tokens.decrypt(inst.access_token)  # really under the new key now
