"""Where playbooks meet capabilities built beside them: the churn prediction (issue 17, wired
in: analytics.churn) and issue 15's segments, tags and assigned CSM (until those exist, they
answer "not available" and the agency owner stands in for the CSM). The rest of playbooks asks
only through here, so wiring one in is a change to this module alone.
"""

from __future__ import annotations

from accounts.models import Agency, GHLUser


def segments_available() -> bool:
    """Whether segments and tags exist to narrow a play with (issue 15)."""
    return False


def segment_choices(agency: Agency) -> list[tuple[str, str]]:
    return []


def tag_choices(agency: Agency) -> list[tuple[str, str]]:
    return []


def locations_in(agency: Agency, segment: str, tag: str) -> set[str] | None:
    """GHL ids of the sub-accounts in `segment` with `tag` (either may be empty); None: no
    narrowing (neither is set, or segments do not exist)."""
    if not (segment or tag) or not segments_available():
        return None
    return set()


def churn_available() -> bool:
    """Churn predictions exist (issue 17): the churn_probability trigger is offered."""
    return True


def churn_probabilities(agency_id: int) -> dict[str, float]:
    """Per sub-account GHL id, the predicted probability (0..1) that it churns within 90 days
    (analytics.churn; empty while the agency's model is in cold start)."""
    from analytics.churn import probabilities

    return probabilities(agency_id)


def csm_for(agency: Agency, location_ghl_id: str) -> tuple[GHLUser | None, bool]:
    """(who to tell about the sub-account, whether that is its assigned CSM). Until sub-accounts
    have an assigned CSM (issue 15), the agency owner stands in: (owner, False)."""
    return owner_of(agency), False


def owner_of(agency: Agency) -> GHLUser | None:
    """The agency owner; where GHL names none, its first admin (the digest's recipients are the
    owners and admins too). People without an email address are skipped."""
    users = GHLUser.objects.for_agency(agency).filter(deleted=False).exclude(email="")
    return (
        users.filter(is_agency_owner=True).order_by("pk").first()
        or users.filter(role=GHLUser.ROLE_OWNER).order_by("pk").first()
        or users.filter(role=GHLUser.ROLE_ADMIN).order_by("pk").first()
    )


def csms_exist() -> bool:
    """Whether sub-accounts can have an assigned CSM at all (the pages say who stands in)."""
    return False
