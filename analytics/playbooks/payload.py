"""The JSON every webhook action sends (version 1, documented in docs/playbooks.md), the Slack
message built from it, and the HMAC-SHA256 signature header.

Only sub-account metadata, figures GoCSM computed and the CSM's name and email: no end-customer
data exists to include.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from analytics import risk
from analytics.playbooks import triggers

VERSION = 1
SIGNATURE_HEADER = "X-GoCSM-Signature"
DELIVERY_HEADER = "X-GoCSM-Delivery"


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def build(play, episode, state: dict | None, csm, *, csm_assigned: bool, now) -> dict:
    """`state`: the sub-account's LocationState values (None: no state yet)."""
    state = state or {}
    path = reverse("analytics:location-detail", args=[episode.location_ghl_id])
    currency = state.get("currency") or "USD"
    return {
        "version": VERSION,
        "event": "recovered" if play.trigger == triggers.RECOVERED else "triggered",
        "fired_at": now.isoformat(),
        "play": {
            "id": play.pk,
            "name": play.name,
            "trigger": play.trigger,
            "trigger_label": triggers.label(play.trigger),
        },
        "episode": {
            "id": episode.pk,
            "kind": episode.kind,
            "kind_label": triggers.label(episode.kind),
            "started_day": episode.started_day.isoformat(),
            "ended_day": episode.ended_day.isoformat() if episode.ended_day else None,
        },
        "sub_account": {
            "id": episode.location_ghl_id,
            "name": state.get("name") or episode.location_ghl_id,
            "url": f"{settings.PUBLIC_ORIGIN}{path}",
        },
        "score": state.get("score"),
        "band": state.get("band") or None,
        "band_label": triggers.band_label(state["band"]) if state.get("band") else None,
        "change_7d": state.get("change"),
        "flags": [
            {"code": code, "label": risk.FLAG_LABELS.get(code, code), "evidence": evidence}
            for code, evidence in state.get("flags") or []
        ],
        "mrr": {"amount": round((state.get("mrr_cents") or 0) / 100, 2), "currency": currency},
        "mrr_at_risk": {
            "amount": round((state.get("mrr_at_risk") or 0) / 100, 2),
            "currency": currency,
        },
        "csm": {
            "name": csm.name if csm else None,
            "email": csm.email if csm else None,
            # False: no CSM is assigned, the agency owner is named instead.
            "assigned": bool(csm and csm_assigned),
        },
    }


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body under the play's secret>`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = 300) -> bool:
    """What a receiver does (docs/playbooks.md has the same in a few lines)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = signature(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def _slack_escaped(value):
    """Slack's mrkdwn escaping (&, <, >) of every string, so a name cannot become a link."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, dict):
        return {k: _slack_escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_slack_escaped(v) for v in value]
    return value


def slack_message(payload: dict) -> dict:
    """Slack incoming-webhook body: Block Kit blocks and the `text` fallback notifications and
    narrow screens show. Short lines, one fact each, so it reads on a phone."""
    context = {"p": _slack_escaped(payload)}
    text = render_to_string("playbooks/slack_text.txt", context).strip()
    headline = render_to_string("playbooks/slack_headline.txt", context).strip()
    facts = render_to_string("playbooks/slack_facts.txt", context).strip()
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline[:3000]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts[:3000]}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open in GoCSM"},
                    "url": payload["sub_account"]["url"],
                }
            ],
        },
    ]
    if not payload["sub_account"]["url"].startswith(("https://", "http://")):
        blocks.pop()  # Slack refuses a button without an absolute URL
    return {"text": text[:3000], "blocks": blocks}
