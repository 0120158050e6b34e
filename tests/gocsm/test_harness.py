"""The harness itself: service tests fail instead of skipping when CI requires services."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.gocsm.test_settings import production_env

ROOT = Path(__file__).resolve().parents[2]


def run_probe(tmp_path, extra_env):
    probe = ROOT / "tests" / "gocsm" / "test_zz_probe_services.py"
    probe.write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.services
            def test_needs_services():
                pass
            """
        )
    )
    try:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "GOCSM_DATA_DIR": str(tmp_path),
            **extra_env,
        }
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", str(probe)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        probe.unlink()


def test_service_test_skips_without_services_locally(tmp_path):
    result = run_probe(tmp_path, {})
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout


def test_service_test_fails_without_services_when_required(tmp_path):
    result = run_probe(tmp_path, {"REQUIRE_SERVICES": "1"})
    assert result.returncode == 1
    assert "1 error" in result.stdout  # failed in setup, not skipped
    assert "REQUIRE_SERVICES=1 but" in result.stdout


def test_production_static_files_get_hashed_names(tmp_path):
    env = production_env(STATIC_ROOT=str(tmp_path / "static"))
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    hashed = list((tmp_path / "static" / "css").glob("app.*.css"))
    assert hashed, "no hashed app.css"
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static" / "css").glob("app.*.css.gz"))
