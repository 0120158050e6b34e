"""Scripted sub-accounts: the stories the demo portfolio tells, each a named trajectory.

A story fixes what the generator would otherwise draw: when the sub-account was created, its
plan and currency, its usage curve, when its people stop or resume logging in, its subscription
statuses, when it cancels or comes back, when GoCSM is removed from it, and the MRR an owner enters
by hand for it. Days count from the world's epoch (0 = the day the demo is built; -33 = 33 days
before). Each story turns within the last 75 days; the demo's 90 days show all of them whole.

`World(stories=True)` gives the first agency these sub-accounts, spread over its indexes; the rest
stay generated. `what` says, in an owner's words, what the story looks like in GoCSM.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Story:
    key: str
    owner: str
    business: str
    city: int  # index into world.CITIES
    what: str
    created: int = -420
    saas: bool = True
    plan: int = 1  # 0 Starter, 1 Growth, 2 Pro
    family: int = 0  # 1: the plans priced in the agency's second currency
    yearly: bool = False
    base: float = 1.0  # usage level (1 = a typical busy sub-account)
    trend: float = 0.0  # yearly growth of usage
    # Usage multiplier by day, linear between points, flat before the first and after the last.
    shape: tuple[tuple[int, float], ...] = ()
    # Days its own people do not log in at all: (from, until or None = still).
    quiet: tuple[tuple[int, int | None], ...] = ()
    # Subscription statuses from a day on (on top of trial / active / cancelled).
    statuses: tuple[tuple[int, str], ...] = ()
    plans: tuple[tuple[int, int], ...] = ()  # (from day, plan index)
    cancel: int | None = None
    resume: int | None = None
    uninstalled: int | None = None  # GoCSM removed from the sub-account on this day
    setup: bool = True  # False: no workflow published, no calendar, no conversation
    # MRR entered by hand (billed outside GHL): (entered on, since or None, cents, currency).
    manual: tuple[tuple[int, int | None, int, str], ...] = ()
    # NPS prompt answers of its own people: (day, index of the person among the sub-account's
    # users, rating 0-10 or None for a dismissal, comment).
    nps: tuple[tuple[int, int, int | None, str], ...] = ()


STORIES: tuple[Story, ...] = (
    Story(
        "thriving",
        "Alvarez",
        "Fitness",
        0,
        "a long-standing client on Pro whose team and bookings keep growing: Thriving; its owner "
        "rated the agency 10",
        plan=2,
        base=1.6,
        trend=0.6,
        nps=(
            (-30, 0, 10, "The booking funnels paid for themselves in a month."),
            (-12, 1, 9, ""),
        ),
    ),
    Story(
        "quiet",
        "Gallagher",
        "Roofing",
        2,
        "its people stopped logging in 33 days ago; only its automations still run",
        base=1.1,
        shape=((-33, 1.0), (-12, 0.5)),
        quiet=((-33, None),),
    ),
    Story(
        "payment",
        "Kaur",
        "Med Spa",
        3,
        "a Pro client whose payment fails: past due 10 days ago, unpaid for 3 days; its owner "
        "closed the NPS prompt without answering",
        plan=2,
        base=1.2,
        statuses=((-10, "past_due"), (-3, "unpaid")),
        nps=((-6, 0, None, ""),),
    ),
    Story(
        "halving",
        "Lombardi",
        "Dental",
        1,
        "its usage (logins, conversations, bookings) fell by more than half a month ago, and "
        "its owner rated the agency 3 of 10 (an NPS detractor) 20 days ago",
        base=1.2,
        shape=((-38, 1.0), (-27, 0.35)),
        nps=(
            (
                -20,
                0,
                3,
                "Appointment reminders stopped going out and it took a week to hear back.",
            ),
        ),
    ),
    Story(
        "stalled",
        "Mwangi",
        "Law",
        8,
        "new 22 days ago, and still no workflow published, calendar or conversation",
        created=-22,
        plan=0,
        base=0.2,
        setup=False,
    ),
    Story(
        "churned",
        "Fontaine",
        "Salon",
        6,
        "faded, stopped logging in, then cancelled its subscription 40 days ago",
        base=1.0,
        shape=((-75, 1.0), (-50, 0.45)),
        quiet=((-47, None),),
        cancel=-40,
    ),
    Story(
        "reactivated",
        "Rossi",
        "Fitness",
        0,
        "cancelled 50 days ago and came back on Pro 19 days ago",
        base=1.1,
        cancel=-50,
        resume=-19,
        plans=((-19, 2),),
    ),
    Story(
        "recovering_usage",
        "Becker",
        "HVAC",
        9,
        "its use faded two months ago; busy again for three weeks: score climbing; a passive 7",
        base=1.2,
        shape=((-75, 1.0), (-60, 0.25), (-26, 0.25), (-6, 1.2)),
        nps=((-10, 0, 7, "Much better since the new onboarding call."),),
    ),
    Story(
        "recovering_payment",
        "Park",
        "Dental",
        4,
        "payment past due and nobody logging in a month ago; paid up 28 days ago, busy again",
        base=1.1,
        statuses=((-50, "past_due"), (-28, "active")),
        shape=((-56, 1.0), (-50, 0.3), (-28, 0.3), (-8, 1.1)),
        quiet=((-52, -28),),
    ),
    Story(
        "recovering_logins",
        "Chen",
        "Realty",
        3,
        "nobody logged in for a month; the team came back 30 days ago",
        plan=0,
        base=1.0,
        quiet=((-62, -30),),
        shape=((-62, 0.5), (-30, 0.5), (-8, 1.2)),
    ),
    Story(
        "manual_flat",
        "Dubois",
        "Law",
        6,
        "billed outside GHL: 850.00 USD a month entered by hand",
        saas=False,
        base=1.0,
        manual=((-400, None, 85000, "USD"),),
    ),
    Story(
        "manual_raise",
        "Eriksen",
        "Chiropractic",
        7,
        "billed outside GHL: 1,000.00 USD a month, raised to 1,200.00 25 days ago",
        saas=False,
        base=1.2,
        trend=0.3,
        manual=((-400, None, 100000, "USD"), (-25, -25, 120000, "USD")),
    ),
    Story(
        "manual_small",
        "Jansen",
        "Auto Care",
        1,
        "billed outside GHL: 600.00 USD a month entered by hand",
        saas=False,
        base=0.8,
        manual=((-400, None, 60000, "USD"),),
    ),
    Story(
        "uninstalled",
        "Ibsen",
        "Plumbing",
        9,
        "GoCSM was removed from this sub-account 16 days ago: not connected, no score",
        plan=0,
        base=0.9,
        uninstalled=-16,
    ),
    Story(
        "pounds_thriving",
        "O'Brien",
        "Realty",
        5,
        "a Leeds client paying its Pro plan in pounds, growing",
        plan=2,
        family=1,
        base=1.4,
        trend=0.5,
    ),
    Story(
        "pounds_healthy",
        "Nilsen",
        "Salon",
        5,
        "a Leeds client on Growth in pounds, steady and healthy",
        family=1,
        base=1.0,
    ),
    Story(
        "new_fast",
        "Chen",
        "Yoga",
        1,
        "new 18 days ago and setting up fast: onboarding",
        created=-18,
        base=1.2,
        trend=0.5,
    ),
    Story(
        "new_recent",
        "Rossi",
        "Pet Clinic",
        2,
        "new 6 days ago, in its trial: onboarding",
        created=-6,
        plan=0,
        base=0.9,
    ),
)
