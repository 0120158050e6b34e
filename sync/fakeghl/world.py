"""A deterministic synthetic GHL world that is computed, not stored.

Every fact is a pure function of (seed, entity, day), so a world of thousands of sub-accounts costs
little until a request asks about one of them, and two fakes with the same seed agree. "Day" is a
day number relative to the world's epoch; the fake's clock decides which day is today, so advancing
the clock makes the world evolve: sub-accounts are created, fade, go quiet, fail payments, cancel,
come back or are deleted, plans change.

End-customer data (contact names, emails, phones, message bodies) is generated exactly where GHL
puts it, from name pools that never overlap the agency staff's, so a test can search our stores for
it without false positives.

## Behaviour

Usage level of a sub-account on day d (no noise): base x normal(d) x shape(d), and 10 % of that
while its subscription is cancelled. normal(d) ramps from 0.55 to 1 over the first 45 days of its
life and then grows by `trend` a year; shape(d) is 1 except during a fade (it falls linearly to a
floor and stays there). Conversations, bookings and logins follow the level with day-to-day noise.
Its own people log in (World.user_days) with a per-person habit scaled by the level (below 0.8,
only that share of them logs in at all), except on quiet days: a quiet period (logins stop) or a
cancelled subscription. Subscriptions are trialing for 14 days, then active, past due in weeks
drawn with the sub-account's payment risk, cancelled from its cancel day until it comes back (if
it does).

## Churn generator (generated sub-accounts; the scripted stories of sync/fakeghl/stories.py have
fixed fates)

The simulated era runs from day -HORIZON_DAYS (-800) to day CHURN_UNTIL (400); before it the
history is flat (no trouble, no cancellations). An agency's clients: LATE_SHARE (50 %) are won
during the era (created U(-800, 100)), the others are older (created U(-1500, -800)). It loses
roughly a third of its clients a year and wins about as many, as GHL agencies do: the demo's
100 sub-accounts (seed 7) have about 55 paying on day 0 and 25 churns in the year before it.

Static draws per sub-account, with its trouble starting within the era at
begin = max(created + 30, -800): base ~ U(0.6, 1.6); trend ~ U(-0.3, 0.9); a fade starting at
FADES_A_YEAR (0.7) a year from begin (an exponential wait; none if it would start after day 400),
lasting 20-60 days, floor U(0.30, 0.55); 30 % of fades recover: the floor lasts 30-120 days, then
usage climbs back to normal over 20-40 days; logins stopping for good (unless it comes back
after cancelling) at QUIETS_A_YEAR (0.3) a year from begin, the same way; SaaS with p = 0.7; a
payment past due each week with probability 0.15 for 15 % ("shaky payers"), else 0.008; a
frailty f = exp(0.5 z), z standard normal (unobserved noise).

Each week w from max(created + 21, -800) to day 400, with d = 7w:
    decline  = 1 - shape(d)                 (how far usage is below its normal curve)
    quiet_w  = whole weeks since logins stopped (0 while people log in), capped at 6
    failed   = past-due weeks among the last 8 (SaaS sub-accounts)
    hazard   = min(0.35, 0.0015 x f x exp(3.5 x decline + 0.5 x quiet_w + 0.6 x failed))
It cancels in the first week where the hazards summed since the start reach E ~ Exp(1) (one draw
per sub-account; the same as cancelling each week with probability 1 - exp(-hazard)), on a day
of that week drawn uniformly. So usage declining, logins stopping and payments failing make a
later cancellation more likely (a sub-account without trouble cancels about 8 % a year, one
whose use halved about 6 times as often, one quiet for six weeks 20 times); the frailty and E are
the noise. After cancelling, a SaaS sub-account comes back on its plan with p = 0.15 after 21-60
days (and does not cancel again), else it is deleted from GHL with p = 0.6 after 14-75 days, else
it stays, cancelled. A sub-account billed outside GHL has no subscription to cancel: it is deleted
7-27 days later. A churn label for it: its cancel day (SaaS, unless it comes back) or its
deletion day (billed outside GHL). Location.cancel_day, resume_day and deleted_day hold each
one's fate.

A world built for an observer who first reads GHL on day `observed_from` (GoCSM's install
pull in the demo) settles the fate of a client lost by then: it is back on its plan (if it comes
back) or removed from GHL. Otherwise the observer would first meet it as a client cancelled
long ago, never seen paying (no login on record, MRR 0), at the top of its overview; a client
it sees cancel, it saw alive.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from statistics import NormalDist

from sync.fakeghl.stories import STORIES, Story

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

STAFF_FIRST = ["Dana", "Marco", "Priya", "Owen", "Lena", "Ravi", "Chloe", "Tariq", "Ines", "Felix"]
STAFF_LAST = ["Whitfield", "Okafor", "Lindqvist", "Moreau", "Castellano", "Hargrove", "Nakamura"]
CONTACT_FIRST = [
    "Ana",
    "Bruno",
    "Carla",
    "Desmond",
    "Elif",
    "Fatima",
    "Goran",
    "Hana",
    "Ivo",
    "Jorun",
    "Kemal",
    "Luisa",
    "Mateus",
    "Nadia",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
]
CONTACT_LAST = [
    "Silva",
    "Brandt",
    "Quispe",
    "Novak",
    "Adeyemi",
    "Varga",
    "Lindahl",
    "Mbeki",
    "Ferreira",
    "Kowalczyk",
    "Haddad",
    "Ortega",
    "Petrov",
    "Yilmaz",
    "Duarte",
]
BUSINESS = [
    "Dental",
    "Roofing",
    "Fitness",
    "Law",
    "Med Spa",
    "Plumbing",
    "Realty",
    "Auto Care",
    "Chiropractic",
    "Salon",
    "HVAC",
    "Pet Clinic",
    "Yoga",
    "Bakery",
    "Solar",
]
OWNERS = [
    "Becker",
    "Alvarez",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Ibsen",
    "Jansen",
    "Kaur",
    "Lombardi",
    "Mwangi",
    "Nilsen",
    "O'Brien",
    "Park",
    "Rossi",
]
CITIES = [
    ("Austin", "TX", "US", "America/Chicago"),
    ("Denver", "CO", "US", "America/Denver"),
    ("Tampa", "FL", "US", "America/New_York"),
    ("Seattle", "WA", "US", "America/Los_Angeles"),
    ("Toronto", "ON", "CA", "America/Toronto"),
    ("Leeds", "", "GB", "Europe/London"),
    ("Lyon", "", "FR", "Europe/Paris"),
    ("Perth", "WA", "AU", "Australia/Perth"),
    ("Phoenix", "AZ", "US", "America/Phoenix"),
    ("Dublin", "", "IE", "Europe/Dublin"),
]
MESSAGES = [
    "Can I move my appointment to {d}?",
    "Thanks, see you on {d}!",
    "Is the {d} slot still free?",
    "Please call me back about the quote",
    "What are your prices for a first visit?",
    "I'd like to cancel my booking on {d}",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HORIZON_DAYS = 800  # how far back the generator simulates trouble and fates; older history is flat
CHURN_UNTIL = 400  # the generator decides fates from -HORIZON_DAYS up to this day
FADES_A_YEAR = 0.7  # a sub-account's usage starts to fade at this rate (its first fade only)
QUIETS_A_YEAR = 0.3  # its people stop logging in at this rate
BASE_HAZARD = 0.0015  # weekly cancel hazard of a sub-account without trouble (frailty 1)
# Clients won over the simulated era (created from -HORIZON_DAYS to day 100): an agency that
# loses about a third of its clients a year keeps its size by winning as many.
LATE_SHARE = 0.5
TRIAL_DAYS = 14
SECOND_CURRENCY = {"USD": "GBP", "EUR": "GBP", "CAD": "GBP", "AUD": "GBP", "GBP": "EUR"}
SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "GBP": "£", "EUR": "€"}
PLAN_TIERS = (("Starter", 97, 79), ("Growth", 297, 239), ("Pro", 497, 399))
ACTIVITY_FEATURES = (
    "dashboard",
    "conversations",
    "calendars",
    "contacts",
    "opportunities",
    "workflows",
    "payments",
    "reputation",
    "reporting",
)


def _digest(seed: int, parts: tuple) -> bytes:
    text = ":".join(str(p) for p in (seed, *parts))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def h(seed: int, *parts) -> int:
    return int.from_bytes(_digest(seed, parts)[:8], "big")


def u(seed: int, *parts) -> float:
    """A uniform number in [0, 1) fixed by the parts."""
    return h(seed, *parts) / 2**64


def uniforms(seed: int, *parts, count: int) -> tuple[float, ...]:
    """`count` (at most 16) uniform numbers in [0, 1) fixed by the parts, from one digest."""
    text = ":".join(str(p) for p in (seed, *parts))
    d = hashlib.blake2b(text.encode(), digest_size=64).digest()
    return tuple(int.from_bytes(d[4 * i : 4 * i + 4], "big") / 2**32 for i in range(count))


@lru_cache(maxsize=100_000)
def _person(seed: int, user_id: str) -> tuple[float, float, tuple[float, ...]]:
    """A sub-account person's fixed draws: how engaged (the level below which they stop
    logging in at all, x 0.8), their login habit, and per feature how readily they use it."""
    engaged, habit, *uses = uniforms(seed, "person", user_id, count=2 + len(ACTIVITY_FEATURES))
    return engaged, 0.2 + 0.8 * habit, tuple(uses)


def make_id(seed: int, *parts, length: int = 20) -> str:
    n = int.from_bytes(_digest(seed, parts), "big")
    chars = []
    for _ in range(length):
        n, r = divmod(n, 62)
        chars.append(_ALNUM[r])
    return "".join(chars)


def hex_id(seed: int, *parts) -> str:
    return _digest(seed, parts).hex()[:24]


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def piecewise(points: tuple[tuple[int, float], ...], day: int, default: float = 1.0) -> float:
    """Linear between (day, value) points, flat before the first and after the last."""
    if not points:
        return default
    if day <= points[0][0]:
        return points[0][1]
    for (d0, v0), (d1, v1) in pairwise(points):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0) / (d1 - d0)
    return points[-1][1]


def _latest(steps: tuple[tuple[int, object], ...], day: int, default=None):
    """The value of the latest (day, value) step on or before `day`."""
    out = default
    for d, value in steps:
        if d <= day:
            out = value
    return out


@dataclass(frozen=True)
class Plan:
    plan_id: str
    title: str
    level: int
    monthly: int
    yearly: int
    currency: str
    price_month_id: str
    price_year_id: str
    created_day: int
    family: int = 0


@dataclass(frozen=True)
class Agency:
    index: int
    company_id: str
    name: str
    n_locations: int
    currency: str
    timezone: str
    domain: str
    plans: tuple[Plan, ...] = field(default=())


@dataclass(frozen=True)
class Location:
    index: int
    id: str
    company_id: str
    name: str
    owner_first: str
    owner_last: str
    email: str
    phone: str
    city: str
    state: str
    country: str
    timezone: str
    created_day: int
    deleted_day: int | None
    trend: float
    base: float
    saas: bool
    plan_index: int
    yearly: bool
    installed: bool
    story: str = ""  # the scripted story's key; "" = generated
    family: int = 0  # 1: on the plans priced in the agency's second currency
    uninstalled_day: int | None = None  # GoCSM removed from it on this day
    cancel_day: int | None = None
    resume_day: int | None = None
    shape: tuple[tuple[int, float], ...] = ()
    quiet: tuple[tuple[int, int | None], ...] = ()
    statuses: tuple[tuple[int, str], ...] = ()
    plans: tuple[tuple[int, int], ...] = ()
    past_due: frozenset[int] = frozenset()  # weeks (day // 7) its payment is past due
    setup: bool = True

    def exists(self, day: int) -> bool:
        return self.created_day <= day and (self.deleted_day is None or day < self.deleted_day)

    def __hash__(self) -> int:
        # The memoised world functions hash their Location argument on every call.
        return hash(self.id)


@dataclass(frozen=True)
class User:
    id: str
    first: str
    last: str
    email: str
    phone: str
    type: str  # agency | account
    role: str  # admin | user
    location_ids: tuple[str, ...]
    restrict: bool
    created_day: int

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Behaviour:
    """A generated sub-account's drawn behaviour, before its fate is decided."""

    created: int
    base: float
    trend: float
    saas: bool
    shape: tuple[tuple[int, float], ...]
    quiet_from: int | None
    past_due: frozenset[int]
    frailty: float


