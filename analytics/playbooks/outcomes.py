"""What became of the sub-accounts a play fired for, against those that met the same trigger
while the play was off.

Definitions (per play, over the agency's episodes of the play's trigger kind, narrowed by the
play's segment/tag as it stands now):
- fired: episodes the play ran for;
- compared with: episodes of the same kind that started while the play was off (before it
  existed or outside every span it was on), so the play did not run for them;
- recovered within 30 days: the episode ended recovered (playbooks.triggers: back up a band / the
  flag cleared for 3 days) at most 30 days after it started;
- churned: the episode ended because the sub-account churned (at any time after it started);
- still open: neither yet. Recent episodes (started under 30 days ago and still open) cannot have
  a 30-day answer yet; rates are over the episodes old enough to have one ("decided").
Every rate comes with its counts; with nothing decided the page says so instead of a rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from analytics.playbooks import seams, triggers
from analytics.playbooks.models import Episode, Play, PlayPeriod, Run

WINDOW_DAYS = 30


@dataclass
class Group:
    episodes: int = 0
    recovered: int = 0
    churned: int = 0
    open: int = 0
    decided: int = 0

    def rate(self, n: int) -> int | None:
        return None if self.decided == 0 else round(100 * n / self.decided)

    @property
    def recovered_rate(self):
        return self.rate(self.recovered)

    @property
    def churned_rate(self):
        return self.rate(self.churned)


def _count(episodes, today: date) -> Group:
    g = Group()
    for e in episodes:
        g.episodes += 1
        recovered = (
            e.end_reason == Episode.END_RECOVERED
            and (e.ended_day - e.started_day).days <= WINDOW_DAYS
        )
        churned = e.end_reason == Episode.END_CHURNED
        g.recovered += recovered
        g.churned += churned
        if e.ended_day is None:
            g.open += 1
        old_enough = (today - e.started_day).days > WINDOW_DAYS
        if e.ended_day is not None or old_enough:
            g.decided += 1
    return g


def for_play(play: Play, today: date) -> tuple[Group, Group] | None:
    """(fired, compared with), or None for a `recovered` play (it fires on recoveries)."""
    if play.trigger == triggers.RECOVERED:
        return None
    fired_ids = set(
        Run.objects.for_agency(play.agency_id)
        .filter(play=play)
        .values_list("episode_id", flat=True)
    )
    periods = list(
        PlayPeriod.objects.for_agency(play.agency_id)
        .filter(play=play)
        .values_list("on_at", "off_at")
    )
    inside = seams.locations_in(play.agency, play.segment, play.tag)
    fired, control = [], []
    for e in Episode.objects.for_agency(play.agency_id).filter(kind=play.trigger):
        if e.pk in fired_ids:
            fired.append(e)
            continue
        if inside is not None and e.location_ghl_id not in inside:
            continue
        on = any(a <= e.started_at and (b is None or e.started_at < b) for a, b in periods)
        if not on:
            control.append(e)
    return _count(fired, today), _count(control, today)


def too_recent_since(today: date) -> date:
    return today - timedelta(days=WINDOW_DAYS)
