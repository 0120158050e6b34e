"""Secrets never reach log output, through the real logging configuration, in both formats."""

import json
import os
import secrets

import pytest

from tests.childproc import run_python

SECRETS = {
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VuY3kifQ.c2lnbmF0dXJlLWJ5dGVz",
    "refresh": "rt-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "bearer": "opaque-bearer-7Hq2Lm9Xz",
    "cookie": "K8sdf7GJ2lk3j4h5g6f7d8s9a0qwertyuiopzxcvbn",
    "session": "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa98765",
    "sso": "U2FsdGVkX195UOa/Srr33mmO4QD/R307APlkPhKamrFBlrmwjQKm0fP2vBxz0gNFJx==",
    "stripe_sig": "t=1732345678,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
    "wh_sig": "c2lnbmF0dXJlLW9mLWdobC13ZWJob29rLWJvZHktYmFzZTY0LXRleHQ=",
    "password": "correct-horse-battery-staple",
    "client_secret": "cs-0a1b2c3d4e5f6a7b8c9d",
    "fernet": "gAAAAABnQ2x8c2VjcmV0LWVuY3J5cHRlZC10b2tlbi1ieXRlcy1oZXJl",
    "exc_token": "eyJleGNlcHRpb24iOiJ5ZXMifQ.eyJ0b2siOiIxIn0.ZXhjZXB0aW9uLXNpZw",
    # Built at run time: no live-key-shaped literal is committed.
    "stripe_key": "sk_" + "live_" + secrets.token_hex(12),
    "state": "signed-state-value-123456",
    "code": "oauth-code-0a9b8c7d6e5f4a3b",
    "json_code": "json-code-1b2c3d4e5f6a7b8c",
}

SCRIPT = r"""
import logging, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "gocsm.settings"
django.setup()
import json
S = json.loads(os.environ["PLANTED"])
log = logging.getLogger("gocsm.probe")
log.info("refreshed token %s", S["jwt"])
log.info("tokens", extra={"refresh_token": S["refresh"], "agency_id": 42})
log.info("outbound headers %s", {"Authorization": "Bearer " + S["bearer"], "Version": "2021-07-28"})
log.info("Cookie: __Host-gocsm_session=%s; other=1", S["cookie"])
log.info("session_key=%s loaded", S["session"])
log.info("sso payload received %s", S["sso"])
log.warning("stripe webhook", extra={"headers": {"Stripe-Signature": S["stripe_sig"], "x-wh-signature": S["wh_sig"]}})
log.info("Stripe-Signature: %s", S["stripe_sig"])
log.info("login", extra={"password": S["password"], "ctx": {"secret": S["client_secret"], "n": 1}})
log.info("GET /oauth/callback/?code=%s&state=%s", S["code"], S["state"])
log.info("token exchange body %s", {"code": S["json_code"], "grant_type": "authorization_code"})
# Request lines carry the status as extra (Django's request logger does exactly this).
logging.getLogger("django.request").warning("Not Found: /nowhere", extra={"status_code": 404})
log.info("request finished status_code=200 error_code=E42 path=/app/")
log.info("body client_secret=%s&grant_type=refresh_token", S["client_secret"])
log.info("stored %s", S["fernet"])
log.info("configured %s", S["stripe_key"])
log.info("payload", extra={"payload": S["sso"]})
try:
    raise RuntimeError("GHL said no for " + S["exc_token"])
except RuntimeError:
    log.exception("refresh failed")
log.info("still-here-marker")
"""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_planted_secret_reaches_the_log_output(fmt):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "DEBUG": "1",
        "LOG_FORMAT": fmt,
        "PLANTED": json.dumps(SECRETS),
        "GOCSM_DATA_DIR": "/tmp/gocsm-logtest",
    }
    result = run_python(SCRIPT, env, timeout=60)
    assert result.returncode == 0, result.stderr
    output = result.stderr
    assert "still-here-marker" in output  # the lines were really written
    assert "refresh failed" in output and "RuntimeError" in output
    for name, value in SECRETS.items():
        assert value not in output, f"{name} leaked into {fmt} logs"
        # Fragments too: a secret cut in half is still a leak.
        assert value[-16:] not in output, f"the tail of {name} leaked into {fmt} logs"
    # Keys that merely end in "code" are not secrets: status codes stay readable.
    assert "status_code=200" in output
    assert "error_code=E42" in output
    assert ("status_code=404" if fmt == "text" else '"status_code": 404') in output
    if fmt == "json":
        lines = [json.loads(line) for line in output.strip().splitlines()]
        assert all({"ts", "level", "logger", "msg", "request_id"} <= set(line) for line in lines)
        assert any(line.get("agency_id") == 42 for line in lines)


@pytest.mark.parametrize(
    "line",
    [
        "GET /oauth/callback/?code=SECRET1&state=x",
        "GET /oauth/callback/?state=SECRET1",
        '{"code": "SECRET1"}',
        "{'state': 'SECRET1'}",
        "code: SECRET1",
        "auth_code=SECRET1",
        "oauth_state=SECRET1",
        "stripe_secret=SECRET1",
        "x_token=SECRET1",
    ],
)
def test_oauth_code_and_state_are_redacted_in_every_form(line):
    from gocsm.logredact import redact_text

    assert "SECRET1" not in redact_text(line)


@pytest.mark.parametrize(
    "line",
    ["status_code=404", "error_code=E42", "zip_code=90210", "subscription_state=active"],
)
def test_keys_that_only_end_in_code_or_state_are_kept(line):
    from gocsm.logredact import redact_text

    assert redact_text(f"request finished {line} path=/app/") == (
        f"request finished {line} path=/app/"
    )
