"""A Python child process for tests that need a fresh interpreter: settings read from a given
environment (production's, the embedded defaults, a log format), not the test run's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(
    script: str, env: dict, *, timeout: float, cwd: Path | str = ROOT
) -> subprocess.CompletedProcess:
    """`python -c script` in `cwd` with exactly `env`; stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
