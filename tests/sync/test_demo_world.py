"""The default demo (`make run`) has a churn model in use: its world, read without building it,
churns often enough within the stored history for the model to train and for the backtest to
have monthly cutoffs with known outcomes (issue 17)."""

from __future__ import annotations

from analytics import churnmodel as cm
from sync import demo
from sync.fakeghl.world import World


def _demo_world(locations: int = demo.DEMO_LOCATIONS, days: int = demo.HISTORY_DAYS) -> World:
    """The world demo.start_fake builds for a history of `days` days."""
    return World(
        seed=demo.DEMO_SEED,
        agencies=[("BrightPath Agency", locations, "USD")],
        stories=True,
        observed_from=-days,
    )


def _churn_days(world: World) -> list[int]:
    """The days GoCSM records a churn (analytics.churnmodel's rule): a cancelled subscription
    that does not come back within the window, a sub-account billed outside GHL deleted, GoCSM
    removed from a sub-account (a story's)."""
    out = []
    for loc in next(iter(world._locations.values())):
        if not loc.installed:
            continue  # never connected: never alive, never churns
        if loc.uninstalled_day is not None:
            out.append(loc.uninstalled_day)
        elif loc.cancel_day is not None:
            back = loc.resume_day is not None and loc.resume_day - loc.cancel_day < cm.WINDOW
            if back:
                continue
            out.append(loc.cancel_day if loc.saas else loc.deleted_day)
    return out


def _first_stored_day() -> int:
    """The install pull on day -HISTORY_DAYS backfills BACKFILL_DAYS days."""
    assert demo.first_stored_day() == -demo.HISTORY_DAYS - (demo.BACKFILL_DAYS - 1)
    return demo.first_stored_day()


def test_the_default_demo_churns_enough_for_a_model_and_a_backtest():
    world = _demo_world()
    days = _churn_days(world)
    first_row = _first_stored_day() + cm.WARM_UP
    # The model trained on day 0: rows up to day -(90 + 29), each seeing churn within 90 days.
    last_seen = -(cm.HORIZON + cm.WINDOW - 1) + cm.HORIZON
    assert sum(first_row < d <= last_seen for d in days) >= cm.MIN_EVENTS
    # A 90-day backtest cutoff c (its outcome known: c + 90 + 30 <= 0) trains on churns seen
    # by c - 29; the latest such cutoff has at least the events a model needs.
    latest_cutoff = -(cm.HORIZON + cm.WINDOW)
    assert sum(first_row < d <= latest_cutoff - (cm.WINDOW - 1) for d in days) >= cm.MIN_EVENTS
    # About a quarter to two fifths of its clients lost a year (GHL agencies lose 30-40 %).
    locations = next(iter(world._locations.values()))
    alive = [
        sum(x.installed and x.exists(d) and not world.cancelled(x, d) for x in locations)
        for d in range(-365, 1, 30)
    ]
    per_year = sum(-365 < d <= 0 for d in days)
    assert 0.25 <= per_year / (sum(alive) / len(alive)) <= 0.45


def test_the_default_demo_pulls_daily_at_the_end_and_weekly_before():
    """The stories' subscriptions and installs change within the last 50 days (their usage and
    logins are written per day either way): those days are pulled one by one, as production
    does; before them a weekly pull catches up the days since the last one."""
    assert demo.DAILY_DAYS >= 60
    assert demo.BACKFILL_DAYS >= demo.CATCH_UP_EVERY + 1
    assert demo.HISTORY_DAYS > demo.DAILY_DAYS + cm.WARM_UP + cm.HORIZON + cm.WINDOW


def test_no_generated_sub_account_was_cancelled_before_the_history_began():
    """A client lost by the install pull's day (GoCSM's first look at subscriptions) is back or
    gone from GHL by then: the overview is never led by a sub-account cancelled long ago that
    GoCSM never saw paying (no login on record, MRR 0). Each one GoCSM sees cancelled, it saw
    alive first: churn happens within the history, where GoCSM sees it. For the default demo
    and the short one tests/sync/test_demo.py builds."""
    for locations, days in ((demo.DEMO_LOCATIONS, demo.HISTORY_DAYS), (20, 90), (100, 90)):
        world = _demo_world(locations, days)
        install = -days
        for loc in next(iter(world._locations.values())):
            if loc.story:
                continue  # scripted fates, told within the history
            for day in range(install, 1):
                if loc.exists(day) and world.cancelled(loc, day):
                    assert loc.cancel_day > install, (loc.name, days, loc.cancel_day)
                    break


def test_names_are_unique_within_a_sub_account_and_the_agency_staff():
    """No sub-account lists two "Felix Park"; no one of its people shares a name with the
    agency's staff, who are unique among themselves."""
    world = _demo_world()
    agency = next(iter(world.agencies.values()))
    staff = [p.name for p in world.agency_users(agency, 0)]
    assert len(set(staff)) == len(staff)
    for loc in next(iter(world._locations.values())):
        last = loc.deleted_day - 1 if loc.deleted_day is not None else 0
        people = [p.name for p in world.account_users(loc, max(loc.created_day, last))]
        assert len(set(people)) == len(people), (loc.name, people)
        assert not set(people) & set(staff), loc.name
