"""The first staff account of an environment, exactly as the README and the staff runbook say."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import TOTP

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long development password 7"


def _manage(*args, env_extra: dict, cwd=ROOT):
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env_extra}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_without_its_environment_stops_with_one_sentence_not_a_traceback():
    # The runbook's command typed in development without DEBUG=1: settings treat it as production.
    result = _manage("createsuperuser", "--noinput", env_extra={})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY is not set" in lines[0]
    assert "DEBUG=1" in lines[0]


def test_createsuperuser_works_on_the_embedded_development_defaults(tmp_path):
    env = {"DEBUG": "1", "GOCSM_DATA_DIR": str(tmp_path)}
    for database in ("default", "analytics"):  # what `make run` does first
        assert _manage("migrate", "--database", database, env_extra=env).returncode == 0
    created = _manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "first",
        "--email",
        "first@gocsm.example",
        env_extra={**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    assert created.returncode == 0, created.stderr
    assert "Superuser created successfully." in created.stdout
    enrolled = _manage("enroll_staff_totp", "first", env_extra=env)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "otpauth://totp/" in enrolled.stdout


def _code_from_uri(uri: str) -> str:
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


@pytest.mark.django_db
def test_the_first_account_reaches_admin_with_its_password_and_the_enrolled_code(
    client, monkeypatch
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command(
        "createsuperuser", interactive=False, username="first", email="first@gocsm.example"
    )
    out = io.StringIO()
    call_command("enroll_staff_totp", "first", stdout=out)
    uri = next(line for line in out.getvalue().splitlines() if line.startswith("otpauth://"))
    assert client.get(reverse("admin:index")).status_code == 302  # signed out: to the sign-in
    response = client.post(
        reverse("admin:login"),
        {"username": "first", "password": PASSWORD, "otp_token": _code_from_uri(uri)},
    )
    assert response.status_code == 302, response.content[:500]
    assert client.get(reverse("admin:index")).status_code == 200
