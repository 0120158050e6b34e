"""Segments, tags and books: what every page, tile, chart and export can be narrowed to.

DEFINITIONS below is what the pages print (the segments page and Settings); it is the written
definition each segment's rule (_STATE_RULES, premium's tag) follows.

For other features (playbooks): `locations_in(agency, segment=..., tag=..., csm=...)` returns the
GHL ids of the agency's sub-accounts in that segment, with that tag, in that CSM's book (each
given criterion must hold), read the same way the pages read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Q

from accounts import lookups
from accounts.lookups import CSM_ROLES
from accounts.models import CSMAssignment, GHLUser, LocationTag, Tag
from analytics.models import Lifecycle, LocationState, MRRSource
from gocsm import product_events

DEFINITIONS = """\
Segments are built in. A sub-account's segment is where it stands on the latest scored day (the
day the pages show), so a chart over time shows the history of the sub-accounts in the segment
today.

- *SaaS clients*: GoCSM reads a GHL SaaS subscription for the sub-account: its MRR comes from
  GHL (the latest subscription GHL reported is not "none"), whatever the status. A trialing,
  past-due or cancelled subscription counts, so a churned SaaS client is still a SaaS client.
- *Regular clients*: every other sub-account GoCSM has data for: billed outside GHL (MRR entered
  by hand) or not billed in GHL at all. SaaS and regular clients split the portfolio in two.
- *Premium*: the sub-accounts carrying the agency's "premium" tag. Every agency gets that tag
  when it installs GoCSM; renaming it keeps it the premium tag; deleting it empties the segment.
- *Onboarding*: in its first 30 days of data (lifecycle "onboarding").
- *Churned*: it paid before, and now pays nothing because its subscription is cancelled or ended
  or its manual MRR was set to 0 (lifecycle "churned").
- *Not connected*: GoCSM was removed from it, or it was deleted in GHL (lifecycle
  "not connected").

A sub-account GoCSM is still importing (no day of data yet) is in no segment but premium.

