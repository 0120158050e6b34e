"""A deterministic synthetic GHL world that is computed, not stored.

Every fact is a pure function of (seed, entity, day), so a world of thousands of sub-accounts costs
nothing until a request asks about one of them, and two fakes with the same seed agree. "Day" is a
day number relative to the world's epoch; the fake's clock decides which day is today, so advancing
the clock makes the world evolve: sub-accounts are created and churn, usage rises or falls, plans
change, subscriptions go past due.

End-customer data (contact names, emails, phones, message bodies) is generated exactly where GHL
puts it, from name pools that never overlap the agency staff's, so a test can search our stores for
it without false positives.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

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
HORIZON_DAYS = 400  # how far back counts reach; older history is flat


def _digest(seed: int, parts: tuple) -> bytes:
    text = ":".join(str(p) for p in (seed, *parts))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def h(seed: int, *parts) -> int:
    return int.from_bytes(_digest(seed, parts)[:8], "big")


def u(seed: int, *parts) -> float:
    """A uniform number in [0, 1) fixed by the parts."""
    return h(seed, *parts) / 2**64


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

    def exists(self, day: int) -> bool:
        return self.created_day <= day and (self.deleted_day is None or day < self.deleted_day)


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


class World:
    """The synthetic GHL data for a set of agencies. Pure and thread-safe."""

    def __init__(self, seed: int = 1, agencies=None, epoch: date | None = None):
        self.seed = seed
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
        for agency in self.agencies.values():
            locs = tuple(self._make_location(agency, k) for k in range(agency.n_locations))
            self._locations[agency.company_id] = locs
            for loc in locs:
                self._by_location[loc.id] = loc

    # --- time ---------------------------------------------------------------------------------
    def day_of(self, moment: datetime) -> int:
        return (moment.astimezone(UTC).date() - self.epoch).days

    def day_start(self, day: int) -> datetime:
        return datetime.combine(self.epoch + timedelta(days=day), time(), tzinfo=UTC)

    # --- agencies and plans ------------------------------------------------------------------
    def _plans(self, agency: Agency) -> tuple[Plan, ...]:
        s = self.seed
        base = [("Starter", 97), ("Growth", 297), ("Pro", 497)]
        return tuple(
            Plan(
                hex_id(s, "plan", agency.index, k),
                title,
                k + 1,
                monthly,
                monthly * 10,
                agency.currency,
                hex_id(s, "price", agency.index, k, "m"),
                hex_id(s, "price", agency.index, k, "y"),
                -500 + k,
            )
            for k, (title, monthly) in enumerate(base)
        )

    def agency(self, company_id: str) -> Agency | None:
        return self.agencies.get(company_id)

    def plan(self, plan_id: str) -> tuple[Agency, Plan] | None:
        for agency in self.agencies.values():
            for plan in agency.plans:
                if plan.plan_id == plan_id:
                    return agency, plan
        return None

    # --- locations ---------------------------------------------------------------------------
    def _make_location(self, agency: Agency, k: int) -> Location:
        s, a = self.seed, agency.index
        city, state, country, tz = CITIES[h(s, "city", a, k) % len(CITIES)]
        owner = OWNERS[h(s, "owner", a, k) % len(OWNERS)]
        first = STAFF_FIRST[h(s, "ofirst", a, k) % len(STAFF_FIRST)]
        business = BUSINESS[h(s, "biz", a, k) % len(BUSINESS)]
        late = u(s, "late", a, k) < 0.15  # created during the simulation: growth
        created = int(u(s, "born", a, k) * 120) + 1 if late else -int(u(s, "age", a, k) * 700) - 1
        churn = u(s, "churn", a, k) < 0.10
        deleted = max(created + 20, int(u(s, "dies", a, k) * 150) + 5) if churn else None
        slug = owner.lower().replace("'", "")
        return Location(
            index=k,
            id=make_id(s, "location", a, k),
            company_id=agency.company_id,
            name=f"{owner} {business} {k + 1}",
            owner_first=first,
            owner_last=owner,
            email=f"office{k}@{slug}{a}.example",
            phone=f"+1444{h(s, 'lphone', a, k) % 10**7:07d}",
            city=city,
            state=state,
            country=country,
            timezone=tz,
            created_day=created,
            deleted_day=deleted,
            trend=u(s, "trend", a, k) * 2 - 1,
            base=0.3 + u(s, "base", a, k) * 1.4,
            saas=u(s, "saas", a, k) < 0.65,
            plan_index=h(s, "plan", a, k) % 3,
            yearly=u(s, "yearly", a, k) < 0.25,
            installed=u(s, "installed", a, k) < 0.97,
        )

    def locations(self, company_id: str, day: int) -> list[Location]:
        return [loc for loc in self._locations.get(company_id, ()) if loc.exists(day)]

    def location(self, location_id: str, day: int) -> Location | None:
        loc = self._by_location.get(location_id)
        return loc if loc is not None and loc.exists(day) else None

    def activity(self, loc: Location, day: int) -> float:
        growth = 1 + loc.trend * max(day, 0) / 120
        return max(0.05, loc.base * growth * (0.75 + 0.5 * u(self.seed, "act", loc.id, day)))

    # --- users --------------------------------------------------------------------------------
    def agency_users(self, agency: Agency, day: int) -> list[User]:
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
        growth = 1 + loc.trend * max(day, 0) / 120
        n = max(1, min(8, int(1 + 3 * loc.base * growth)))
        users = []
        for k in range(n):
            first = STAFF_FIRST[h(self.seed, "ufirst", loc.id, k) % len(STAFF_FIRST)]
            last = loc.owner_last if k == 0 else STAFF_LAST[h(self.seed, "ulast", loc.id, k) % 7]
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
        for k, created in self._slots("wf", loc, day, 25):
            period = 5 + h(self.seed, "wf-period", loc.id, k) % 40
            edits = (day - created) // period
            updated = created + edits * period
            published = u(self.seed, "wf-pub", loc.id, k) < 0.7 and day - created >= 2
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
        for k, _created in self._slots("cal", loc, day, 6):
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
        for k, created in self._slots("prod", loc, day, 12):
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
        n = int(self.activity(loc, day) * 3 * u(self.seed, "appt-n", loc.id, day) + 0.3)
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
        if not loc.exists(day):
            return 0, 0
        n = int(self.activity(loc, day) * 6 * u(self.seed, "conv-n", loc.id, day) + 0.5)
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
    def saas_state(self, loc: Location, day: int) -> dict | None:
        """Plan, price and status of the sub-account's SaaS subscription on `day`."""
        if not loc.saas or loc.created_day > day:
            return None
        agency = self.agencies[loc.company_id]
        block = max(day, 0) // 45
        shift = 0
        for b in range(block + 1):
            r = u(self.seed, "plan-change", loc.id, b)
            if r < 0.12:
                shift += 1 if loc.trend > 0 else -1
        plan = agency.plans[min(2, max(0, loc.plan_index + shift))]
        age = day - loc.created_day
        if loc.deleted_day is not None and day >= loc.deleted_day - 10:
            status = "canceled"
        elif age < 14:
            status = "trialing"
        elif u(self.seed, "pastdue", loc.id, day // 7) < 0.06:
            status = "past_due"
        else:
            status = "active"
        price = plan.price_year_id if loc.yearly else plan.price_month_id
        return {"plan": plan, "price_id": price, "status": status}
