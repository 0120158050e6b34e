"""The GHL client against the fake: versions, pagination, retries, refresh, records."""

from __future__ import annotations

import pytest

from sync.credentials import client_for_agency
from sync.ghl.errors import AuthRevoked, BadResponse, GHLUnavailable, NotFound, RateLimited


def test_every_call_carries_bearer_and_the_service_version(installed, fake_ghl):
    client = client_for_agency(installed)
    loc = next(client.iter_locations())
    client.workflows(loc.id)
    client.calendars(loc.id)
    client.count_conversations(loc.id)
    versions = {r.path: r.headers.get("Version") for r in fake_ghl.requests()}
    assert versions["/locations/search"] == "2021-07-28"
    assert versions["/workflows/"] == "2021-07-28"
    assert versions["/calendars/"] == "2021-04-15"
    assert versions["/conversations/search"] == "2021-04-15"
    assert versions["/oauth/locationToken"] == "2021-07-28"
    unauthenticated = [
        (r.method, r.path)
        for r in fake_ghl.requests()
        if not r.headers.get("Authorization", "").startswith("Bearer ")
    ]
    assert unauthenticated == []


def test_iter_locations_pages_through_every_sub_account(installed, fake_ghl):
    client = client_for_agency(installed)
    ids = [loc.id for loc in client.iter_locations()]
    expected = [loc.id for loc in fake_ghl.world.locations(installed.company_id, fake_ghl.today())]
    assert ids == expected
    assert len(ids) == len(set(ids))


def test_small_pages_walk_skip_limit_to_the_count(installed, fake_ghl):
    client = client_for_agency(installed)
    users = list(
        client.paginate_skip(
            "/users/search",
            version="2021-07-28",
            items_key="users",
            total_key="count",
            limit=7,
            params={"companyId": installed.company_id},
        )
    )
    world_users = fake_ghl.world.users(installed.company_id, fake_ghl.today())
    assert [u["id"] for u in users] == [u.id for u in world_users]
    skips = [r.query["skip"][0] for r in fake_ghl.requests("/users/search")]
    assert skips[:3] == ["0", "7", "14"]