Tags are labels owners and admins create and put on sub-accounts; narrowing to a tag keeps the
sub-accounts carrying it. A book is the set of sub-accounts assigned to one CSM (one of the
agency's GHL users); "No CSM assigned" keeps those without one.

Narrowing combines with what GHL lets a person see and with the plan's sub-account limit: a page
shows the sub-accounts that pass all of them.
"""

SEGMENTS = {
    "saas": "SaaS clients",
    "regular": "Regular clients",
    "premium": "Premium",
    "onboarding": "Onboarding",
    "churned": "Churned",
    "not_connected": "Not connected",
}
SEGMENT_HELP = {
    "saas": "a GHL SaaS subscription, any status",
    "regular": "billed outside GHL or not billed in GHL",
    "premium": "carries the premium tag",
    "onboarding": "first 30 days of data",
    "churned": "paid before, pays nothing now",
    "not_connected": "GoCSM uninstalled or deleted in GHL",
}
# Segments decided by the current state's columns (analytics database); premium is a tag.
_STATE_RULES = {
    "saas": Q(mrr_source=MRRSource.GHL),
    "regular": ~Q(mrr_source=MRRSource.GHL) & ~Q(lifecycle=""),
    "onboarding": Q(lifecycle=Lifecycle.ONBOARDING),
    "churned": Q(lifecycle=Lifecycle.CHURNED),
    "not_connected": Q(lifecycle=Lifecycle.NOT_CONNECTED),
}
BOOK_ALL, BOOK_MINE, BOOK_NONE = "all", "mine", "none"
SCOPE_PARAMS = ("segment", "tag", "book")


class BadNarrowing(ValueError):
    """A segment, tag or book parameter the agency does not have: the page answers 400."""


def state_rule(segment: str) -> Q | None:
    """The LocationState condition of a segment (None: premium, or no segment)."""
    return _STATE_RULES.get(segment)


def premium_tag(agency) -> Tag | None:
    return Tag.objects.for_agency(agency).filter(builtin=Tag.BUILTIN_PREMIUM).first()


def tagged_ids(agency, tag: Tag | int | None = None, *, builtin: str = "") -> frozenset[str]:
    qs = LocationTag.objects.for_agency(agency)
    qs = qs.filter(tag__builtin=builtin) if builtin else qs.filter(tag=tag)
    return frozenset(qs.values_list("location__ghl_id", flat=True))


def book_ids(agency, csm: GHLUser | int | None) -> frozenset[str]:
    """GHL ids of the sub-accounts assigned to `csm`."""
    qs = CSMAssignment.objects.for_agency(agency).filter(csm=csm)
    return frozenset(qs.values_list("location__ghl_id", flat=True))


def locations_in(agency, segment: str | None = None, tag=None, csm=None) -> frozenset[str]:
    """GHL ids of the agency's sub-accounts in `segment` (a key of SEGMENTS), carrying `tag` (a
    Tag or its id) and assigned to `csm` (a GHLUser or its id); every given criterion must hold,
    none given means every sub-account GoCSM has state for. Raises ValueError for an unknown
    segment; a tag or CSM of another agency matches nothing."""
    if segment and segment not in SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}")
    ids: frozenset[str] | None = None

    def narrow(more: frozenset[str]) -> None:
        nonlocal ids
        ids = more if ids is None else ids & more

    if segment == "premium":
        narrow(tagged_ids(agency, builtin=Tag.BUILTIN_PREMIUM))
    if tag is not None:
        narrow(tagged_ids(agency, tag))
    if csm is not None:
        narrow(book_ids(agency, csm))
    states = LocationState.objects.for_agency(agency.pk)
    rule = state_rule(segment or "")
    if rule is not None:
        states = states.filter(rule)
    elif ids is not None:
        return ids
    if ids is not None:
        states = states.filter(location_ghl_id__in=ids)
    return frozenset(states.values_list("location_ghl_id", flat=True))


@dataclass
class Narrowing:
    """What a page is narrowed to, from its query parameters (segment, tag, book)."""

    segment: str = ""
    tag: Tag | None = None
    # "" = no book narrowing, "mine", "none" (unassigned) or a CSM's GHL user id.
    book: str = ""
    book_name: str = ""
    # Landed on the user's own book without asking for it (no book parameter).
    default_book: bool = False
    # The signed-in user's own book (GHL ids; empty when they have none).
    my_book: frozenset = field(default_factory=frozenset)
    # May switch to the whole portfolio: GHL does not restrict them to some sub-accounts.
    whole_allowed: bool = True
    # GHL ids the tag, premium and book narrow to (None: they do not narrow).
    ids: frozenset | None = None

    @property
    def segment_rule(self) -> Q | None:
        return state_rule(self.segment)

    @property
    def active(self) -> bool:
        return bool(self.segment or self.tag or self.book)

    @property
    def has_book(self) -> bool:
        return bool(self.my_book)

    def params(self) -> list[tuple[str, str]]:
        """The query parameters that keep this narrowing in links and exports."""
        out = []
        if self.segment:
            out.append(("segment", self.segment))
        if self.tag is not None:
            out.append(("tag", str(self.tag.pk)))
        if self.book and not self.default_book:
            out.append(("book", self.book))
        elif not self.book and self.has_book:
            out.append(("book", BOOK_ALL))  # the user switched to the whole portfolio
        return out

    @property
    def query(self) -> str:
        return urlencode(self.params())

    @property
    def label(self) -> str:
        parts = []
        if self.book == BOOK_MINE:
            parts.append("My book")
        elif self.book == BOOK_NONE:
            parts.append("No CSM assigned")
        elif self.book:
            parts.append(f"{self.book_name}'s book")
        if self.segment:
            parts.append(SEGMENTS[self.segment])
        if self.tag is not None:
            parts.append(f"tag {self.tag.name}")
        return " · ".join(parts)

    def keep(self, agency, ids) -> set[str]:
        """`ids` narrowed to this narrowing, for a page that does not read the current state
        (the feedback page): one query when a segment's rule applies, none otherwise."""
        out = set(ids)
        if self.ids is not None:
            out &= self.ids
        rule = self.segment_rule
        if rule is not None and out:
            out = set(
                LocationState.objects.for_agency(agency.pk)
                .filter(rule, location_ghl_id__in=list(out))
                .values_list("location_ghl_id", flat=True)
            )
        return out

    def restrict(self, allowed: frozenset | None) -> frozenset | None:
        """The sub-accounts a page covers: those GHL allows (None: all) narrowed by tag/book."""
        if self.ids is None:
            return allowed
        return self.ids if allowed is None else allowed & self.ids