def _normal(created: int, trend: float, day: int) -> float:
    """Usage of a sub-account with no story: a 45-day ramp, then `trend` growth a year."""
    age = day - created
    if age < 0:
        return 0.0
    ramp = 0.55 + 0.45 * min(1.0, age / 45)
    return ramp * max(0.2, 1 + trend * min(age, 3 * 365) / 365)


class World:
    """The synthetic GHL data for a set of agencies. Pure and thread-safe."""

    def __init__(
        self,
        seed: int = 1,
        agencies=None,
        epoch: date | None = None,
        stories: bool = False,
        observed_from: int | None = None,
    ):
        self.seed = seed
        # The day the observer first reads GHL (the demo's install pull); None: no observer in
        # mind (module docstring, "Churn generator").
        self.observed_from = observed_from
        self.epoch = epoch or datetime.now(UTC).date()
        specs = agencies or [("BrightPath Agency", 60)]
        currencies = ["USD", "EUR", "GBP", "CAD", "AUD"]
        self.agencies: dict[str, Agency] = {}
        for i, spec in enumerate(specs):
            name, n = spec[0], spec[1]
            company_id = make_id(seed, "company", i)
            currency = spec[2] if len(spec) > 2 else currencies[i % len(currencies)]
            slug = "".join(c for c in name.lower() if c.isalnum())[:20] or f"agency{i}"
            agency = Agency(
                i, company_id, name, n, currency, CITIES[i % len(CITIES)][3], f"app.{slug}.example"
            )
            object.__setattr__(agency, "plans", self._plans(agency))
            self.agencies[company_id] = agency
        self._locations: dict[str, tuple[Location, ...]] = {}
        self._by_location: dict[str, Location] = {}
        self.stories: dict[str, Location] = {}
        for i, agency in enumerate(self.agencies.values()):
            scripted = story_slots(agency.n_locations) if stories and i == 0 else {}
            locs = _distinct_names(
                [self._make_location(agency, k, scripted.get(k)) for k in range(agency.n_locations)]
            )
            self._locations[agency.company_id] = locs
            for loc in locs:
                self._by_location[loc.id] = loc
                if loc.story:
                    self.stories[loc.story] = loc

    # --- time ---------------------------------------------------------------------------------
    def day_of(self, moment: datetime) -> int:
        return (moment.astimezone(UTC).date() - self.epoch).days

    def day_start(self, day: int) -> datetime:
        return datetime.combine(self.epoch + timedelta(days=day), time(), tzinfo=UTC)

    # --- agencies and plans ------------------------------------------------------------------
    def _plans(self, agency: Agency) -> tuple[Plan, ...]:
        """Starter, Growth and Pro priced in the agency's currency, and the same three priced in
        a second currency for its clients abroad (GHL prices carry their own currency)."""
        s = self.seed
        second = SECOND_CURRENCY.get(agency.currency, "USD")
        plans = []
        for family, currency in enumerate((agency.currency, second)):
            for k, (title, monthly, abroad) in enumerate(PLAN_TIERS):
                suffix = () if family == 0 else (currency,)
                plans.append(
                    Plan(
                        hex_id(s, "plan", agency.index, k, *suffix),
                        title if family == 0 else f"{title} ({currency})",
                        k + 1,
                        monthly if family == 0 else abroad,
                        (monthly if family == 0 else abroad) * 10,
                        currency,
                        hex_id(s, "price", agency.index, k, "m", *suffix),
                        hex_id(s, "price", agency.index, k, "y", *suffix),
                        -500 + k,
                        family,
                    )
                )
        return tuple(plans)

    def agency(self, company_id: str) -> Agency | None:
        return self.agencies.get(company_id)

    def plan(self, plan_id: str) -> tuple[Agency, Plan] | None:
        for agency in self.agencies.values():
            for plan in agency.plans:
                if plan.plan_id == plan_id:
                    return agency, plan
        return None

    # --- locations ---------------------------------------------------------------------------
    def _make_location(self, agency: Agency, k: int, story: Story | None = None) -> Location:
        s, a = self.seed, agency.index
        city_index = h(s, "city", a, k) % len(CITIES) if story is None else story.city
        city, state, country, tz = CITIES[city_index]
        owner = OWNERS[h(s, "owner", a, k) % len(OWNERS)] if story is None else story.owner
        first = STAFF_FIRST[h(s, "ofirst", a, k) % len(STAFF_FIRST)]
        business = BUSINESS[h(s, "biz", a, k) % len(BUSINESS)] if story is None else story.business
        slug = owner.lower().replace("'", "")
        common = {
            "index": k,
            "id": make_id(s, "location", a, k),
            "company_id": agency.company_id,
            "name": f"{owner} {business}",
            "owner_first": first,
            "owner_last": owner,
            "email": f"office{k}@{slug}{a}.example",
            "phone": f"+1444{h(s, 'lphone', a, k) % 10**7:07d}",
            "city": city,
            "state": state,
            "country": country,
            "timezone": tz,
            "yearly": u(s, "yearly", a, k) < 0.2 if story is None else story.yearly,
        }
        if story is not None:
            return Location(
                **common,
                created_day=story.created,
                deleted_day=None,
                trend=story.trend,
                base=story.base,
                saas=story.saas,
                plan_index=story.plan,
                installed=True,
                story=story.key,
                family=story.family if len(agency.plans) > 3 else 0,
                uninstalled_day=story.uninstalled,
                cancel_day=story.cancel,
                resume_day=story.resume,
                shape=story.shape,
                quiet=story.quiet,
                statuses=story.statuses,
                plans=story.plans,
                setup=story.setup,
            )
        late = u(s, "late", a, k) < LATE_SHARE  # won during the simulated era: growth
        if late:
            created = int(u(s, "born", a, k) * (HORIZON_DAYS + 100)) - HORIZON_DAYS + 1
        else:
            created = -int(u(s, "age", a, k) * 700) - HORIZON_DAYS - 1
        b = self._behaviour(s, (a, k), common["id"], created)
        cancel, resume, deleted = self._fate(s, common["id"], b)
        if self.observed_from is not None:
            cancel, resume, deleted = _settled_by(self.observed_from, cancel, resume, deleted)
        abroad = country == "GB" and len(agency.plans) > 3 and agency.currency != "GBP"
        return Location(
            **common,
            created_day=created,
            deleted_day=deleted,
            trend=b.trend,
            base=b.base,
            saas=b.saas,
            plan_index=h(s, "plan", a, k) % 3,
            installed=u(s, "installed", a, k) < 0.97,
            family=1 if abroad else 0,
            cancel_day=cancel,
            resume_day=resume,
            shape=b.shape,
            quiet=_quiet_period(b.quiet_from, resume),
            past_due=b.past_due,
        )

    @staticmethod
    def _behaviour(s: int, key: tuple, loc_id: str, created: int) -> Behaviour:
        """The generator's static draws (module docstring, "Churn generator")."""
        # Trouble starts within the simulated era only (older history is flat).
        begin = max(created + 30, -HORIZON_DAYS)
        shape: tuple[tuple[int, float], ...] = ()
        start = _waiting_day(begin, FADES_A_YEAR, u(s, "fade-day", *key))
        if start is not None:
            length = 20 + int(u(s, "fade-len", *key) * 40)
            floor = round(0.30 + 0.25 * u(s, "fade-floor", *key), 3)
            shape = ((start, 1.0), (start + length, floor))
            if u(s, "fade-back", *key) < 0.3:  # some recover: busy again after a while
                back = start + length + 30 + int(u(s, "fade-stay", *key) * 90)
                shape = (*shape, (back, floor), (back + 20 + int(u(s, "fade-up", *key) * 20), 1.0))
        quiet_from = _waiting_day(begin, QUIETS_A_YEAR, u(s, "quiet-day", *key))
        z = NormalDist().inv_cdf(min(max(u(s, "frailty", *key), 1e-9), 1 - 1e-9))
        saas = u(s, "saas", *key) < 0.7
        pay_risk = 0.15 if u(s, "payer", *key) < 0.15 else 0.008
        return Behaviour(
            created=created,
            base=0.6 + u(s, "base", *key) * 1.0,
            trend=-0.3 + u(s, "trend", *key) * 1.2,
            saas=saas,
            shape=shape,
            quiet_from=quiet_from,
            past_due=_past_due_weeks(s, loc_id, created, pay_risk) if saas else frozenset(),
            frailty=math.exp(0.5 * z),
        )

    @staticmethod
    def _fate(s: int, loc_id: str, b: Behaviour) -> tuple[int | None, int | None, int | None]:
        """(cancel day, comeback day, deletion day) by the churn generator's weekly hazard: it
        cancels in the week its cumulative hazard reaches an exponential draw (the same as a
        weekly draw with probability 1 - exp(-hazard))."""
        first_week = -(-max(b.created + 21, -HORIZON_DAYS) // 7)
        budget = -math.log(1 - u(s, "cancel", loc_id))
        cancel = None
        for w in range(first_week, CHURN_UNTIL // 7 + 1):
            d = 7 * w
            decline = 1 - piecewise(b.shape, d)
            quiet_w = 0 if b.quiet_from is None or d < b.quiet_from else (d - b.quiet_from) // 7
            failed = sum(1 for k in range(w - 7, w + 1) if k in b.past_due)
            exponent = 3.5 * decline + 0.5 * min(quiet_w, 6) + 0.6 * failed
            budget -= min(0.35, BASE_HAZARD * b.frailty * math.exp(exponent))
            if budget <= 0:
                cancel = d + h(s, "cancel-day", loc_id) % 7
                break
        if cancel is None:
            return None, None, None
        if not b.saas:
            return cancel, None, cancel + 7 + h(s, "delete-after", loc_id) % 21
        if u(s, "comeback", loc_id) < 0.15:
            return cancel, cancel + 21 + h(s, "comeback-after", loc_id) % 40, None
        if u(s, "delete", loc_id) < 0.6:
            return cancel, None, cancel + 14 + h(s, "delete-after", loc_id) % 62
        return cancel, None, None

    def locations(self, company_id: str, day: int) -> list[Location]:
        return [loc for loc in self._locations.get(company_id, ()) if loc.exists(day)]

    def locations_between(self, company_id: str, first: int, last: int) -> list[Location]:
        """The sub-accounts that exist on some day from `first` to `last`."""
        return [
            loc
            for loc in self._locations.get(company_id, ())
            if loc.created_day <= last and (loc.deleted_day is None or loc.deleted_day > first)
        ]

    def location(self, location_id: str, day: int) -> Location | None:
        loc = self._by_location.get(location_id)
        return loc if loc is not None and loc.exists(day) else None

    def installed_on(self, loc: Location, day: int) -> bool:
        """GoCSM is installed in the sub-account on `day` (approved at install, until removed)."""
        return loc.installed and (loc.uninstalled_day is None or day < loc.uninstalled_day)

    # --- behaviour ----------------------------------------------------------------------------
    def cancelled(self, loc: Location, day: int) -> bool:
        return (
            loc.cancel_day is not None
            and loc.cancel_day <= day
            and (loc.resume_day is None or day < loc.resume_day)
        )

    def level(self, loc: Location, day: int) -> float:
        """Expected usage on `day` (module docstring, "Behaviour"); no day-to-day noise."""
        normal = _normal(loc.created_day, loc.trend, day)
        value = loc.base * normal * piecewise(loc.shape, day)
        return value * 0.1 if self.cancelled(loc, day) else value

    def activity(self, loc: Location, day: int) -> float:
        return max(0.05, self.level(loc, day) * (0.8 + 0.4 * u(self.seed, "act", loc.id, day)))

    def quiet_on(self, loc: Location, day: int) -> bool:
        """Its own people do not log in on `day`: a quiet period or a cancelled subscription."""
        if self.cancelled(loc, day):
            return True
        return any(start <= day and (end is None or day < end) for start, end in loc.quiet)

    def user_days(self, loc: Location, day: int) -> list[tuple[str, int, dict[str, int]]]:
        """(user id, sessions, minutes by feature) of each own user active on `day`: what the
        tracker in GHL's interface records. Each person has a habit; the level scales it, and
        below a level of 0.8 only that share of the team (the client's owner always) logs in."""
        if not loc.exists(day) or self.quiet_on(loc, day):
            return []
        level = min(self.level(loc, day), 1.6)
        out = []
        for k, user in enumerate(self.account_users(loc, day)):
            if user.created_day > day:
                continue
            engaged, habit, uses = _person(self.seed, user.id)
            if k and engaged >= level / 0.8:
                continue  # as use falls, fewer of the team bother to log in at all
            if k == 0:
                habit = max(habit, 0.75)  # the client's owner is the busiest
            # One digest per person and day (the tracker's days are the demo's biggest loop).
            active, sessions_u, *minutes_u = uniforms(
                self.seed, "user-day", user.id, day, count=2 + len(ACTIVITY_FEATURES)
            )
            first_days = k == 0 and day - loc.created_day < 2  # set up with the agency
            if not first_days and active >= min(0.97, habit * (0.25 + 0.5 * level)):
                continue
            sessions = 1 + int(2.5 * sessions_u * level)
            minutes = {
                f: 1 + int((4 + 22 * m) * min(level, 1.2))
                for f, m, use in zip(ACTIVITY_FEATURES, minutes_u, uses, strict=True)
                if use < 0.2 + 0.5 * min(level, 1.0)
            }
            out.append((user.id, sessions, minutes or {"dashboard": 3}))
        return out

    # --- users --------------------------------------------------------------------------------
    def agency_users(self, agency: Agency, day: int) -> list[User]:
        """The agency's own staff; the first is its owner (the one who installs apps)."""
        s, a = self.seed, agency.index
        all_ids = tuple(loc.id for loc in self.locations(agency.company_id, day))
        users = []
        for k, (role, restrict) in enumerate(
            [("admin", False), ("admin", False), ("user", False), ("user", True), ("user", True)]
        ):
            first = STAFF_FIRST[(a + k) % len(STAFF_FIRST)]
            last = STAFF_LAST[(a * 3 + k) % len(STAFF_LAST)]
            ids = all_ids
            if restrict:
                ids = tuple(i for j, i in enumerate(all_ids) if (j + k) % 4 == 0)
            users.append(
                User(
                    make_id(s, "auser", a, k),
                    first,
                    last,
                    f"{first.lower()}.{last.lower()}@{agency.domain[4:]}",
                    f"+1333{h(s, 'aphone', a, k) % 10**7:07d}",
                    "agency",
                    role,
                    ids,
                    restrict,
                    -800,
                )
            )
        return users

    def account_users(self, loc: Location, day: int) -> list[User]:
        """The sub-account's own people: more of them as it grows (a fade leaves them in place,
        logging in less)."""
        n = max(1, min(8, int(1 + 3 * loc.base * _normal(loc.created_day, loc.trend, day))))
        users = []
        taken: set[tuple[str, str]] = set()
        for k in range(n):
            # The client's people: surnames apart from the agency staff's, none reads as both.
            last = (
                loc.owner_last if k == 0 else OWNERS[h(self.seed, "ulast", loc.id, k) % len(OWNERS)]
            )
            # No two of them share a name (at most 8 people, 10 first names): a drawn name
            # already taken moves on to the next first name. Each depends only on the people
            # before it, so a name stays as the team grows.
            j = h(self.seed, "ufirst", loc.id, k)
            while (STAFF_FIRST[j % len(STAFF_FIRST)], last) in taken:
                j += 1
            first = STAFF_FIRST[j % len(STAFF_FIRST)]
            taken.add((first, last))
            slug = "".join(c for c in last.lower() if c.isalpha())
            users.append(
                User(
                    make_id(self.seed, "user", loc.id, k),
                    first,
                    last,
                    f"{first.lower()}.{slug}{k}@{loc.id.lower()}.example",
                    f"+1444{h(self.seed, 'uphone', loc.id, k) % 10**7:07d}",
                    "account",
                    "admin" if k == 0 else "user",
                    (loc.id,),
                    False,
                    loc.created_day + k * 3,
                )
            )
        return users

    def users(self, company_id: str, day: int, location_id: str | None = None) -> list[User]:
        agency = self.agencies.get(company_id)
        if agency is None:
            return []
        staff = self.agency_users(agency, day)
        if location_id:
            loc = self.location(location_id, day)
            if loc is None or loc.company_id != company_id:
                return []
            return [u_ for u_ in staff if location_id in u_.location_ids] + self.account_users(
                loc, day
            )
        out = list(staff)
        for loc in self.locations(company_id, day):
            out.extend(self.account_users(loc, day))
        return out

    # --- workflows, calendars, products -------------------------------------------------------
    def _slots(self, kind: str, loc: Location, day: int, n_max: int) -> list[tuple[int, int]]:
        """(slot, created_day) for every item of `kind` that exists on `day`."""
        out = []
        span = day - loc.created_day
        for k in range(n_max):
            r = u(self.seed, kind, loc.id, k)
            # Rising sub-accounts build more later; falling ones built early and then stopped.
            skew = r ** (1.5 if loc.trend > 0 else 0.6)
            created = loc.created_day + int(skew * (max(span, 0) + 120 * max(loc.trend, 0)))
            if k < 2:
                created = loc.created_day
            gone = u(self.seed, kind + "-gone", loc.id, k) < 0.1
            deleted = created + 30 + h(self.seed, kind + "-del", loc.id, k) % 90 if gone else None
            if created <= day and (deleted is None or day < deleted):
                out.append((k, created))
        return out

    def workflows(self, loc: Location, day: int) -> list[dict]:
        out = []
        # A sub-account that never set up keeps the one draft it was created with.
        slots = self._slots("wf", loc, day, 25 if loc.setup else 1)
        for k, created in slots:
            period = 5 + h(self.seed, "wf-period", loc.id, k) % 40
            edits = (day - created) // period
            updated = created + edits * period
            published = loc.setup and u(self.seed, "wf-pub", loc.id, k) < 0.7 and day - created >= 2
            created_at = self.day_start(created) + timedelta(hours=9, minutes=k)
            updated_at = self.day_start(updated) + timedelta(hours=10, minutes=k)
            out.append(
                {
                    "id": f"{hex_id(self.seed, 'wf', loc.id, k)[:8]}-{hex_id(self.seed, 'wf2', loc.id, k)[:4]}-4{k:03d}-a000-{hex_id(self.seed, 'wf3', loc.id, k)[:12]}",  # noqa: E501
                    "name": f"Workflow {k + 1}",
                    "status": "published" if published else "draft",
                    "version": 1 + edits,
                    "createdAt": iso(created_at),
                    "updatedAt": iso(updated_at),
                    "locationId": loc.id,
                }
            )
        return out

    def calendars(self, loc: Location, day: int) -> list[dict]:
        out = []
        types = ["round_robin", "event", "class_booking", "collective", "service_booking"]
        for k, _created in self._slots("cal", loc, day, 3 if loc.setup else 0):
            active = u(self.seed, "cal-active", loc.id, k, day // 30) < 0.8
            cid = make_id(self.seed, "calendar", loc.id, k)
            out.append(
                {
                    "id": cid,
                    "locationId": loc.id,
                    "groupId": "",
                    "name": f"Calendar {k + 1}",
                    "description": "Bookings",
                    "slug": f"cal-{k + 1}",
                    "widgetSlug": f"cal-{k + 1}",
                    "calendarType": types[k % len(types)],
                    "isActive": active,
                    "teamMembers": [],
                    "eventType": "RoundRobin_OptimizeForAvailability",
                    "slotDuration": 30,
                    "slotDurationUnit": "mins",
                    "slotInterval": 30,
                    "slotIntervalUnit": "mins",
                    "eventTitle": "{{contact.name}}",
                }
            )
        return out

    def products(self, loc: Location, day: int) -> list[dict]:
        out = []
        kinds = ["SERVICE", "DIGITAL", "PHYSICAL", "PHYSICAL/DIGITAL"]
        for k, created in self._slots("prod", loc, day, 12 if loc.setup else 0):
            created_at = self.day_start(created) + timedelta(hours=11, minutes=k)
            out.append(
                {
                    "_id": hex_id(self.seed, "product", loc.id, k),
                    "locationId": loc.id,
                    "name": f"Package {k + 1}",
                    "description": "Service package",
                    "productType": kinds[k % 4],
                    "availableInStore": k % 2 == 0,
                    "createdAt": iso(created_at),
                    "updatedAt": iso(created_at + timedelta(days=k)),
                    "collectionIds": [],
                    "isTaxesEnabled": False,
                }
            )
        return out

    # --- appointments ----------------------------------------------------------------------
    def _contact(self, loc: Location, kind: str, day: int, j: int) -> dict:
        s = self.seed
        first = CONTACT_FIRST[h(s, kind, "f", loc.id, day, j) % len(CONTACT_FIRST)]
        last = CONTACT_LAST[h(s, kind, "l", loc.id, day, j) % len(CONTACT_LAST)]
        n = h(s, kind, "n", loc.id, day, j) % 10**6
        weekday = WEEKDAYS[(day + j) % 7]
        body = MESSAGES[h(s, kind, "m", loc.id, day, j) % len(MESSAGES)].format(d=weekday)
        return {
            "id": make_id(s, "contact", kind, loc.id, day, j),
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{n}@mail-contact.example",
            "phone": f"+1555{n:07d}"[:12],
            "body": f"{body} (ref {n})",
        }

    def appointments_booked(self, loc: Location, day: int) -> list[dict]:
        """Appointments booked (dateAdded) on `day`; each starts 0-6 days later."""
        if not loc.exists(day):
            return []
        calendars = [c for c in self.calendars(loc, day)]
        if not calendars:
            return []
        # A business books and messages fairly regularly: each day within half to one and a
        # half times its usual count.
        n = int(self.activity(loc, day) * 1.5 * (0.5 + u(self.seed, "appt-n", loc.id, day)) + 0.3)
        out = []
        statuses = ["confirmed", "confirmed", "showed", "cancelled", "noshow", "new"]
        for j in range(n):
            c = self._contact(loc, "appt", day, j)
            cal = calendars[h(self.seed, "appt-cal", loc.id, day, j) % len(calendars)]
            added = self.day_start(day) + timedelta(hours=8 + j % 10, minutes=7 * j % 60)
            start = self.day_start(day + h(self.seed, "appt-lead", loc.id, day, j) % 7) + timedelta(
                hours=9 + (j * 2) % 8
            )
            out.append(
                {
                    "id": make_id(self.seed, "appt", loc.id, day, j),
                    "title": c["name"],
                    "calendarId": cal["id"],
                    "locationId": loc.id,
                    "contactId": c["id"],
                    "groupId": "",
                    "appointmentStatus": statuses[j % len(statuses)],
                    "assignedUserId": make_id(self.seed, "user", loc.id, 0),
                    "users": [],
                    "notes": c["body"],
                    "address": "",
                    "startTime": iso(start),
                    "endTime": iso(start + timedelta(minutes=30)),
                    "dateAdded": iso(added),
                    "dateUpdated": iso(added),
                    "_start": start,
                    "_customer": (c["name"], c["body"]),
                }
            )
        return out

    # --- conversations ---------------------------------------------------------------------
    @lru_cache(maxsize=200_000)  # noqa: B019 - the world lives as long as the fake; bounded
    def conversation_counts(self, location_id: str, day: int) -> tuple[int, int]:
        """(new conversations, of which inbound) on `day`."""
        loc = self._by_location[location_id]
        if not loc.exists(day) or not loc.setup:
            return 0, 0
        n = int(self.activity(loc, day) * 3 * (0.5 + u(self.seed, "conv-n", loc.id, day)) + 0.5)
        inbound = int(n * (0.4 + 0.4 * u(self.seed, "conv-in", loc.id, day)) + 0.5)
        return n, min(n, inbound)

    def conversation(self, loc: Location, day: int, j: int) -> dict:
        c = self._contact(loc, "conv", day, j)
        _n, inbound = self.conversation_counts(loc.id, day)
        added = self.day_start(day) + timedelta(minutes=(j * 37 + 60) % 1440)
        ms = int(added.timestamp() * 1000)
        sms = h(self.seed, "conv-kind", loc.id, day, j) % 3 != 0
        return {
            "id": make_id(self.seed, "conv", loc.id, day, j),
            "contactId": c["id"],
            "locationId": loc.id,
            "lastMessageBody": c["body"],
            "lastMessageType": "TYPE_SMS" if sms else "TYPE_EMAIL",
            "type": "TYPE_PHONE" if sms else "TYPE_EMAIL",
            "unreadCount": j % 3,
            "fullName": c["name"],
            "contactName": c["name"],
            "email": c["email"],
            "phone": c["phone"],
            "dateAdded": ms,
            "dateUpdated": ms + 60_000,
            "lastMessageDate": ms + 60_000,
            "lastMessageDirection": "inbound" if j < inbound else "outbound",
        }

    # --- SaaS ------------------------------------------------------------------------------
    def plan_index(self, loc: Location, day: int) -> int:
        """Starter 0, Growth 1, Pro 2 on `day`: scripted, or the generated plan moved up (rising
        usage) or down (falling usage) in some 60-day blocks of its life."""
        if loc.story:
            return _latest(loc.plans, day, loc.plan_index)
        shift = 0
        for block in range(loc.created_day // 60, day // 60 + 1):
            if u(self.seed, "plan-change", loc.id, block) < 0.06:
                shift += 1 if loc.trend > 0.2 else -1 if loc.trend < -0.1 else 0
        return min(2, max(0, loc.plan_index + shift))

    def status(self, loc: Location, day: int) -> str:
        """The SaaS subscription's status on `day` (module docstring, "Behaviour")."""
        if self.cancelled(loc, day):
            return "canceled"
        scripted = _latest(loc.statuses, day)
        if scripted is not None:
            return scripted
        if day - loc.created_day < TRIAL_DAYS:
            return "trialing"
        if day // 7 in loc.past_due:
            return "past_due"
        return "active"

    def saas_state(self, loc: Location, day: int) -> dict | None:
        """Plan, price and status of the sub-account's SaaS subscription on `day`."""
        if not loc.saas or loc.created_day > day:
            return None
        agency = self.agencies[loc.company_id]
        family = agency.plans[3 * loc.family : 3 * loc.family + 3] or agency.plans[:3]
        plan = family[self.plan_index(loc, day)]
        price = plan.price_year_id if loc.yearly else plan.price_month_id
        return {"plan": plan, "price_id": price, "status": self.status(loc, day)}


def story_slots(n_locations: int) -> dict[int, Story]:
    """Which index of an agency of `n_locations` plays each story: spread over the list, the
    first ones only when there are fewer sub-accounts than stories."""
    count = min(len(STORIES), n_locations)
    return {(i * n_locations) // count: STORIES[i] for i in range(count)}


def _past_due_weeks(s: int, loc_id: str, created: int, risk: float) -> frozenset[int]:
    """The weeks (day // 7) a payment is past due: each week with probability `risk`, drawn by
    skipping geometric gaps (a handful of draws instead of one a week)."""
    weeks = set()
    week = max(created + TRIAL_DAYS, -HORIZON_DAYS) // 7
    last = CHURN_UNTIL // 7
    n = 0
    while True:
        gap = int(math.log(1 - u(s, "pastdue", loc_id, n)) / math.log(1 - risk))
        week += gap + (1 if n else 0)
        if week > last:
            return frozenset(weeks)
        weeks.add(week)
        n += 1


def _waiting_day(begin: int, per_year: float, r: float) -> int | None:
    """The day an event that happens at `per_year` a year first happens on or after `begin`
    (an exponential wait drawn from the uniform `r`); None when that is after CHURN_UNTIL."""
    day = begin + int(-math.log(1 - r) * 365 / per_year)
    return day if day <= CHURN_UNTIL else None


def _settled_by(
    day: int, cancel: int | None, resume: int | None, deleted: int | None
) -> tuple[int | None, int | None, int | None]:
    """A client lost by the day the observer first reads GHL had its fate settled by then: back
    on its plan if it comes back, else removed from GHL. GoCSM never meets it as a cancelled
    sub-account it never saw paying; the churn it sees is within its history. (cancel, resume,
    deleted) as World._fate gives them."""
    if cancel is None or cancel > day:
        return cancel, resume, deleted
    if resume is not None:
        return cancel, min(resume, day), deleted
    return cancel, None, day if deleted is None else min(deleted, day)


def _quiet_period(start: int | None, comeback: int | None) -> tuple[tuple[int, int | None], ...]:
    """A generated quiet period: from its start for good, or until a comeback that follows it."""
    if start is None:
        return ()
    return ((start, comeback if comeback is not None and comeback > start else None),)


def _distinct_names(locs: list[Location]) -> tuple[Location, ...]:
    """Names as an agency's clients have them: "Gallagher Roofing", and a second business of the
    same name is told apart by its city, as people do, before a number is the last resort. The
    scripted stories keep the plain name the README tells."""
    taken: set[str] = set()
    named: dict[int, Location] = {}
    for loc in sorted(locs, key=lambda loc: (not loc.story, loc.index)):
        name = loc.name
        if name in taken:
            name = f"{loc.name} {loc.city}"
        if name in taken:
            name = f"{loc.name} {loc.city} {loc.index + 1}"
        taken.add(name)
        named[loc.index] = loc if name == loc.name else replace(loc, name=name)
    return tuple(named[loc.index] for loc in locs)
