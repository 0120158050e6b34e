"""Playbook pages: plays (owners and admins), a play's delivery log and outcomes, and tasks."""

from __future__ import annotations

from functools import wraps

from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone as dj_tz
from django.views.decorators.http import require_http_methods, require_POST

from accounts import audit, lookups
from accounts.models import GHLUser, Location
from accounts.visibility import location_for_request
from analytics.agencyclock import agency_today
from analytics.playbooks import library, outcomes, seams, triggers
from analytics.playbooks.forms import PlayForm, TaskForm, play_initial
from analytics.playbooks.models import Delivery, Play, PlayPeriod, Run, Task
from analytics.playbooks.outbound import mask_url
from analytics.playbooks.payload import new_signing_secret
from analytics.views.common import BadParam, choice, handles_bad_params, owner_or_admin, paginate
from billing.gating import refuse_writes_when_read_only
from gocsm.encryption import decrypt, encrypt


def record(action: str, request, play: Play, **detail) -> None:
    """Audit a change to a play (the Security page names each action: ACTION_LABELS)."""
    audit.record(
        action,
        agency=request.agency,
        actor_type="ghl_user",
        actor_id=request.ghl_user.ghl_id,
        target=f"play:{play.pk}",
        request=request,
        detail={"name": play.name, "trigger": play.trigger, **detail},
    )


def _switch(play: Play, on: bool) -> None:
    now = dj_tz.now()
    if on and not play.enabled:
        PlayPeriod.objects.create(agency_id=play.agency_id, play=play, on_at=now)
    elif not on and play.enabled:
        PlayPeriod.objects.for_agency(play.agency_id).filter(play=play, off_at__isnull=True).update(
            off_at=now
        )
    play.enabled = on
    play.save(update_fields=["enabled", "updated_at"])


def _actions(play: Play) -> list[str]:
    out = []
    if play.ghl_webhook_secret_url:
        out.append(f"GHL workflow ({mask_url(decrypt(play.ghl_webhook_secret_url))})")
    if play.slack_webhook_secret_url:
        out.append(f"Slack ({mask_url(decrypt(play.slack_webhook_secret_url))})")
    if play.email_on:
        out.append("Email the CSM")
    if play.task_on:
        out.append(f"Task due in {play.task_due_days} days")
    return out


@owner_or_admin
@handles_bad_params
def index(request):
    agency = request.agency
    plays = list(Play.objects.for_agency(agency).select_related("task_assignee"))
    fired = dict(
        Run.objects.for_agency(agency)
        .values("play_id")
        .annotate(n=Count("pk"))
        .values_list("play_id", "n")
    )
    used = {p.template for p in plays}
    return render(
        request,
        "playbooks/index.html",
        {
            "plays": [
                {
                    "play": p,
                    "trigger": triggers.label(p.trigger),
                    "actions": _actions(p),
                    "fired": fired.get(p.pk, 0),
                }
                for p in plays
            ],
            "ready": [r for r in library.READY if r.key not in used],
            "csm_assigned": seams.csms_exist(),
        },
    )


def _secret_page(request, play: Play, secret: str, status: int = 200):
    return render(request, "playbooks/secret.html", {"play": play, "secret": secret}, status=status)


@owner_or_admin
@refuse_writes_when_read_only
@require_POST
def switch_on_ready(request, key: str):
    """One click: the ready-made play, on, with the URLs given beside the button (if any)."""
    ready = library.BY_KEY.get(key)
    if ready is None:
        raise Http404
    play, secret, form = library.switch_on(
        request.agency,
        key,
        ghl_url=request.POST.get("ghl_webhook_url", ""),
        slack_url=request.POST.get("slack_webhook_url", ""),
    )
    if play is None:
        return render(
            request,
            "playbooks/edit.html",
            {"form": form, "play": None, "ready": ready},
            status=400,
        )
    record("playbooks.play_switched_on", request, play, template=ready.key)
    return _secret_page(request, play, secret)