def narrowing_for(request) -> Narrowing:
    """Read segment, tag and book from the request. A user with a book lands on it when the
    request names no book ("book=all" is the whole portfolio)."""
    agency, user = request.agency, request.ghl_user
    get = request.GET
    n = Narrowing()
    if user is not None and user.role == GHLUser.ROLE_LOCATION:
        # A sub-account's own people never see the agency's segments, tags or books.
        if any(k in get for k in SCOPE_PARAMS):
            raise BadNarrowing("not for sub-account users")
        return n
    segment = get.get("segment", "")
    if segment not in ("", *SEGMENTS):
        raise BadNarrowing("segment")
    n.segment = segment
    n.whole_allowed = getattr(request, "allowed_location_ids", None) is None
    ids: frozenset | None = None

    def narrow(more: frozenset) -> None:
        nonlocal ids
        ids = more if ids is None else ids & more

    if segment == "premium":
        narrow(tagged_ids(agency, builtin=Tag.BUILTIN_PREMIUM))
    raw_tag = get.get("tag", "")
    if raw_tag:
        if not raw_tag.isdigit() or len(raw_tag) > 18:
            raise BadNarrowing("tag")
        n.tag = Tag.objects.for_agency(agency).filter(pk=int(raw_tag)).first()
        if n.tag is None:
            raise BadNarrowing("tag")  # another agency's tag reads as one that does not exist
        narrow(tagged_ids(agency, n.tag))
    # The agency's cached list of books (accounts.lookups) says whether the user has one: only
    # then are its sub-accounts read.
    if user is not None and lookups.for_request(request).has_book(user.ghl_id):
        n.my_book = book_ids(agency, user)
    book = get.get("book")
    if book is None:
        book = BOOK_MINE if n.my_book else ""
        n.default_book = bool(book)
    if book == BOOK_ALL:
        book = ""
    elif book == BOOK_MINE:
        narrow(n.my_book)
    elif book == BOOK_NONE:
        assigned = CSMAssignment.objects.for_agency(agency).values_list(
            "location__ghl_id", flat=True
        )
        every = LocationState.objects.for_agency(agency.pk).values_list(
            "location_ghl_id", flat=True
        )
        narrow(frozenset(every) - frozenset(assigned))
    elif book:
        csm = (
            GHLUser.objects.for_agency(agency)
            .filter(ghl_id=book, role__in=CSM_ROLES)
            .only("pk", "name", "ghl_id")
            .first()
            if len(book) <= 64
            else None
        )
        if csm is None:
            raise BadNarrowing("book")
        n.book_name = csm.name or csm.ghl_id
        narrow(book_ids(agency, csm))
    n.book = book
    n.ids = ids
    _count_use(request, n, explicit_book=not n.default_book and "book" in get)
    return n


def _count_use(request, n: Narrowing, explicit_book: bool) -> None:
    """Product analytics: which narrowings people use (keys only, never a tag or a person)."""
    url_name = getattr(getattr(request, "resolver_match", None), "view_name", "") or ""
    used = []
    if n.segment:
        used.append(("segment", n.segment))
    if n.tag is not None:
        used.append(("tag", True))
    if explicit_book:
        raw = request.GET.get("book", "")
        used.append(("book", raw if raw in (BOOK_ALL, BOOK_MINE, BOOK_NONE) else "csm"))
    for name, value in used:
        product_events.capture(
            request,
            product_events.DASHBOARD_FILTER_USED,
            {"url_name": url_name, "filter": name, "value": value},
        )
