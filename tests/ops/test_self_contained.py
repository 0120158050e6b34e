"""The repository carries every file its tests, demo and scripts read: a fresh clone in an empty
folder has nothing beside it (no ../shared), so nothing may reach outside the checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A relative path out of the checkout, or a climb from __file__ past the repository root.
OUTSIDE = re.compile(r"\.\./shared|['\"]shared['\"]\s*/|/\s*['\"]shared['\"]")


def _tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--", *patterns], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / line for line in out.splitlines() if line]


def test_no_code_test_or_script_reads_outside_the_repository():
    offenders = []
    for path in _tracked("*.py", "*.sh", "Makefile", ".ci/*"):
        if path == Path(__file__):
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_files_climbing_from_their_own_path_stay_inside_the_checkout():
    climb = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]")
    offenders = []
    for path in _tracked("*.py"):
        root_index = len(path.relative_to(ROOT).parts) - 1  # parents[root_index] is the root
        for m in climb.finditer(path.read_text()):
            if int(m.group(1)) > root_index:
                offenders.append(f"{path.relative_to(ROOT)}: parents[{m.group(1)}]")
    assert offenders == []


def test_the_reference_copies_the_tests_read_are_in_the_repository():
    fixtures = ROOT / "tests" / "fixtures" / "ghl"
    assert (fixtures / "sso_vectors.json").is_file()
    assert (fixtures / "openapi" / "apps" / "locations.json").is_file()
    assert (fixtures / "openapi" / "common" / "common-schemas.json").is_file()
    assert "highlevel-api-docs" in (fixtures / "SOURCES.md").read_text()