def _apply(play: Play, data: dict) -> None:
    play.name = data["name"]
    play.trigger = data["trigger"]
    play.threshold = data["threshold"] / 100 if data.get("threshold") else None
    play.segment = data.get("segment") or ""
    play.tag = data.get("tag") or ""
    if data.get("ghl_webhook_url"):
        play.ghl_webhook_secret_url = encrypt(data["ghl_webhook_url"])
    elif data.get("remove_ghl"):
        play.ghl_webhook_secret_url = ""
    if data.get("slack_webhook_url"):
        play.slack_webhook_secret_url = encrypt(data["slack_webhook_url"])
    elif data.get("remove_slack"):
        play.slack_webhook_secret_url = ""
    play.email_on = data["email_on"]
    play.task_on = data["task_on"]
    play.task_due_days = data["task_due_days"]
    play.task_note = data.get("task_note") or ""
    assignee = data.get("task_assignee")
    play.task_assignee = (
        GHLUser.objects.for_agency(play.agency_id).filter(pk=assignee).first() if assignee else None
    )


@owner_or_admin
@refuse_writes_when_read_only
@require_http_methods(["GET", "POST"])
def edit(request, pk: int | None = None):
    agency = request.agency
    play = get_object_or_404(Play.objects.for_agency(agency), pk=pk) if pk else None
    if request.method == "POST":
        form = PlayForm(agency, request.POST)
        if form.is_valid():
            secret = None
            with transaction.atomic():
                if play is None:
                    secret = new_signing_secret()
                    play = Play(agency=agency, signing_secret=encrypt(secret))
                _apply(play, form.cleaned_data)
                play.save()
                if secret is not None:
                    _switch(play, bool(request.POST.get("enabled")))
            record("playbooks.play_saved", request, play)
            if secret is not None:
                return _secret_page(request, play, secret)
            return redirect("playbooks:detail", pk=play.pk)
        status = 400
    else:
        form = PlayForm(agency, initial=play_initial(play) if play else {"task_due_days": 3})
        status = 200
    return render(
        request,
        "playbooks/edit.html",
        {
            "form": form,
            "play": play,
            "ghl_url": mask_url(decrypt(play.ghl_webhook_secret_url))
            if play and play.ghl_webhook_secret_url
            else "",
            "slack_url": mask_url(decrypt(play.slack_webhook_secret_url))
            if play and play.slack_webhook_secret_url
            else "",
            "segments": seams.segments_available(),
        },
        status=status,
    )


@owner_or_admin
@refuse_writes_when_read_only
@require_POST
def switch(request, pk: int):
    play = get_object_or_404(Play.objects.for_agency(request.agency), pk=pk)
    on = request.POST.get("on") == "1"
    with transaction.atomic():
        _switch(play, on)
    if on:
        record("playbooks.play_switched_on", request, play)
    else:
        record("playbooks.play_switched_off", request, play)
    return redirect("playbooks:detail", pk=play.pk)


@owner_or_admin
@refuse_writes_when_read_only
@require_POST
def rotate_secret(request, pk: int):
    play = get_object_or_404(Play.objects.for_agency(request.agency), pk=pk)
    secret = new_signing_secret()
    play.signing_secret = encrypt(secret)
    play.save(update_fields=["signing_secret", "updated_at"])
    record("playbooks.play_secret_rotated", request, play)
    return _secret_page(request, play, secret)


@owner_or_admin
@handles_bad_params
def detail(request, pk: int):
    agency = request.agency
    play = get_object_or_404(Play.objects.for_agency(agency), pk=pk)
    status = choice(request, "status", ["all", *(s for s, _l in Delivery.STATUSES)], "all")
    deliveries = (
        Delivery.objects.for_agency(agency).filter(play=play).order_by("-created_at", "-pk")
    )
    if status != "all":
        deliveries = deliveries.filter(status=status)
    page = paginate(list(deliveries[:2000]), request)
    names = dict(
        Location.objects.for_agency(agency)
        .filter(ghl_id__in={d.location_ghl_id for d in page})
        .values_list("ghl_id", "name")
    )
    for d in page:
        d.location_name = names.get(d.location_ghl_id) or d.location_ghl_id
    today = agency_today(agency)
    result = outcomes.for_play(play, today)
    return render(
        request,
        "playbooks/detail.html",
        {
            "play": play,
            "trigger": triggers.label(play.trigger),
            "actions": _actions(play),
            "page": page,
            "status": status,
            "statuses": Delivery.STATUSES,
            "outcome": result,
            "window": outcomes.WINDOW_DAYS,
            "periods": PlayPeriod.objects.for_agency(agency)
            .filter(play=play)
            .order_by("-on_at")[:20],
        },
    )


