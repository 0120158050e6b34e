"""Where playbooks meet capabilities built beside them: issue 15's segments, tags and assigned
CSMs (analytics.segments, accounts' CSMAssignment) and issue 17's churn prediction
(analytics.churn). The rest of playbooks asks only through here.
"""

from __future__ import annotations

from accounts.models import Agency, GHLUser


def segments_available() -> bool:
    """Segments and tags (issue 15) narrow a play."""
    return True


def segment_choices(agency: Agency) -> list[tuple[str, str]]:
    from analytics.segments import SEGMENTS

    # Churned and disconnected sub-accounts have no score and raise no trigger.
    return [(k, v) for k, v in SEGMENTS.items() if k not in ("churned", "not_connected")]


def tag_choices(agency: Agency) -> list[tuple[str, str]]:
    from accounts.models import Tag

    return [(str(t.pk), t.name) for t in Tag.objects.for_agency(agency).order_by("name")]


def locations_in(agency: Agency, segment: str, tag: str) -> set[str] | None:
    """GHL ids of the sub-accounts in `segment` with `tag` (either may be empty), as the pages
    narrow them (analytics.segments.locations_in); None: no narrowing. A tag or segment that no
    longer exists matches nothing."""
    if not (segment or tag):
        return None
    from analytics.segments import locations_in as narrowed

    try:
        return set(narrowed(agency, segment or None, tag=int(tag) if tag else None))
    except ValueError:
        return set()


def csm_for(agency: Agency, location_ghl_id: str) -> tuple[GHLUser | None, bool]:
    """(who to tell about the sub-account, whether that is its assigned CSM): its CSM
    (issue 15's books), or the agency owner standing in where none is assigned or the CSM has no
    email address."""
    from accounts.models import CSMAssignment

    assigned = (
        CSMAssignment.objects.for_agency(agency)
        .filter(location__ghl_id=location_ghl_id, csm__deleted=False)
        .exclude(csm__email="")
        .select_related("csm")
        .first()
    )
    if assigned is not None:
        return assigned.csm, True
    return owner_of(agency), False


def csms_exist() -> bool:
    return True


def churn_available() -> bool:
    """Churn predictions exist (issue 17): the churn_probability trigger is offered."""
    return True


def churn_probabilities(agency_id: int) -> dict[str, float]:
    """Per sub-account GHL id, the predicted probability (0..1) that it churns within 90 days
    (analytics.churn; empty while the agency's model is in cold start)."""
    from analytics.churn import probabilities

    return probabilities(agency_id)


def owner_of(agency: Agency) -> GHLUser | None:
    """The agency owner; where GHL names none, its first admin (the digest's recipients are the
    owners and admins too). People without an email address are skipped."""
    users = GHLUser.objects.for_agency(agency).filter(deleted=False).exclude(email="")
    return (
        users.filter(is_agency_owner=True).order_by("pk").first()
        or users.filter(role=GHLUser.ROLE_OWNER).order_by("pk").first()
        or users.filter(role=GHLUser.ROLE_ADMIN).order_by("pk").first()
    )
