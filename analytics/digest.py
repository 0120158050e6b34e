"""The weekly digest: last week's alerts and the top at-risk sub-accounts.

- Owners and admins get the whole agency (the sub-accounts the plan analyses); when CSMs are
  assigned (accounts.models.CSMAssignment) it is grouped by CSM, with the unassigned last.
- Every other person with a book (an agency user assigned sub-accounts) gets a digest about their
  book: the sub-accounts assigned to them that GHL lets them see.

One email per person (nobody sees another's address). Agencies whose plan does not include
digests (billing.plans Features.digest_emails), or a person with nothing to report this week,
get none. Only sub-account names, scores, flags and MRR appear: no end-customer data exists to
include.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string

from accounts.models import Agency, CSMAssignment, GHLUser, Location
from analytics import alertorder
from analytics.agencyclock import agency_today
from analytics.models import Alert
from analytics.portfolio import Scope, at_risk_rows, scope_for_agency

log = logging.getLogger(__name__)

TOP_AT_RISK = 10
TOP_PER_CSM = 5
ALERTS_KEPT = 50


@dataclass
class Group:
    """One CSM's part of the owner's digest (csm None: sub-accounts without a CSM)."""

    name: str
    alerts: list = field(default_factory=list)
    at_risk: list = field(default_factory=list)


def _week(scope: Scope, today, names: dict) -> tuple[list, list]:
    """(the week's alerts, the at-risk rows ranked by MRR at risk) over the scope."""
    alerts = list(
        alertorder.ranked(
            scope.covered(
                Alert.objects.for_agency(scope.agency_id).filter(
                    day__range=(today - timedelta(days=6), today)
                )
            )
        )[:ALERTS_KEPT]
    )
    for a in alerts:
        a.location_name = names.get(a.location_ghl_id, a.location_ghl_id)
    return alerts, at_risk_rows(scope)


def _grouped(alerts, at_risk, books: dict[int, set], people: dict[int, GHLUser]) -> list[Group]:
    owner_of = {loc: pk for pk, locs in books.items() for loc in locs}
    groups = {
        pk: Group(people[pk].name or people[pk].ghl_id)
        for pk in sorted(books, key=lambda pk: (people[pk].name.lower(), people[pk].ghl_id))
    }
    nobody = Group("No CSM assigned")
    for a in alerts:
        groups.get(owner_of.get(a.location_ghl_id), nobody).alerts.append(a)
    for r in at_risk:
        group = groups.get(owner_of.get(r["location_ghl_id"]), nobody)
        if len(group.at_risk) < TOP_PER_CSM:
            group.at_risk.append(r)
    return [g for g in (*groups.values(), nobody) if g.alerts or g.at_risk]


def _message(agency, to: str, context: dict) -> EmailMultiAlternatives:
    subject = f"GoCSM weekly digest: {agency.name or agency.company_id}"
    if context.get("book_of"):
        subject += " (your book)"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("analytics/email/digest.txt", context),
        from_email=settings.DIGEST_FROM_EMAIL,
        to=[to],
    )
    html = render_to_string("analytics/email/digest.html", context)
    message.attach_alternative(html, "text/html")
    return message


def _visible(user: GHLUser, book: set) -> frozenset:
    """The part of a book GHL lets the person see (accounts.roles.allowed_location_ids)."""
    if user.restrict_sub_account and user.location_ids:
        return frozenset(book) & frozenset(str(x) for x in user.location_ids)
    return frozenset(book)


def send_digest(agency: Agency) -> int:
    """Email owners, admins and CSMs. Returns the number of emails sent (0: none)."""
    from billing.gating import access_for

    if not access_for(agency).features.digest_emails:
        log.info("digest skipped: not in plan", extra={"agency_id": agency.pk})
        return 0
    people = {
        u.pk: u
        for u in GHLUser.objects.for_agency(agency).filter(
            deleted=False,
            role__in=(GHLUser.ROLE_OWNER, GHLUser.ROLE_ADMIN, GHLUser.ROLE_USER),
        )
    }
    books: dict[int, set] = {}
    for csm_id, loc in CSMAssignment.objects.for_agency(agency).values_list(
        "csm_id", "location__ghl_id"
    ):
        if csm_id in people:  # a person GHL removed gets nothing; their book reads unassigned
            books.setdefault(csm_id, set()).add(loc)
    leaders = sorted(
        {u.email for u in people.values() if u.is_owner_or_admin and u.email},
    )
    csms = sorted(
        (people[pk] for pk in books if not people[pk].is_owner_or_admin and people[pk].email),
        key=lambda u: u.email,
    )
    if not leaders and not csms:
        return 0
    today = agency_today(agency)
    names = dict(Location.objects.for_agency(agency).values_list("ghl_id", "name"))
    base = {"agency": agency, "today": today, "base_url": settings.PUBLIC_ORIGIN}
    messages = []
    if leaders:
        # Only the sub-accounts the plan analyses, like the dashboards.
        alerts, at_risk = _week(scope_for_agency(agency), today, names)
        if alerts or at_risk:
            context = {
                **base,
                "alerts": alerts,
                "at_risk": at_risk[:TOP_AT_RISK],
                "groups": _grouped(alerts, at_risk, books, people) if books else [],
            }
            messages += [_message(agency, to, context) for to in leaders]
    sent_to = set(leaders)
    for user in csms:
        if user.email in sent_to:
            continue  # one email per address
        book = _visible(user, books[user.pk])
        if not book:
            continue
        alerts, at_risk = _week(scope_for_agency(agency, allowed=book), today, names)
        if not alerts and not at_risk:
            continue
        context = {
            **base,
            "alerts": alerts,
            "at_risk": at_risk[:TOP_AT_RISK],
            "book_of": user.name or user.ghl_id,
            "book_size": len(book),
        }
        messages.append(_message(agency, user.email, context))
        sent_to.add(user.email)
    if not messages:
        return 0
    sent = mailers.default.send_messages(messages) or 0
    log.info("digest sent", extra={"agency_id": agency.pk, "recipients": sent})
    return sent