TASK_VIEWS = ("mine", "overdue", "open", "done")


def _agency_staff(view):
    """Tasks are the agency's own notes about its clients: a sub-account's own people (GHL
    location users) get 404, as for the agency's other internal pages."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.ghl_user.role == GHLUser.ROLE_LOCATION:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _visible_tasks(request):
    qs = Task.objects.for_agency(request.agency).select_related("assignee")
    allowed = getattr(request, "allowed_location_ids", None)
    if allowed is not None:
        qs = qs.filter(location_ghl_id__in=allowed)
    return qs


@_agency_staff
@handles_bad_params
def tasks(request):
    show = choice(request, "show", TASK_VIEWS, "mine")
    today = agency_today(request.agency)
    qs = _visible_tasks(request)
    if show == "mine":
        qs = qs.filter(assignee=request.ghl_user, status=Task.OPEN)
    elif show == "overdue":
        qs = qs.filter(status=Task.OPEN, due__lt=today)
    elif show == "open":
        qs = qs.filter(status=Task.OPEN)
    else:
        qs = qs.filter(status=Task.DONE).order_by("-closed_at")
    page = paginate(list(qs[:2000]), request)
    names = dict(
        Location.objects.for_agency(request.agency)
        .filter(ghl_id__in={t.location_ghl_id for t in page})
        .values_list("ghl_id", "name")
    )
    for t in page:
        t.location_name = names.get(t.location_ghl_id) or t.location_ghl_id
        t.overdue = t.status == Task.OPEN and t.due < today
    return render(
        request,
        "playbooks/tasks.html",
        {"page": page, "show": show, "views": TASK_VIEWS, "today": today},
    )


@_agency_staff
@handles_bad_params
@refuse_writes_when_read_only
@require_POST
def task_update(request, pk: int):
    task = get_object_or_404(_visible_tasks(request), pk=pk)
    form = TaskForm(request, request.POST)
    if not form.is_valid():
        raise BadParam("task")
    data = form.cleaned_data
    closing = data["status"] == Task.DONE and task.status == Task.OPEN
    task.status = data["status"]
    task.notes = data["notes"]
    task.due = data["due"]
    task.assignee = (
        GHLUser.objects.for_agency(request.agency).filter(pk=data["assignee"]).first()
        if data["assignee"]
        else None
    )
    if closing:
        task.closed_at, task.closed_how = dj_tz.now(), Task.CLOSED_BY_HAND
    elif task.status == Task.OPEN:
        task.closed_at, task.closed_how = None, ""
    task.save()
    back = request.POST.get("next", "")
    if back == "location":
        return redirect("analytics:location-detail", ghl_id=task.location_ghl_id)
    return redirect("playbooks:tasks")


@_agency_staff
@handles_bad_params
@refuse_writes_when_read_only
@require_POST
def task_create(request, ghl_id: str):
    location = location_for_request(request, ghl_id)
    title = (request.POST.get("title") or "").strip()
    form = TaskForm(request, {**request.POST.dict(), "status": Task.OPEN})
    if not title or len(title) > 200 or not form.is_valid():
        raise BadParam("task")
    data = form.cleaned_data
    Task.objects.create(
        agency=request.agency,
        location_ghl_id=location.ghl_id,
        title=title,
        due=data["due"],
        notes=data["notes"],
        assignee=GHLUser.objects.for_agency(request.agency).filter(pk=data["assignee"]).first()
        if data["assignee"]
        else None,
    )
    return redirect("analytics:location-detail", ghl_id=location.ghl_id)


def location_panel(request, location) -> dict:
    """The tasks section of the sub-account page (analytics.views.location.register_panel); none
    for a sub-account's own people."""
    if request.ghl_user.role == GHLUser.ROLE_LOCATION:
        return None
    today = agency_today(request.agency)
    rows = list(
        Task.objects.for_agency(request.agency)
        .filter(location_ghl_id=location.ghl_id)
        .select_related("assignee")
        .order_by("status", "due", "pk")[:20]
    )
    for t in rows:
        t.overdue = t.status == Task.OPEN and t.due < today
    return {
        "template": "playbooks/_location_tasks.html",
        "tasks": rows,
        "location": location,
        # The add-a-task form's choices (TaskForm's, from the page's cached lists).
        "assignees": lookups.for_request(request).assignees,
        "today": today,
    }
