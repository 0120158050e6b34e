"""Feedback figures: NPS from the tracker's prompt (analytics.models.NpsResponse).

Definitions (also on the feedback page):
- A prompt is the NPS question shown to a sub-account's own user (agency staff are never
  asked). It ends answered (a rating 0-10, maybe a comment), dismissed (closed without a
  rating) or unanswered (left open: the person went away). A prompt counts on the day it was
  answered or dismissed, else on the day it was shown (the agency's calendar days).
- Promoter: 9-10. Passive: 7-8. Detractor: 0-6.
- Over a period (a sub-account's, the portfolio's, a month's): the shares of promoters,
  passives and detractors are of the answers in it (denominator: answers); NPS = % promoters
  - % detractors, from -100 to +100, rounded half up to a whole number. No answers: no NPS
  (shown as "no answers", never 0).
- Response rate = answers / prompts in the period (denominator: every prompt shown, answered,
  dismissed or unanswered). No prompt: no response rate.
- Over time: by calendar month of the answer's day.
The score's sentiment component and the nps_detractor flag have their own definitions
(analytics.scores, analytics.risk).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from analytics.models import nps_category

CATEGORIES = ("promoter", "passive", "detractor")
CATEGORY_LABELS = {
    "promoter": "Promoter (9-10)",
    "passive": "Passive (7-8)",
    "detractor": "Detractor (0-6)",
    "dismissed": "Dismissed",
    "unanswered": "Unanswered",
}


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


@dataclass
class Tally:
    promoter: int = 0
    passive: int = 0
    detractor: int = 0
    dismissed: int = 0
    unanswered: int = 0
    last_day: date | None = None  # of the latest answer

    def add(self, outcome: str, rating: int | None, day: date) -> None:
        key = nps_category(rating) or ("dismissed" if outcome == "dismissed" else "unanswered")
        setattr(self, key, getattr(self, key) + 1)
        if rating is not None and (self.last_day is None or day > self.last_day):
            self.last_day = day

    @property
    def answers(self) -> int:
        return self.promoter + self.passive + self.detractor

    def share(self, category: str) -> int | None:
        """Whole % of the answers in `category` (None: no answers)."""
        if not self.answers:
            return None
        return _half_up(100 * getattr(self, category) / self.answers)

    @property
    def promoter_share(self) -> int | None:
        return self.share("promoter")

    @property
    def passive_share(self) -> int | None:
        return self.share("passive")

    @property
    def detractor_share(self) -> int | None:
        return self.share("detractor")

    @property
    def prompts(self) -> int:
        return self.answers + self.dismissed + self.unanswered

    @property
    def nps(self) -> int | None:
        if not self.answers:
            return None
        return _half_up(100 * (self.promoter - self.detractor) / self.answers)

    @property
    def response_rate(self) -> int | None:
        if not self.prompts:
            return None
        return _half_up(100 * self.answers / self.prompts)


def tally(rows) -> Tally:
    """One Tally over (outcome, rating, day) rows."""
    t = Tally()
    for outcome, rating, day in rows:
        t.add(outcome, rating, day)
    return t


def by_key(rows, key) -> dict:
    """{key(row): Tally} over rows whose last three fields are (outcome, rating, day)."""
    out: dict = {}
    for row in rows:
        out.setdefault(key(row), Tally()).add(*row[-3:])
    return out


def months_between(first: date, last: date) -> list[date]:
    months, d = [], first.replace(day=1)
    while d <= last:
        months.append(d)
        d = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return months
