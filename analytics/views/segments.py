"""Segments, tags and CSM books: the segments page (definitions, counts, tag management), the
bulk actions of the list pages, and a sub-account's own tags and CSM.

Every write is one form POST (CSRF-checked by Django's middleware), owner/admin only, refused in
billing's read-only mode, atomic and audited (accounts.tagging). A sub-account, tag or person of
another agency (or one GHL hides from the user) reads as one that does not exist: 404, and
nothing is changed, because the whole set is checked before anything is written.
"""

from __future__ import annotations

from functools import cached_property
from types import SimpleNamespace

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import lookups, tagging
from accounts.models import CSMAssignment, GHLUser, Location, LocationTag, Tag
from accounts.tenancy import get_for_agency
from accounts.tenantsql import Select, read_together
from accounts.visibility import location_for_request
from analytics import portfolio, segments
from analytics.views.common import (
    BULK_ACTIONS,
    agency_staff,
    handles_bad_params,
    owner_or_admin,
    read_only,
)
from analytics.views.sentiment import switch_nps
from billing.gating import refuse_writes_when_read_only
from gocsm.errors import error_response

MAX_BULK = 5000


def clean_tag_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise forms.ValidationError("A tag needs a name.")
    if len(name) > Tag.NAME_MAX:
        raise forms.ValidationError(f"A tag name has at most {Tag.NAME_MAX} characters.")
    if any(ord(ch) < 32 for ch in value):
        raise forms.ValidationError("A tag name cannot contain control characters.")
    return name


class TagForm(forms.Form):
    name = forms.CharField(max_length=200, strip=False)

    def clean_name(self):
        return clean_tag_name(self.cleaned_data["name"])


class TagActionForm(forms.Form):
    ACTIONS = ("create", "rename", "delete")
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    tag = forms.IntegerField(required=False, min_value=1)
    name = forms.CharField(required=False, max_length=200, strip=False)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("create", "rename"):
            data["name"] = clean_tag_name(data.get("name") or "")
        if action in ("rename", "delete") and not data.get("tag"):
            raise forms.ValidationError("Choose a tag.")
        return data


class IdsField(forms.MultipleChoiceField):
    """GHL sub-account ids as posted; whether they are the agency's is the view's 404."""

    def valid_value(self, value) -> bool:
        return 0 < len(value) <= 64


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=list(BULK_ACTIONS.items()))
    ids = IdsField(error_messages={"required": "Select at least one sub-account."})
    tag = forms.IntegerField(required=False, min_value=1)
    csm = forms.CharField(required=False, max_length=64)
    next = forms.CharField(required=False, max_length=2000)

    def clean_ids(self):
        ids = list(dict.fromkeys(self.cleaned_data["ids"]))
        if len(ids) > MAX_BULK:
            raise forms.ValidationError(f"At most {MAX_BULK} sub-accounts at once.")
        return ids

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("tag_add", "tag_remove") and not data.get("tag"):
            raise forms.ValidationError("Choose a tag.")
        if action == "csm_assign" and not data.get("csm"):
            raise forms.ValidationError("Choose a CSM.")
        return data


def _locations(request, ids: list[str]) -> list[Location]:
    """The agency's sub-accounts named by `ids`, all visible to the user, or Http404."""
    found = list(Location.objects.for_agency(request.agency).filter(ghl_id__in=ids))
    allowed = request.allowed_location_ids
    if len(found) != len(ids) or (
        allowed is not None and any(loc.ghl_id not in allowed for loc in found)
    ):
        raise Http404
    return found


def _tag(request, pk) -> Tag:
    return get_for_agency(Tag, request.agency, pk=pk)


def _csm(request, ghl_id: str) -> GHLUser:
    user = get_for_agency(GHLUser, request.agency, ghl_id=ghl_id)
    if user.role not in segments.CSM_ROLES or user.deleted:
        raise Http404
    return user


def _form_error(request, form) -> object:
    text = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    return error_response(request, 400, text or "That request is not valid.")


