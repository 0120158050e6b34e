"""Evaluate triggers on an agency's latest state and fire the plays that are on.

Called after every recompute of an agency (the nightly one and those the pulls start), through
analytics.signals.state_refreshed. Per sub-account, on its latest day (analytics.current_state):
episodes start, hold and end as playbooks.triggers defines; a play that is on fires once for an
episode that starts while it is on (Run, unique per play and episode), never again while that
episode lasts. Firing writes the run, one Delivery row per action (the idempotency claim:
unique per play, sub-account, episode and action) and the task, in one transaction, and queues
the deliveries once it commits. When an episode ends recovered, the tasks it opened close.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone as dj_tz

from accounts.models import Agency
from analytics.models import Lifecycle, LocationState
from analytics.playbooks import payload as payloads
from analytics.playbooks import seams, triggers
from analytics.playbooks.models import Delivery, Episode, Play, Run, Task
from analytics.playbooks.outbound import mask_email, mask_url

log = logging.getLogger(__name__)

STATE_FIELDS = (
    "location_ghl_id",
    "name",
    "day",
    "score",
    "band",
    "change",
    "flags",
    "mrr_cents",
    "currency",
    "mrr_at_risk",
    "lifecycle",
)


@dataclass
class Summary:
    started: int = 0
    ended: int = 0
    runs: int = 0
    deliveries: list[int] = field(default_factory=list)


def _states(agency_id: int) -> dict[str, dict]:
    rows = LocationState.objects.for_agency(agency_id).values(*STATE_FIELDS)
    return {r["location_ghl_id"]: r for r in rows}


def evaluate_agency(agency_id: int, *, now=None) -> Summary:
    now = now or dj_tz.now()
    summary = Summary()
    agency = Agency.objects.filter(pk=agency_id, is_installed=True).first()
    if agency is None:
        return summary
    states = _states(agency_id)
    churn = seams.churn_probabilities(agency_id) if seams.churn_available() else {}
    plays = list(Play.objects.for_agency(agency).filter(enabled=True))
    thresholds = [p.threshold for p in plays if p.trigger == triggers.CHURN and p.threshold]
    churn_cut = min(thresholds) if thresholds else None
    with transaction.atomic():
        # One evaluation per agency at a time (a pull and the nightly recompute may overlap).
        Agency.objects.select_for_update().filter(pk=agency_id).first()
        open_eps = {
            (e.location_ghl_id, e.kind): e
            for e in Episode.objects.for_agency(agency).filter(ended_day__isnull=True)
        }
        started: list[Episode] = []
        ended: list[Episode] = []
        for loc, st in states.items():
            lifecycle = st["lifecycle"]
            if lifecycle in (Lifecycle.CHURNED, Lifecycle.NOT_CONNECTED):
                reason = Episode.END_CHURNED if lifecycle == Lifecycle.CHURNED else Episode.END_GONE
                for (eloc, _kind), ep in open_eps.items():
                    if eloc == loc:
                        _end(ep, st["day"], reason)
                        ended.append(ep)
                continue
            if st["score"] is None:
                continue  # no score on its latest day: nothing to say either way
            day = st["day"]
            flags = triggers.held_flags(code for code, _e in st["flags"] or [])
            churn_hit = churn_cut is not None and churn.get(loc, 0.0) >= churn_cut
            held_now = set(flags) | ({triggers.CHURN} if churn_hit else set())
            evidence = dict(st["flags"] or [])
            for kind in triggers.risk_kinds():
                ep = open_eps.get((loc, kind))
                if ep is not None:
                    if triggers.holds(kind, flags, st["band"], ep.start_band, churn_hit):
                        if day > ep.last_held_day:
                            ep.last_held_day = day
                            ep.save(update_fields=["last_held_day"])
                    elif (day - ep.last_held_day).days >= triggers.CLEAR_DAYS:
                        _end(ep, ep.last_held_day + timedelta(days=1), Episode.END_RECOVERED)
                        ended.append(ep)
                elif kind in held_now:
                    ep = Episode.objects.create(
                        agency=agency,
                        location_ghl_id=loc,
                        kind=kind,
                        started_at=now,
                        started_day=day,
                        last_held_day=day,
                        start_band=st["band"],
                        start_score=st["score"],
                        evidence=(
                            evidence.get(kind, "")
                            or (
                                f"{churn.get(loc, 0):.0%} predicted"
                                if kind == triggers.CHURN
                                else ""
                            )
                        )[:300],
                    )
                    started.append(ep)
        summary.started, summary.ended = len(started), len(ended)
        # Tasks close themselves when what opened them recovered.
        recovered = [e.pk for e in ended if e.end_reason == Episode.END_RECOVERED]
        if recovered:
            Task.objects.for_agency(agency).filter(
                episode_id__in=recovered, status=Task.OPEN
            ).update(status=Task.DONE, closed_at=now, closed_how=Task.CLOSED_RECOVERED)
        fire = [(p, e) for p in plays for e in started if p.trigger == e.kind]
        fire += [
            (p, e)
            for p in plays
            if p.trigger == triggers.RECOVERED
            for e in triggers.recoveries(
                [e for e in ended if e.end_reason == Episode.END_RECOVERED]
            )
        ]
        for play, ep in fire:
            if play.trigger == triggers.CHURN and churn.get(ep.location_ghl_id, 0.0) < (
                play.threshold or 1.1
            ):
                continue
            inside = seams.locations_in(agency, play.segment, play.tag)
            if inside is not None and ep.location_ghl_id not in inside:
                continue
            summary.deliveries += _fire(agency, play, ep, states.get(ep.location_ghl_id), now)
            summary.runs += 1
        ids = list(summary.deliveries)
        if ids:
            transaction.on_commit(lambda: _queue(ids))
    if summary.started or summary.ended or summary.runs:
        log.info(
            "playbooks evaluated",
            extra={
                "agency_id": agency_id,
                "episodes_started": summary.started,
                "episodes_ended": summary.ended,
                "runs": summary.runs,
            },
        )
    return summary


def _end(ep: Episode, day, reason: str) -> None:
    ep.ended_day = max(day, ep.started_day)
    ep.end_reason = reason
    ep.save(update_fields=["ended_day", "end_reason"])


def _fire(agency, play: Play, ep: Episode, state: dict | None, now) -> list[int]:
    """Write the run, its deliveries and its task; returns the delivery ids to queue."""
    from gocsm.encryption import decrypt

    csm, assigned = seams.csm_for(agency, ep.location_ghl_id)
    body = payloads.build(play, ep, state, csm, csm_assigned=assigned, now=now)
    run = Run.objects.create(
        agency=agency, play=play, episode=ep, location_ghl_id=ep.location_ghl_id, payload=body
    )
    deadline = now + timedelta(seconds=settings.PLAYBOOKS_DELIVERY_DEADLINE_SECONDS)
    body["delivery"] = {"run_id": run.pk}
    run.payload = body
    run.save(update_fields=["payload"])
    queued = []

    def delivery(action: str, target: str, status: str = Delivery.PENDING) -> Delivery:
        return Delivery.objects.create(
            agency=agency,
            play=play,
            run=run,
            episode=ep,
            location_ghl_id=ep.location_ghl_id,
            action=action,
            status=status,
            target=target[:200],
            deadline=deadline,
            created_at=now,
            finished_at=now if status == Delivery.SENT else None,
        )

    if play.ghl_webhook_secret_url:
        queued.append(delivery(Delivery.GHL, mask_url(decrypt(play.ghl_webhook_secret_url))).pk)
    if play.slack_webhook_secret_url:
        queued.append(delivery(Delivery.SLACK, mask_url(decrypt(play.slack_webhook_secret_url))).pk)
    if play.email_on:
        queued.append(delivery(Delivery.EMAIL, mask_email(csm.email) if csm else "").pk)
    if play.task_on:
        assignee = play.task_assignee or csm
        name = state["name"] if state and state.get("name") else ep.location_ghl_id
        day = state["day"] if state else ep.started_day
        Task.objects.create(
            agency=agency,
            location_ghl_id=ep.location_ghl_id,
            title=f"{play.name}: {name}"[:200],
            assignee=assignee,
            due=day + timedelta(days=play.task_due_days),
            notes=play.task_note,
            run=run,
            episode=None if play.trigger == triggers.RECOVERED else ep,
        )
        d = delivery(Delivery.TASK, assignee.name if assignee else "unassigned", Delivery.SENT)
        d.attempts = 1
        d.save(update_fields=["attempts"])
    return queued


def _queue(ids: list[int]) -> None:
    from analytics.playbooks.tasks import deliver

    for pk in ids:
        deliver.delay(pk)
