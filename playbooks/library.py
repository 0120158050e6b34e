"""Ready-made plays: switched on in one click, then edited like any other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadyPlay:
    key: str
    name: str
    trigger: str
    summary: str
    task: bool = False
    email: bool = False
    # Actions that need a URL the agency pastes in (GHL workflow inbound webhook, Slack).
    ghl: bool = False
    slack: bool = False
    task_due_days: int = 3
    task_note: str = ""


READY = (
    ReadyPlay(
        "quiet_14",
        "Gone quiet 14 days",
        "no_login_14",
        "Nobody at the sub-account logged in for 14 days: a task for the CSM and your GHL "
        "workflow (e.g. a check-in SMS or a call booking) starts.",
        task=True,
        ghl=True,
        task_due_days=2,
        task_note="Call the account owner: what stopped them logging in?",
    ),
    ReadyPlay(
        "payment_failed",
        "Payment failed",
        "payment_failed",
        "The sub-account's subscription went past due or unpaid: a Slack message right away.",
        slack=True,
    ),
    ReadyPlay(
        "band_drop",
        "Dropped a health band",
        "band_dropped",
        "The score fell into Steady or Critical and stayed there 3 days: email the CSM and open "
        "a task.",
        task=True,
        email=True,
        task_note="Review the score's components with the client.",
    ),
    ReadyPlay(
        "usage_down",
        "Usage down 40 %",
        "usage_down",
        "Use fell by 40 % or more over 30 days: email the CSM.",
        email=True,
    ),
    ReadyPlay(
        "onboarding_stalled",
        "Onboarding stalled",
        "onboarding_stalled",
        "A new sub-account has no workflow, calendar or conversation after 14 days: a task for "
        "the CSM.",
        task=True,
        task_note="Book an onboarding session.",
    ),
    ReadyPlay(
        "recovered",
        "Recovered",
        "recovered",
        "A sub-account came back up a band or a flag cleared: tell the team on Slack.",
        slack=True,
    ),
)
BY_KEY = {r.key: r for r in READY}
