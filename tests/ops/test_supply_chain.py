"""scripts/audit.sh never reports a pass it did not earn."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _sandbox(tmp_path: Path, ignore_text: str | None) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "audit.sh", tmp_path / "scripts" / "audit.sh")
    shutil.copy(ROOT / "requirements.lock", tmp_path / "requirements.lock")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    if ignore_text is not None:
        (tmp_path / ".pip-audit-ignore").write_text(ignore_text)
    return tmp_path


def _run(sandbox: Path, **env):
    return subprocess.run(
        ["bash", str(sandbox / "scripts" / "audit.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        # Tests stay off the network: "none" is what this machine's probe finds anyway.
        env={**os.environ, "AUDIT_SERVICE": "none", **env},
    )


def test_an_ignore_entry_without_an_expiry_date_is_refused(tmp_path):
    sandbox = _sandbox(tmp_path, "PYSEC-2099-1  we think it is fine\n")
    result = _run(sandbox)
    assert result.returncode == 2
    assert "until=" in result.stderr


def test_an_unreachable_advisory_service_is_never_reported_as_clean(tmp_path):
    sandbox = _sandbox(tmp_path, "# nothing accepted\n")
    result = _run(sandbox, AUDIT_ALLOW_UNREACHABLE="")
    assert result.returncode == 3
    assert "NOT AUDITED" in result.stderr


def test_the_offline_escape_hatch_still_says_not_audited(tmp_path):
    sandbox = _sandbox(tmp_path, None)
    result = _run(sandbox, AUDIT_ALLOW_UNREACHABLE="1")
    assert result.returncode == 0
    assert "NOT AUDITED" in result.stderr
    assert "were NOT checked" in result.stderr


def test_an_expired_exception_no_longer_applies(tmp_path):
    sandbox = _sandbox(tmp_path, "PYSEC-2000-1  until=2001-01-01  old acceptance\n")
    result = _run(sandbox)
    assert "expired" in result.stderr
    assert result.returncode == 3