def _back(request, fallback: str = "analytics:overview"):
    target = request.POST.get("next", "")
    if target.startswith("/app/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def perform(request, action: str, locations, tag=None, csm=None) -> str:
    """Run one bulk action on already-checked sub-accounts; returns what to tell the user."""
    agency, user = request.agency, request.ghl_user
    if action == "tag_add":
        n = tagging.apply_tag(agency, tag, locations, user=user, request=request)
        return f"Tag “{tag.name}” added to {n} sub-account{'s' * (n != 1)}."
    if action == "tag_remove":
        n = tagging.remove_tag(agency, tag, locations, user=user, request=request)
        return f"Tag “{tag.name}” removed from {n} sub-account{'s' * (n != 1)}."
    if action in ("nps_on", "nps_off"):
        ids = {loc.ghl_id for loc in locations}
        added, removed = switch_nps(request, ids if action == "nps_on" else set(), ids)
        if action == "nps_on":
            return f"NPS prompt switched on for {added} more sub-account{'s' * (added != 1)}."
        return f"NPS prompt switched off for {removed} sub-account{'s' * (removed != 1)}."
    if action == "csm_assign":
        n = tagging.assign_csm(agency, csm, locations, user=user, request=request)
        return f"{csm.name or csm.ghl_id} is now the CSM of {n} more sub-account{'s' * (n != 1)}."
    n = tagging.assign_csm(agency, None, locations, user=user, request=request)
    return f"CSM removed from {n} sub-account{'s' * (n != 1)}."


@require_POST
@owner_or_admin
@refuse_writes_when_read_only
def bulk_action(request):
    """The list pages' bulk form: selected sub-accounts, one action, one POST."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form)
    data = form.cleaned_data
    # Everything is looked up (and refused with a 404) before anything is written.
    locations = _locations(request, data["ids"])
    tag = _tag(request, data["tag"]) if data["action"] in ("tag_add", "tag_remove") else None
    csm = _csm(request, data["csm"]) if data["action"] == "csm_assign" else None
    messages.success(request, perform(request, data["action"], locations, tag, csm))
    return _back(request)


class LocationTagForm(forms.Form):
    action = forms.ChoiceField(choices=[("add", "add"), ("remove", "remove")])
    tag = forms.IntegerField(min_value=1)


@require_POST
@owner_or_admin
@refuse_writes_when_read_only
def location_tags(request, ghl_id: str):
    """Add or remove one tag on the sub-account page."""
    location_for_request(request, ghl_id)
    form = LocationTagForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form)
    locations = _locations(request, [ghl_id])
    tag = _tag(request, form.cleaned_data["tag"])
    action = "tag_add" if form.cleaned_data["action"] == "add" else "tag_remove"
    messages.success(request, perform(request, action, locations, tag))
    return redirect("analytics:location-detail", ghl_id=ghl_id)


class LocationCSMForm(forms.Form):
    csm = forms.CharField(required=False, max_length=64)


@require_POST
@owner_or_admin
@refuse_writes_when_read_only
def location_csm(request, ghl_id: str):
    """Assign (or clear, with an empty choice) the sub-account's CSM on its page."""
    location_for_request(request, ghl_id)
    form = LocationCSMForm(request.POST)
    if not form.is_valid():
        return _form_error(request, form)
    locations = _locations(request, [ghl_id])
    raw = form.cleaned_data["csm"]
    csm = _csm(request, raw) if raw else None
    action = "csm_assign" if csm is not None else "csm_clear"
    messages.success(request, perform(request, action, locations, csm=csm))
    return redirect("analytics:location-detail", ghl_id=ghl_id)


def _segment_counts(request) -> list[dict]:
    """Each segment with how many of the user's visible sub-accounts are in it today."""
    agency = request.agency
    allowed = request.allowed_location_ids
    out = []
    for key, label in segments.SEGMENTS.items():
        ids = segments.locations_in(agency, segment=key)
        if allowed is not None:
            ids = ids & allowed
        out.append(
            {"key": key, "label": label, "help": segments.SEGMENT_HELP[key], "count": len(ids)}
        )
    return out


@handles_bad_params
@agency_staff
@refuse_writes_when_read_only
def segments_page(request):
    """Segments with their definitions and counts, tags (created, renamed and deleted here by
    owners and admins) and the CSMs' books."""
    agency = request.agency
    can_edit = request.ghl_user.is_owner_or_admin and not read_only(request)
    form = TagActionForm()
    status = 200
    if request.method == "POST":
        if not request.ghl_user.is_owner_or_admin:
            return error_response(request, 403)
        form = TagActionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            tag = _tag(request, data["tag"]) if data["action"] != "create" else None
            try:
                if data["action"] == "create":
                    tag = tagging.create_tag(
                        agency, data["name"], user=request.ghl_user, request=request
                    )
                    messages.success(request, f"Tag “{tag.name}” created.")
                elif data["action"] == "rename":
                    old = tag.name
                    tagging.rename_tag(tag, data["name"], user=request.ghl_user, request=request)
                    messages.success(request, f"Tag “{old}” renamed to “{tag.name}”.")
                else:
                    n = tagging.delete_tag(tag, user=request.ghl_user, request=request)
                    messages.success(
                        request, f"Tag “{tag.name}” deleted (it was on {n} sub-accounts)."
                    )
                return redirect("analytics:segments")
            except tagging.TagNameTaken:
                form.add_error("name", "Another tag already has that name.")
        status = 400
    allowed = request.allowed_location_ids
    links = LocationTag.objects.for_agency(agency)
    books = CSMAssignment.objects.for_agency(agency)
    if allowed is not None:
        links = links.filter(location__ghl_id__in=allowed)
        books = books.filter(location__ghl_id__in=allowed)
    tag_counts = dict(links.values("tag_id").annotate(n=Count("id")).values_list("tag_id", "n"))
    tags = [
        {"tag": t, "count": tag_counts.get(t.pk, 0)}
        for t in Tag.objects.for_agency(agency).order_by("name")
    ]
    book_counts = dict(books.values("csm_id").annotate(n=Count("id")).values_list("csm_id", "n"))
    csms = [
        {"user": u, "count": book_counts[u.pk]}
        for u in GHLUser.objects.for_agency(agency).filter(pk__in=list(book_counts))
    ]
    assigned = books.values_list("location__ghl_id", flat=True)
    scope = portfolio.scope_for(request, narrow=False)
    unassigned = scope.states().exclude(location_ghl_id__in=list(assigned)).count()
    return render(
        request,
        "analytics/segments.html",
        {
            "segments": _segment_counts(request),
            "definitions": segments.DEFINITIONS,
            "tags": tags,
            "csms": csms,
            "unassigned": unassigned,
            "can_edit": can_edit,
            "form": form,
            "name_max": Tag.NAME_MAX,
        },
        status=status,
    )


# A sub-account's tag and CSM links (accounts.tenantsql), by its pk.
_LOCATION_TAGS = Select(LocationTag, ("tag_id",), where=(("location_id", "="),))
_LOCATION_CSM = Select(CSMAssignment, ("csm_id",), where=(("location_id", "="),), limit=1)


class LocationLabels:
    """A sub-account's tags and CSM on its page, and (for owners and admins) what can be added.
    Its tag and CSM links are read together in one round trip when the page shows them; names
    come from the agency's cached lists (accounts.lookups)."""

    def __init__(self, request, location):
        self.request = request
        self.agency = request.agency
        self.location = location
        self.can_edit = request.ghl_user.is_owner_or_admin and not read_only(request)
        # The agency's tags and CSM are its own business, not the sub-account's people's.
        self.visible = request.ghl_user.role != request.ghl_user.ROLE_LOCATION

    @cached_property
    def _links(self) -> tuple[list[tuple], list[tuple]]:
        return tuple(
            read_together(
                self.agency.pk,
                (_LOCATION_TAGS, (self.location.pk,)),
                (_LOCATION_CSM, (self.location.pk,)),
            )
        )

    @cached_property
    def tags(self) -> list[tuple[int, str]]:
        """(pk, name) of its tags, by name."""
        carried = {tag_id for (tag_id,) in self._links[0]}
        return [(pk, name) for pk, name in lookups.for_request(self.request).tags if pk in carried]

    @cached_property
    def addable(self) -> list[tuple[int, str]]:
        have = {pk for pk, _name in self.tags}
        return [(pk, name) for pk, name in lookups.for_request(self.request).tags if pk not in have]

    @cached_property
    def csm(self) -> SimpleNamespace | None:
        csm_ids = self._links[1]
        return lookups.for_request(self.request).holder(csm_ids[0][0]) if csm_ids else None

    @property
    def csm_choices(self) -> tuple[tuple[str, str], ...]:
        return lookups.for_request(self.request).csm_choices
