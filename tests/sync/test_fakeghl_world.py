"""The fake GHL's world and its in-process transport: what later work (the demo, predicted
churn) relies on."""

from __future__ import annotations

import json

import pytest
import requests

from sync.fakeghl.inprocess import InProcessTransport
from sync.fakeghl.stories import STORIES
from sync.fakeghl.world import World


def test_the_in_process_transport_answers_exactly_as_http(fake_ghl, installed):
    """Same status, body and GHL headers for every kind of answer, and both are in the log."""
    from sync.credentials import AgencyTokens

    token = AgencyTokens(installed).company_token()
    company = installed.company_id
    location = fake_ghl.world.locations(company, fake_ghl.today())[0].id
    calls = [
        ("GET", "/locations/search", {"companyId": company}, "2021-07-28", token),
        ("GET", f"/saas/saas-locations/{company}", {"page": "1"}, "2021-04-15", token),
        ("GET", "/users/search", {"companyId": company, "limit": "3"}, "2021-07-28", token),
        ("GET", "/workflows/", {"locationId": location}, "2021-07-28", token),  # wrong token kind
        ("GET", "/locations/search", {}, "2021-04-15", token),  # wrong Version
        ("GET", "/locations/search", {}, "2021-07-28", "not-a-token"),
        ("GET", "/nowhere", {}, "2021-07-28", token),
    ]
    over_http = requests.Session()
    in_process = requests.Session()
    in_process.mount(fake_ghl.base_url, InProcessTransport(fake_ghl))
    for method, path, params, version, bearer in calls:
        headers = {"Version": version, "Authorization": f"Bearer {bearer}"}
        answers = [
            s.request(method, fake_ghl.base_url + path, params=params, headers=headers, timeout=5)
            for s in (over_http, in_process)
        ]
        a, b = answers
        assert (a.status_code, a.content) == (b.status_code, b.content), path
        assert a.headers["Content-Type"] == b.headers["Content-Type"]
        for name in ("X-RateLimit-Remaining", "X-RateLimit-Max", "X-RateLimit-Limit-Daily"):
            assert a.headers.get(name) is not None or b.headers.get(name) is None
        json.loads(b.content)
    logged = [r.path for r in fake_ghl.requests()]
    for _method, path, *_ in calls:
        assert logged.count(path) >= 2


def test_faults_reach_the_in_process_transport_too(fake_ghl, installed):
    from sync.credentials import AgencyTokens

    token = AgencyTokens(installed).company_token()
    session = requests.Session()
    session.mount(fake_ghl.base_url, InProcessTransport(fake_ghl))
    fake_ghl.add_fault("429", count=1, seconds=2)
    headers = {"Version": "2021-07-28", "Authorization": f"Bearer {token}"}
    url = fake_ghl.base_url + "/locations/search"
    first = session.get(url, headers=headers, params={"companyId": installed.company_id})
    second = session.get(url, headers=headers, params={"companyId": installed.company_id})
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert second.status_code == 200


def test_two_worlds_with_one_seed_agree():
    a = World(seed=5, agencies=[("A", 40)], stories=True)
    b = World(seed=5, agencies=[("A", 40)], stories=True)
    company = next(iter(a.agencies))
    for day in (-120, -30, 0, 45):
        locs_a, locs_b = a.locations(company, day), b.locations(company, day)
        assert [x.id for x in locs_a] == [x.id for x in locs_b]
        for x, y in zip(locs_a, locs_b, strict=True):
            assert a.saas_state(x, day) == b.saas_state(y, day)
            assert a.user_days(x, day) == b.user_days(y, day)
            assert a.conversation_counts(x.id, day) == b.conversation_counts(y.id, day)


def _signal_day(loc) -> int | None:
    """When the generator's observable trouble starts: a fade, logins stopping, or (for a shaky
    payer) its past-due weeks; None if it has none."""
    starts = [p[0][0] for p in (loc.shape, loc.quiet) if p]
    if len(loc.past_due) > 8:
        starts.append(7 * min(loc.past_due))
    return min(starts) if starts else None


