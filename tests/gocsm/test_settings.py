"""Settings start-up behaviour, checked in fresh interpreters with controlled environments."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.childproc import run_python

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/root"),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gocsm_settings_probe",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "ALLOWED_HOSTS": "gocsm.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://gocsm.example.com",
        "PUBLIC_ORIGIN": "https://gocsm.example.com",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_django(code: str, env: dict) -> subprocess.CompletedProcess:
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='gocsm.settings'; django.setup();"
        + code
    )
    return run_python(script, env, timeout=60)


@pytest.mark.parametrize(
    "variable", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TOKEN_ENCRYPTION_KEYS"]
)
def test_missing_production_variable_stops_startup_naming_it(variable):
    result = run_django("print('started')", production_env(**{variable: None}))
    assert result.returncode != 0
    assert "started" not in result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"{variable} is not set" in last_line


def test_weak_secret_key_stops_startup():
    result = run_django("print('started')", production_env(SECRET_KEY="short"))
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_production_environment_starts_with_debug_off_and_no_dev_tools():
    result = run_django(
        "from django.conf import settings as s; print(s.DEBUG, s.DEV_TOOLS, s.EMBEDDED)",
        production_env(GOCSM_DEV_TOOLS="1"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False"]


def test_embedded_defaults_with_debug_and_nothing_else(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "DEBUG": "1",
        "GOCSM_DATA_DIR": str(tmp_path),
    }
    result = run_django(
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['analytics']['ENGINE'],"
        " s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER)",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


def test_service_urls_switch_to_postgresql_and_redis():
    result = run_django(
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['analytics']['NAME'],"
        " s.CACHES['default']['BACKEND'], s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)",
        production_env(CELERY_BROKER_URL="redis://127.0.0.1:6379/14"),
    )
    assert result.returncode == 0, result.stderr
    engine, analytics_name, cache, broker, eager = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert analytics_name == "gocsm_settings_probe"  # defaults to DATABASE_URL
    assert cache == "django_redis.cache.RedisCache"
    assert broker == "redis://127.0.0.1:6379/14"
    assert eager == "False"


def test_check_deploy_reports_nothing_with_production_variables():
    env = production_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_every_variable_settings_reads_is_documented_in_env_example():
    import re

    source = (ROOT / "gocsm" / "settings.py").read_text()
    read = set(re.findall(r'(?:env\.\w+|secret|env)\(\s*"([A-Z][A-Z0-9_]+)"', source))
    read |= set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert read - documented == set()
