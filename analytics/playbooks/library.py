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


def switch_on(agency, key: str, *, ghl_url: str = "", slack_url: str = "", by=None):
    """The one-click path: the ready-made play `key`, validated like the page's form, saved and
    on. Returns (play, signing secret, form); play is None (and the form says why) on bad
    input, and nothing is saved."""
    from django.db import transaction

    from analytics.playbooks.forms import PlayForm
    from analytics.playbooks.models import Play, PlayPeriod
    from analytics.playbooks.payload import new_signing_secret
    from gocsm.encryption import encrypt

    ready = BY_KEY[key]
    form = PlayForm(
        agency,
        {
            "name": ready.name,
            "trigger": ready.trigger,
            "ghl_webhook_url": ghl_url,
            "slack_webhook_url": slack_url,
            "email_on": "on" if ready.email else "",
            "task_on": "on" if ready.task else "",
            "task_due_days": str(ready.task_due_days),
            "task_note": ready.task_note,
        },
    )
    if not form.is_valid():
        return None, "", form
    secret = new_signing_secret()
    data = form.cleaned_data
    with transaction.atomic():
        play = Play.objects.create(
            agency=agency,
            template=ready.key,
            name=data["name"],
            trigger=data["trigger"],
            ghl_webhook_secret_url=encrypt(data["ghl_webhook_url"])
            if data["ghl_webhook_url"]
            else "",
            slack_webhook_secret_url=(
                encrypt(data["slack_webhook_url"]) if data["slack_webhook_url"] else ""
            ),
            email_on=data["email_on"],
            task_on=data["task_on"],
            task_due_days=data["task_due_days"],
            task_note=data["task_note"],
            signing_secret=encrypt(secret),
            enabled=True,
        )
        PlayPeriod.objects.create(agency=agency, play=play)
    return play, secret, form