def test_churn_follows_behaviour_with_noise():
    """Over a year, sub-accounts whose usage fades, whose people stop logging in or whose payments
    keep failing cancel far more often than the others, mostly after the trouble started, and
    some of the others cancel too."""
    world = World(seed=21, agencies=[("Churny", 2000)])
    locs = next(iter(world._locations.values()))
    alive = [x for x in locs if x.created_day <= -60 and (x.cancel_day or 10**6) >= 0]
    churned = {x.id for x in alive if x.cancel_day is not None and x.cancel_day < 365}
    signalled = [x for x in alive if (_signal_day(x) or 10**6) < 365]
    others = [x for x in alive if (_signal_day(x) or 10**6) >= 365]
    rate_with = sum(x.id in churned for x in signalled) / len(signalled)
    rate_without = sum(x.id in churned for x in others) / len(others)
    assert len(signalled) > 100
    assert rate_with > 2.5 * rate_without
    assert rate_without > 0.02  # noise: not only the signalled ones churn
    after = [x.cancel_day >= _signal_day(x) for x in signalled if x.id in churned]
    assert sum(after) >= 0.8 * len(after)


def test_a_cancelled_sub_account_is_quiet_and_says_canceled_until_it_comes_back():
    world = World(seed=21, agencies=[("Churny", 2000)])
    locs = next(iter(world._locations.values()))
    back = next(x for x in locs if x.resume_day is not None and x.saas)
    assert world.saas_state(back, back.cancel_day)["status"] == "canceled"
    assert world.user_days(back, back.cancel_day + 1) == []
    assert world.saas_state(back, back.resume_day)["status"] != "canceled"
    billed_outside = next(x for x in locs if x.cancel_day is not None and not x.saas)
    assert billed_outside.deleted_day is not None
    assert billed_outside.deleted_day > billed_outside.cancel_day
    assert world.location(billed_outside.id, billed_outside.deleted_day) is None


def test_stories_are_scripted_not_drawn():
    world = World(seed=99, agencies=[("Story Agency", 30, "USD")], stories=True)
    assert set(world.stories) == {s.key for s in STORIES}
    quiet = world.stories["quiet"]
    assert world.user_days(quiet, -34) or world.user_days(quiet, -35)
    assert all(world.user_days(quiet, d) == [] for d in range(-33, 1))
    assert world.saas_state(world.stories["payment"], 0)["status"] == "unpaid"
    assert world.saas_state(world.stories["payment"], -5)["status"] == "past_due"
    assert world.saas_state(world.stories["churned"], 0)["status"] == "canceled"
    rossi = world.stories["reactivated"]
    assert world.saas_state(rossi, -30)["status"] == "canceled"
    assert world.saas_state(rossi, 0)["plan"].title == "Pro"
    stalled = world.stories["stalled"]
    assert world.location(stalled.id, -23) is None
    assert world.calendars(stalled, 0) == []
    assert [w["status"] for w in world.workflows(stalled, 0)] == ["draft"]
    assert world.conversation_counts(stalled.id, -1) == (0, 0)
    gone = world.stories["uninstalled"]
    assert world.installed_on(gone, -17) and not world.installed_on(gone, -16)
    pounds = world.saas_state(world.stories["pounds_thriving"], 0)["plan"]
    assert pounds.currency == "GBP"
    assert world.saas_state(world.stories["thriving"], 0)["plan"].currency == "USD"
    halving = world.stories["halving"]
    assert world.level(halving, 0) < 0.5 * world.level(halving, -45)


def test_a_world_with_fewer_sub_accounts_than_stories_keeps_the_first_ones():
    world = World(seed=1, agencies=[("Tiny", 3)], stories=True)
    assert list(world.stories) == [s.key for s in STORIES[:3]]


@pytest.mark.parametrize("n", [18, 25, 60])
def test_every_story_gets_its_own_sub_account(n):
    world = World(seed=1, agencies=[("A", n)], stories=True)
    assert len({x.id for x in world.stories.values()}) == min(n, len(STORIES))
