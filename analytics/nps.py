"""Feedback figures: NPS from the tracker's prompt (analytics.models.NpsResponse).

Definitions (also on the feedback page):
- An answer is a rating 0-10 a sub-account's own user gave; a dismissal is the prompt closed
  without a rating. Agency staff are never asked. Days are the agency's calendar days.
- Promoter: 9-10. Passive: 7-8. Detractor: 0-6.
- Over a period (a sub-account's, the portfolio's, a month's): the shares of promoters,
  passives and detractors are of the answers in it (denominator: answers); NPS = % promoters
  - % detractors, from -100 to +100, rounded half up to a whole number. No answers: no NPS
  (shown as "no answers", never 0).
- Response rate = answers / (answers + dismissals) in the period: of the prompts people
  answered or closed, the share answered. A prompt that was shown and left open (the person
  navigated away) is not recorded, so it is not in the denominator. Nothing answered or
  closed: no response rate.
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
}


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


@dataclass
class Tally:
    promoter: int = 0
    passive: int = 0
    detractor: int = 0
    dismissed: int = 0
    last_day: date | None = None

    def add(self, rating: int | None, day: date) -> None:
        key = nps_category(rating) or "dismissed"
        setattr(self, key, getattr(self, key) + 1)
        if self.last_day is None or day > self.last_day:
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
    def closed(self) -> int:
        return self.answers + self.dismissed

    @property
    def nps(self) -> int | None:
        if not self.answers:
            return None
        return _half_up(100 * (self.promoter - self.detractor) / self.answers)

    @property
    def response_rate(self) -> int | None:
        closed = self.answers + self.dismissed
        if not closed:
            return None
        return _half_up(100 * self.answers / closed)


def tally(rows) -> Tally:
    """One Tally over (rating, day) rows."""
    t = Tally()
    for rating, day in rows:
        t.add(rating, day)
    return t


def by_key(rows, key) -> dict:
    """{key(row): Tally} over rows whose last two fields are (rating, day)."""
    out: dict = {}
    for row in rows:
        out.setdefault(key(row), Tally()).add(row[-2], row[-1])
    return out


def months_between(first: date, last: date) -> list[date]:
    months, d = [], first.replace(day=1)
    while d <= last:
        months.append(d)
        d = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return months