def test_saas_pages_follow_has_next(installed, fake_ghl):
    client = client_for_agency(installed)
    rows = list(client.iter_saas_locations())
    pages = [r.query["page"][0] for r in fake_ghl.requests("/saas/saas-locations")]
    assert len(pages) == max(1, -(-len(rows) // 10))
    assert len({r.location_id for r in rows}) == len(rows)


def test_conversation_cursor_pages_cover_the_total(installed, fake_ghl):
    client = client_for_agency(installed)
    loc = next(client.iter_locations())
    total = client.count_conversations(loc.id)
    convs = list(client.iter_conversations(loc.id))
    assert len(convs) == total
    assert len({c.id for c in convs}) == total


def test_conversation_counts_filter_by_direction_and_date(installed, fake_ghl):
    client = client_for_agency(installed)
    loc = next(client.iter_locations())
    total = client.count_conversations(loc.id)
    inbound = client.count_conversations(loc.id, direction="inbound")
    outbound = client.count_conversations(loc.id, direction="outbound")
    assert inbound + outbound == total
    day = fake_ghl.world.day_start(fake_ghl.today() - 3)
    from datetime import timedelta

    one_day = client.count_conversations(loc.id, start=day, end=day + timedelta(days=1, seconds=-1))
    assert one_day == fake_ghl.world.conversation_counts(loc.id, fake_ghl.today() - 3)[0]


def test_products_count_reads_the_total_array(installed, fake_ghl):
    client = client_for_agency(installed)
    loc = next(client.iter_locations())
    assert client.count_products(loc.id) == len(list(client.iter_products(loc.id)))


def test_server_errors_are_retried_then_succeed(installed, fake_ghl):
    client = client_for_agency(installed)
    fake_ghl.add_fault("5xx", count=2, path="/companies", status=502)
    company = client.company()
    assert company.id == installed.company_id
    assert client.retries == 2
    assert [r.status for r in fake_ghl.requests("/companies")] == [502, 502, 200]


def test_persistent_outage_raises_ghl_unavailable(installed, fake_ghl, settings):
    settings.GHL_RETRY_MAX_ATTEMPTS = 3
    client = client_for_agency(installed)
    fake_ghl.add_fault("5xx", path="/companies", status=503)
    with pytest.raises(GHLUnavailable):
        client.company()
    assert len(fake_ghl.requests("/companies")) == 3


def test_a_429_with_retry_after_waits_then_succeeds(installed, fake_ghl):
    slept = []
    client = client_for_agency(installed, sleep=slept.append)
    fake_ghl.add_fault("429", count=1, path="/companies", seconds=2)
    assert client.company().id == installed.company_id
    assert client.rate_limited == 1
    assert sum(slept) >= 2  # Retry-After honoured before the second try


def test_a_429_storm_past_the_deadline_raises_rate_limited(installed, fake_ghl, settings):
    settings.GHL_CALL_DEADLINE_SECONDS = 1.0
    client = client_for_agency(installed, sleep=lambda s: None)
    fake_ghl.add_fault("429", path="/companies", seconds=30)
    with pytest.raises(RateLimited) as info:
        client.company()
    assert info.value.retry_after >= 1


def test_truncated_and_non_json_bodies_are_retried(installed, fake_ghl):
    client = client_for_agency(installed)
    fake_ghl.add_fault("truncate", count=1, path="/companies")
    fake_ghl.add_fault("non_json", count=1, path="/companies")
    assert client.company().id == installed.company_id
    assert len(fake_ghl.requests("/companies")) == 3


def test_unreadable_bodies_forever_raise_bad_response(installed, fake_ghl, settings):
    settings.GHL_RETRY_MAX_ATTEMPTS = 2
    client = client_for_agency(installed)
    fake_ghl.add_fault("non_json", path="/companies")
    with pytest.raises(BadResponse):
        client.company()


def test_slow_responses_time_out_and_are_retried(installed, fake_ghl, settings):
    settings.GHL_READ_TIMEOUT_SECONDS = 0.3
    client = client_for_agency(installed)
    fake_ghl.add_fault("slow", count=1, path="/companies", seconds=1.0)
    assert client.company().id == installed.company_id
    assert client.retries == 1


def test_huge_pages_are_consumed_without_duplicates(installed, fake_ghl):
    client = client_for_agency(installed)
    fake_ghl.add_fault("huge_pages", path="/users/search", factor=50)
    users = list(
        client.paginate_skip(
            "/users/search",
            version="2021-07-28",
            items_key="users",
            total_key="count",
            limit=5,
            params={"companyId": installed.company_id},
        )
    )
    assert len(users) == len({u["id"] for u in users})
    assert len(users) == len(fake_ghl.world.users(installed.company_id, fake_ghl.today()))


def test_expired_token_is_refreshed_once_on_401(installed, fake_ghl):
    client = client_for_agency(installed)
    fake_ghl.expire_access_tokens()
    assert client.company().id == installed.company_id
    statuses = [(r.path, r.status) for r in fake_ghl.requests()]
    assert statuses == [
        ("/companies/" + installed.company_id, 401),
        ("/oauth/token", 200),
        ("/companies/" + installed.company_id, 200),
    ]


def test_unknown_location_is_not_found(installed, fake_ghl):
    client = client_for_agency(installed)
    with pytest.raises(NotFound):
        client.get_location("NoSuchLocation000000")


def test_revoked_grant_raises_auth_revoked_and_marks_reauth(installed, fake_ghl):
    from accounts.models import AuditEvent

    fake_ghl.revoke(installed.company_id)
    client = client_for_agency(installed)
    with pytest.raises(AuthRevoked):
        client.company()
    installed.refresh_from_db()
    assert installed.needs_reauth is True
    actions = set(AuditEvent.objects.filter(agency=installed).values_list("action", flat=True))
    assert {"token.refresh_failed", "reauth_needed"} <= actions
    # Never loops: a second call fails at once without asking GHL again.
    before = len(fake_ghl.requests())
    with pytest.raises(AuthRevoked):
        client_for_agency(installed).company()
    assert len(fake_ghl.requests()) == before


def test_location_tokens_are_cached_encrypted(installed, fake_ghl):
    from django.core.cache import cache

    from accounts.purge import purge_redis
    from gocsm.agencykeys import agency_cache_key

    client = client_for_agency(installed)
    loc = next(client.iter_locations())
    client.workflows(loc.id)
    client.calendars(loc.id)
    assert len(fake_ghl.requests("/oauth/locationToken")) == 1
    key = agency_cache_key(installed.pk, "loctoken", loc.id)
    cached = cache.get(key)
    assert cached.startswith("gAAAAA")  # Fernet ciphertext, not the token
    token = fake_ghl.requests("/workflows/")[0].headers["Authorization"][7:]
    assert token not in cached
    # Under the agency's key prefix, so purging the agency takes its tokens with it.
    purge_redis(installed, dry_run=False)
    assert cache.get(key) is None


def test_records_keep_no_end_customer_fields(installed, fake_ghl):
    client = client_for_agency(installed)
    loc = next(client.iter_locations())
    convs = list(client.iter_conversations(loc.id))
    assert convs
    for conv in convs:
        assert not {"fullName", "email", "phone", "lastMessageBody"} & set(dir(conv))
    assert fake_ghl.customer_values  # the fake did serve contact data
    text = repr(convs) + repr(client.get_location(loc.id))
    assert not any(v in text for v in fake_ghl.customer_values)
