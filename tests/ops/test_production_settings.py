"""Production settings cannot run with DEBUG, a weak SECRET_KEY or the dev tools.

Each case loads gocsm.settings in a fresh interpreter with a production environment (no pytest
imported, so TESTING is false) and one bad value.
"""

from __future__ import annotations

import json
import os
import secrets

import pytest
from cryptography.fernet import Fernet

from tests.childproc import run_python

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'DEBUG': s.DEBUG, 'DEV_TOOLS': s.DEV_TOOLS, 'EMBEDDED': s.EMBEDDED}))"
)


def production_env(**overrides) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "DJANGO_SETTINGS_MODULE": "gocsm.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gocsm_prod_probe",
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "ALLOWED_HOSTS": "gocsm.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://gocsm.example.com",
        "PUBLIC_ORIGIN": "https://gocsm.example.com",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    env.update({k: v for k, v in overrides.items() if v is not None})
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
    return env


def load(**overrides):
    return run_python(PROBE, production_env(**overrides), timeout=60)


def test_a_good_production_environment_has_debug_and_dev_tools_off():
    result = load()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"DEBUG": False, "DEV_TOOLS": False, "EMBEDDED": False}


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_dev_tools_stay_off_in_production_whatever_the_variable_says(value):
    result = load(GOCSM_DEV_TOOLS=value)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["DEV_TOOLS"] is False


@pytest.mark.parametrize("value", ["1", "true", "True", "on"])
def test_debug_on_a_public_host_refuses_to_start(value):
    result = load(DEBUG=value)
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


@pytest.mark.parametrize("value", ["0", "false", "False", "off", ""])
def test_debug_values_that_mean_off_are_off(value):
    result = load(DEBUG=value)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["DEBUG"] is False


@pytest.mark.parametrize(
    "key",
    [
        None,  # missing
        "",
        "short-key",
        "dev-only-insecure-key-that-never-reaches-production-0123456789abcdef",
        "a" * 64,
        "abab" * 20,
        "django-insecure-" + secrets.token_urlsafe(50),
    ],
)
def test_a_weak_or_missing_secret_key_refuses_to_start(key):
    result = load(SECRET_KEY=key) if key is not None else load(SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_secret_key_from_a_file_is_checked_the_same_way(tmp_path):
    weak = tmp_path / "secret_key"
    weak.write_text("x" * 60)
    result = load(SECRET_KEY=None, SECRET_KEY_FILE=str(weak))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
