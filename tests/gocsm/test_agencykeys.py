"""Per-agency Redis keys carry the agency's Redis Cluster hash tag, and purge still finds them.

Redis Cluster places a key by the part between its first "{" and the next "}" (the hash tag) when
there is one; every key of one agency must therefore carry `{agency-<pk>}` as its first braces,
whether written raw or through Django's cache (whose KEY_PREFIX and version come first).
docs/scaling.md §5.
"""

from __future__ import annotations

import fnmatch
import io
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from redis.crc import key_slot

from accounts import sessionindex
from accounts.confirmation import _unknown_key
from gocsm.agencykeys import (
    agency_cache_key,
    agency_cache_pattern,
    agency_redis_key,
    agency_redis_pattern,
    legacy_agency_redis_pattern,
)
from sync import pulllock
from sync.credentials import _location_cache_key
from sync.status import resync_key


def hash_tag(key: str) -> str | None:
    """The part Redis Cluster hashes (its own rule: first "{", next "}", non-empty)."""
    start = key.find("{")
    if start < 0:
        return None
    end = key.find("}", start + 1)
    if end <= start + 1:
        return None
    return key[start + 1 : end]


class _Agency:
    def __init__(self, pk):
        self.pk = pk


def production_keys(agency_id: int) -> list[str]:
    """The keys each production module builds for one agency, as Redis stores them."""
    cache_keys = [
        pulllock._cache_key(agency_id),
        _location_cache_key(agency_id, "LocAbc123"),
        resync_key(agency_id),
        _unknown_key(_Agency(agency_id), "user-xyz"),
        agency_cache_key(*sessionindex._agency_index(agency_id)),
        agency_cache_key(*sessionindex._user_index(agency_id, 7)),
    ]
    raw_keys = [
        pulllock._key(agency_id),
        agency_redis_key(*sessionindex._agency_index(agency_id)),
        agency_redis_key(*sessionindex._user_index(agency_id, 7)),
    ]
    return [cache.make_key(k) for k in cache_keys] + raw_keys


@pytest.mark.parametrize("agency_id", [1, 4, 42, 987654321])
def test_every_key_of_an_agency_carries_its_tag_and_shares_one_slot(agency_id):
    keys = production_keys(agency_id)
    assert {hash_tag(k) for k in keys} == {f"agency-{agency_id}"}, keys
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert key_slot(keys[0].encode()) == key_slot(f"agency-{agency_id}".encode())


def test_key_shapes():
    assert agency_redis_key(42, "lock", "pull") == "gocsm:{agency-42}:lock:pull"
    assert agency_cache_key(42, "sync", "resync") == "{agency-42}:sync:resync"
    # django-redis stores "gocsm:<version>:<key>" (KEY_PREFIX gocsm); local memory ":<version>:<key>".
    assert re.fullmatch(r"(gocsm)?:\d+:\{agency-42\}:sync:resync", cache.make_key(resync_key(42)))
    assert agency_redis_pattern(42) == "gocsm:{agency-42}:*"


def test_an_agencys_pattern_matches_its_keys_and_no_other_agencys():
    # Redis's MATCH and fnmatch treat braces literally; 4 must not match 42 nor 42 match 4.
    for mine, other in ((4, 42), (42, 4), (4, 14)):
        pattern = agency_redis_pattern(mine)
        assert fnmatch.fnmatchcase(agency_redis_key(mine, "lock", "pull"), pattern)
        assert not fnmatch.fnmatchcase(agency_redis_key(other, "lock", "pull"), pattern)
        assert fnmatch.fnmatchcase(agency_cache_key(mine, "x"), agency_cache_pattern(mine))
        assert not fnmatch.fnmatchcase(agency_cache_key(other, "x"), agency_cache_pattern(mine))


@pytest.mark.django_db
def test_purge_finds_tagged_cache_keys(make_agency):
    a = make_agency(company_id="TagCompanyA")
    b = make_agency(company_id="TagCompanyB")
    cache.set(resync_key(a.pk), "a")
    cache.set(resync_key(b.pk), "b")
    call_command("purge_agency", a.company_id, stdout=io.StringIO())
    assert cache.get(resync_key(a.pk)) is None
    assert cache.get(resync_key(b.pk)) == "b"


@pytest.mark.services
@pytest.mark.django_db
def test_purge_finds_tagged_and_pre_tag_raw_keys_on_redis(make_agency):
    from django_redis import get_redis_connection

    a = make_agency(company_id="TagCompanyA")
    b = make_agency(company_id="TagCompanyB")
    conn = get_redis_connection("default")
    legacy_a = legacy_agency_redis_pattern(a.pk).replace("*", "lock:pull")
    legacy_b = legacy_agency_redis_pattern(b.pk).replace("*", "lock:pull")
    keys_a = [agency_redis_key(a.pk, "lock", "pull"), legacy_a]
    keys_b = [agency_redis_key(b.pk, "lock", "pull"), legacy_b]
    for key in keys_a + keys_b:
        conn.set(key, "1")
    try:
        call_command("purge_agency", a.company_id, stdout=io.StringIO())
        assert [conn.get(k) for k in keys_a] == [None, None]
        assert [conn.get(k) for k in keys_b] == [b"1", b"1"]
    finally:
        conn.delete(*keys_b)
