"""The write path of tags and CSM assignments: each change atomic and audited.

Callers pass sub-accounts they already checked belong to the agency (the views refuse the whole
request with a 404 before calling here when one does not). Reading them (segments, books, the
narrowing of pages) is analytics.segments.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone as dj_tz

from accounts import audit, lookups
from accounts.models import AuditEvent, CSMAssignment, GHLUser, Location, LocationTag, Tag

# At most this many sub-account ids are written into one audit event's detail (the count is
# always there); a bulk action over a whole portfolio would otherwise make one huge row.
AUDIT_IDS = 100


class TagNameTaken(ValueError):
    """Another tag of the agency already has this name (case-insensitive)."""


def ensure_default_tags(agency) -> Tag:
    """The agency's "premium" tag, created if it has none (install, migration 0005). A tag the
    agency already named "premium" by hand becomes the built-in one."""
    with transaction.atomic():
        tag = Tag.objects.for_agency(agency).filter(builtin=Tag.BUILTIN_PREMIUM).first()
        if tag is not None:
            return tag
        named = Tag.key_for(Tag.BUILTIN_PREMIUM)
        tag = Tag.objects.for_agency(agency).filter(name_key=named).first()
        if tag is not None:
            tag.builtin = Tag.BUILTIN_PREMIUM
            tag.save(update_fields=["builtin"])
            return tag
        return Tag.objects.create(
            agency=agency, name=Tag.BUILTIN_PREMIUM, builtin=Tag.BUILTIN_PREMIUM
        )


def _actor(request, user: GHLUser | None) -> dict:
    if user is None:
        return {"actor_type": AuditEvent.ACTOR_SYSTEM, "actor_id": ""}
    return {"actor_type": AuditEvent.ACTOR_GHL, "actor_id": user.ghl_id, "request": request}


def _ids(locations) -> list[str]:
    return [loc.ghl_id for loc in locations][:AUDIT_IDS]


def create_tag(agency, name: str, *, user=None, request=None) -> Tag:
    try:
        with transaction.atomic():
            tag = Tag.objects.create(agency=agency, name=name)
            audit.record(
                "tags.created",
                agency=agency,
                target=str(tag.pk),
                detail={"name": name},
                **_actor(request, user),
            )
    except IntegrityError as exc:
        raise TagNameTaken(name) from exc
    return tag


def rename_tag(tag: Tag, name: str, *, user=None, request=None) -> Tag:
    old = tag.name
    if old == name:
        return tag
    try:
        with transaction.atomic():
            tag.name = name
            tag.save(update_fields=["name"])
            audit.record(
                "tags.renamed",
                agency=tag.agency,
                target=str(tag.pk),
                detail={"from": old, "to": name},
                **_actor(request, user),
            )
    except IntegrityError as exc:
        tag.name = old
        raise TagNameTaken(name) from exc
    return tag


def delete_tag(tag: Tag, *, user=None, request=None) -> int:
    """Delete the tag and take it off every sub-account. Returns how many carried it."""
    with transaction.atomic():
        carried = LocationTag.objects.for_agency(tag.agency_id).filter(tag=tag).count()
        audit.record(
            "tags.deleted",
            agency=tag.agency,
            target=str(tag.pk),
            detail={"name": tag.name, "builtin": tag.builtin, "sub_accounts": carried},
            **_actor(request, user),
        )
        Tag.objects.for_agency(tag.agency_id).filter(pk=tag.pk).delete()
    return carried


def apply_tag(agency, tag: Tag, locations: list[Location], *, user=None, request=None) -> int:
    """Put `tag` on each sub-account that does not carry it yet. Returns how many gained it."""
    with transaction.atomic():
        have = set(
            LocationTag.objects.for_agency(agency)
            .filter(tag=tag, location__in=locations)
            .values_list("location_id", flat=True)
        )
        new = [loc for loc in locations if loc.pk not in have]
        LocationTag.objects.bulk_create(
            LocationTag(agency=agency, location=loc, tag=tag, added_by=user.ghl_id if user else "")
            for loc in new
        )
        audit.record(
            "tags.applied",
            agency=agency,
            target=str(tag.pk),
            detail={"tag": tag.name, "added": len(new), "locations": _ids(new)},
            **_actor(request, user),
        )
    return len(new)


def remove_tag(agency, tag: Tag, locations: list[Location], *, user=None, request=None) -> int:
    """Take `tag` off the sub-accounts. Returns how many carried it."""
    with transaction.atomic():
        links = LocationTag.objects.for_agency(agency).filter(tag=tag, location__in=locations)
        gone = list(links.values_list("location__ghl_id", flat=True))
        links.delete()
        audit.record(
            "tags.removed",
            agency=agency,
            target=str(tag.pk),
            detail={"tag": tag.name, "removed": len(gone), "locations": gone[:AUDIT_IDS]},
            **_actor(request, user),
        )
    return len(gone)


def assign_csm(
    agency, csm: GHLUser | None, locations: list[Location], *, user=None, request=None
) -> int:
    """Make `csm` the CSM of each sub-account (None: no CSM). Returns how many changed."""
    with transaction.atomic():
        current = dict(
            CSMAssignment.objects.for_agency(agency)
            .filter(location__in=locations)
            .values_list("location_id", "csm_id")
        )
        wanted = None if csm is None else csm.pk
        changed = [loc for loc in locations if current.get(loc.pk) != wanted]
        ids = [loc.pk for loc in changed]
        if csm is None:
            CSMAssignment.objects.for_agency(agency).filter(location_id__in=ids).delete()
        else:
            CSMAssignment.objects.for_agency(agency).filter(location_id__in=ids).update(
                csm=csm, assigned_by=user.ghl_id if user else "", assigned_at=dj_tz.now()
            )
            CSMAssignment.objects.bulk_create(
                CSMAssignment(
                    agency=agency, location=loc, csm=csm, assigned_by=user.ghl_id if user else ""
                )
                for loc in changed
                if loc.pk not in current
            )
        # Bulk writes send no signal: the pages' cached list of books goes here (accounts.lookups).
        lookups.forget(agency.pk)
        detail = {"changed": len(changed), "locations": _ids(changed)}
        if csm is None:
            audit.record("csm.unassigned", agency=agency, detail=detail, **_actor(request, user))
        else:
            audit.record(
                "csm.assigned",
                agency=agency,
                target=csm.ghl_id,
                detail=detail,
                **_actor(request, user),
            )
    return len(changed)
