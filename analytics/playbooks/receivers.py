"""Signal receivers: evaluate the triggers whenever analytics rebuilt an agency's state."""

from __future__ import annotations

from analytics.playbooks.engine import evaluate_agency


def on_state_refreshed(sender, agency_id: int, **kwargs) -> None:
    evaluate_agency(agency_id)
