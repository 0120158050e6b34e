"""The agency's short lists every portfolio page offers (the filter bar's and the bulk form's
tags, books and CSMs; a task's assignees and the SaaS plans' names on the sub-account page), read
from the database once and kept in the shared cache until one of them changes.

Every dashboard page showed them, at three queries a page, while they change only when someone
edits a tag, assigns a CSM or GHL reports a change of its people. The cached copy is dropped the
moment one of those writes happens (and again when its transaction commits, so a page read
in between cannot keep the old lists):

- a Tag, GHLUser, CSMAssignment or SaasPlan saved one at a time (forms, admin, GHL's user sync,
  webhooks and pulls): the post_save/post_delete receivers connected in AccountsConfig.ready();
- the bulk writes that send no signal: accounts.tagging.assign_csm and the "removed in GHL"
  update of sync.usersync call forget() themselves.

The cache entry also expires after LOOKUPS_SECONDS, a bound for a write nobody thought of, not
the way changes show. The key carries the agency's hash tag (gocsm.agencykeys), so one
agency's lists are never read for another and a purge deletes them with the rest. When the
cache cannot answer, the lists are read from the database, as before.
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass
from functools import partial
from types import SimpleNamespace

from django.core.cache import cache
from django.db import transaction

from accounts import pagecache
from accounts.models import CSMAssignment, GHLUser, SaasPlan, Tag
from gocsm.agencykeys import agency_cache_key

log = logging.getLogger(__name__)

LOOKUPS_SECONDS = 10 * 60
# The roles that can be a sub-account's CSM: the agency's own people, not a sub-account's.
CSM_ROLES = (GHLUser.ROLE_OWNER, GHLUser.ROLE_ADMIN, GHLUser.ROLE_USER)


@dataclass(frozen=True)
class Lookups:
    # (pk, name) of every tag, by name.
    tags: tuple[tuple[int, str], ...]
    # (GHL user id, name) of everyone with a book (at least one sub-account assigned), by name.
    books: tuple[tuple[str, str], ...]
    # The same people as (pk, GHL user id, name, removed in GHL): who a sub-account's CSM is.
    holders: tuple[tuple[int, str, str, bool], ...]
    # (GHL user id, name) of everyone who can be assigned as a CSM, by name.
    csm_choices: tuple[tuple[str, str], ...]
    # (pk as text, name) of the same people as a task's assignee choices (playbooks), by name.
    assignees: tuple[tuple[str, str], ...]
    # (GHL SaaS plan id, name) of the agency's plans (the sub-account page's subscription table).
    plan_names: tuple[tuple[str, str], ...]

    def has_book(self, ghl_id: str) -> bool:
        return any(holder == ghl_id for holder, _name in self.books)

    def holder(self, pk: int | None) -> SimpleNamespace | None:
        """The person `pk` among those with a book (pk, ghl_id, name, deleted), None if not one."""
        for holder_pk, ghl_id, name, deleted in self.holders:
            if holder_pk == pk:
                return SimpleNamespace(pk=holder_pk, ghl_id=ghl_id, name=name, deleted=deleted)
        return None


def cache_key(agency_id: int) -> str:
    return agency_cache_key(agency_id, "lookups", "v4")


def _agency_id(agency) -> int:
    return agency if isinstance(agency, int) else agency.pk


def read(agency) -> Lookups:
    """The lists as the database has them now (four queries, only the columns shown)."""
    people = GHLUser.objects.for_agency(agency).order_by("name", "ghl_id")
    with_book = CSMAssignment.objects.for_agency(agency).values("csm_id")
    staff = people.filter(role__in=CSM_ROLES, deleted=False)
    staff = list(staff.values_list("pk", "ghl_id", "name", "email"))
    holders = tuple(people.filter(pk__in=with_book).values_list("pk", "ghl_id", "name", "deleted"))
    return Lookups(
        tags=tuple(Tag.objects.for_agency(agency).order_by("name").values_list("pk", "name")),
        books=tuple((ghl_id, name or ghl_id) for _pk, ghl_id, name, _deleted in holders),
        holders=holders,
        csm_choices=tuple((ghl_id, name or ghl_id) for _pk, ghl_id, name, _email in staff),
        assignees=tuple((str(pk), name or email or ghl_id) for pk, ghl_id, name, email in staff),
        plan_names=tuple(SaasPlan.objects.for_agency(agency).values_list("plan_id", "name")),
    )


def for_agency(agency, cached_get=None) -> Lookups:
    """The agency's lists: the cached copy, or read and cached. `cached_get` reads the cached
    copy (default: one cache read)."""
    key = cache_key(_agency_id(agency))
    try:
        cached = cached_get() if cached_get is not None else cache.get(key)
    except Exception as exc:  # the shared cache being away must not break every page
        log.warning("lookups cache unavailable (%s)", type(exc).__name__)
        return read(agency)
    if cached is not None:
        return Lookups(*cached)
    lookups = read(agency)
    try:
        cache.set(key, astuple(lookups), LOOKUPS_SECONDS)
    except Exception as exc:
        log.warning("lookups cache unavailable (%s)", type(exc).__name__)
    return lookups


def for_request(request) -> Lookups:
    """for_agency() for the request's agency, asked of the cache once per request, with the
    page's other cached values (accounts.pagecache)."""
    lookups = getattr(request, "_agency_lookups", None)
    if lookups is None:
        lookups = request._agency_lookups = for_agency(
            request.agency, lambda: pagecache.get(request, "lookups")
        )
    return lookups


def _drop(agency_id: int) -> None:
    try:
        cache.delete(cache_key(agency_id))
    except Exception as exc:
        # Not raised: the write itself succeeded. The copy expires within LOOKUPS_SECONDS.
        log.error("lookups cache not cleared agency=%s (%s)", agency_id, type(exc).__name__)


def forget(agency_id: int, using: str | None = None) -> None:
    """Drop the agency's cached lists now and once more when the current transaction commits
    (a page that read the database before the commit may have cached the old lists)."""
    _drop(agency_id)
    transaction.on_commit(partial(_drop, agency_id), using=using)


def on_change(sender, instance, using=None, **kwargs) -> None:
    """post_save/post_delete receiver for Tag, GHLUser, CSMAssignment and SaasPlan."""
    forget(instance.agency_id, using)
