"""Trigger kinds and when their condition holds on a sub-account.

The kinds are derived, not listed: every churn-risk flag kind analytics.risk defines
(risk.FLAG_LABELS) is a trigger, so a flag kind added there becomes a trigger without a change
here. Besides those:
- `recovered`: an episode of any other kind ended because the sub-account recovered (back up a
  band, the flag cleared); one per sub-account and evaluation (recoveries());
- `churn_probability`: the predicted 90-day churn probability reached the play's threshold,
  offered once a prediction exists (playbooks.seams.churn_probabilities).

Holding and clearing, per sub-account, on its latest day (analytics.current_state):
- a flag kind holds on a day its flag is raised; the no-login kinds read "N+ days", so a more
  severe no-login flag holds the milder ones too (7 days quiet turning into 14 is not a recovery);
- `band_dropped` starts when its flag is raised (a drop that held 3 days into Steady or Critical)
  and holds until the band is back above the band it dropped into;
- an episode ends (recovered) once its condition has not held for CLEAR_DAYS days in a row, so a
  sub-account flapping across an edge keeps one episode; it ends as churned when the
  sub-account churns, and as "no longer analysed" when it is disconnected;
- sub-accounts without a score on their latest day (no data yet) change nothing.
"""

from __future__ import annotations

from analytics import risk
from analytics.scores import BAND_LABELS, BAND_RANK

RECOVERED = "recovered"
CHURN = "churn_probability"
CLEAR_DAYS = 3
# "No login for N+ days": each kind also holds while a longer quiet spell's flag is raised.
_NO_LOGIN = ("no_login_7", "no_login_14", "no_login_30")


def flag_kinds() -> list[str]:
    return list(risk.FLAG_LABELS)


def kinds(*, churn_available: bool = False) -> list[tuple[str, str]]:
    """(kind, label) of every trigger an owner can pick."""
    out = [(code, label) for code, label in risk.FLAG_LABELS.items()]
    if churn_available:
        out.append((CHURN, "Predicted churn probability reaches a threshold"))
    out.append((RECOVERED, "Recovered (back up a band, or a flag cleared)"))
    return out


def label(kind: str) -> str:
    if kind == RECOVERED:
        return "Recovered"
    if kind == CHURN:
        return "Predicted churn"
    return risk.FLAG_LABELS.get(kind, kind)


def risk_kinds() -> set[str]:
    """Kinds whose episodes are spells of risk (everything but `recovered`)."""
    return {*risk.FLAG_LABELS, CHURN}


def held_flags(codes) -> set[str]:
    """The flag kinds that hold given the flag codes raised on the day."""
    held = set(codes)
    for i, code in enumerate(_NO_LOGIN):
        if code in held:
            held.update(_NO_LOGIN[:i])
    return held


def recoveries(episodes: list) -> list:
    """One recovery per sub-account among episodes that ended together: the one whose flag
    weighs most (no login 30 over 14 over 7), so a recovered play sends one message."""
    best: dict[str, object] = {}
    for ep in episodes:
        kept = best.get(ep.location_ghl_id)
        if kept is None or risk.FLAG_WEIGHTS.get(ep.kind, 0) > risk.FLAG_WEIGHTS.get(kept.kind, 0):
            best[ep.location_ghl_id] = ep
    return list(best.values())


def band_rank(band: str) -> int | None:
    return BAND_RANK.get(band)


def band_label(band: str) -> str:
    return BAND_LABELS.get(band, band or "no score")


def holds(kind: str, flags: set[str], band: str, start_band: str, churn_hit: bool) -> bool:
    """Whether an open episode of `kind` still holds on the day."""
    if kind == CHURN:
        return churn_hit
    if kind == "band_dropped":
        now, then = band_rank(band), band_rank(start_band)
        return now is not None and (then is None or now <= then)
    return kind in flags
