"""The CI secret scan (scripts/secret_scan.py) reads the whole history and fails on anything new.

Each test builds a small git repository of its own. Secret-shaped strings are assembled at run
time, so this file holds none for the scan of our own history to find.
"""

from __future__ import annotations

import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "secret_scan.py"


def aws_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def stripe_key() -> str:
    return "sk_" + "live_" + secrets.token_hex(14)


class Repo:
    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if text is None:
                target.unlink()
            else:
                target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "--short", "HEAD").strip()

    def scan(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--repo", str(self.path), *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def repo(tmp_path):
    r = Repo(tmp_path / "repo")
    r.commit({"app/settings.py": 'DEBUG = False\nNAME = "gocsm"\n'}, "start")
    return r


def test_a_clean_history_passes(repo):
    result = repo.scan()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 secret-shaped strings" in result.stdout


@pytest.mark.parametrize(
    ("name", "make", "kind"),
    [
        ("app/billing.py", lambda: f'STRIPE = "{stripe_key()}"\n', "Stripe"),
        ("tests/test_x.py", lambda: f'KEY_ID = "{aws_key_id()}"\n', "AWS Access Key"),
        (
            "deploy/db.env",
            lambda: "DATABASE_URL=postgres://app:" + secrets.token_hex(8) + "@db/x\n",
            "Basic Auth",
        ),
        ("app/key.pem", lambda: "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE\n", "Private Key"),
    ],
)
def test_a_newly_committed_secret_fails_the_scan(repo, name, make, kind):
    text = make()
    commit = repo.commit({name: text}, "oops")
    result = repo.scan()
    assert result.returncode == 1, result.stdout + result.stderr
    assert name in result.stdout
    assert kind in result.stdout
    assert commit in result.stdout
    secret_part = text.strip().split("=", 1)[-1].strip('"')
    assert secret_part not in result.stdout + result.stderr  # never printed


def test_a_secret_removed_later_is_still_found_in_history(repo):
    added = repo.commit({"app/billing.py": f'STRIPE = "{stripe_key()}"\n'}, "add")
    removed = repo.commit({"app/billing.py": 'STRIPE = os.environ["STRIPE"]\n'}, "remove")
    result = repo.scan()
    assert result.returncode == 1
    assert added in result.stdout
    assert removed in result.stdout


def test_the_reviewed_allowlist_accepts_exactly_what_it_lists(repo):
    repo.commit({"tests/test_redaction.py": f'PLANTED = "{stripe_key()}"\n'}, "planted")
    first = repo.scan()
    assert first.returncode == 1
    # The report prints each finding as the allowlist entry it would take.
    found = re.findall(r'path = "(.+?)"  type = "(.+?)"  hashed_secret = "(\w+)"', first.stdout)
    assert {kind for _path, kind, _hash in found} >= {"Stripe live key"}
    allowlist = repo.path / ".secret-scan-allowlist.toml"
    allowlist.write_text(
        "".join(
            f'[[allowed]]\npath = "{path}"\ntype = "{kind}"\nhashed_secret = "{hashed}"\n'
            'why = "synthetic key planted by the redaction test"\n'
            for path, kind, hashed in found
        )
    )
    assert repo.scan().returncode == 0
    # Anything new still fails: another key in the same file, or the same key elsewhere.
    repo.commit({"tests/test_redaction.py": f'PLANTED = "{stripe_key()}"\n'}, "another")
    assert repo.scan().returncode == 1


def test_an_allowlist_entry_without_a_reason_is_refused(repo, tmp_path):
    listed = tmp_path / "allow.toml"
    listed.write_text('[[allowed]]\npath = "a"\ntype = "b"\nhashed_secret = "c"\n')
    result = repo.scan("--allowlist", str(listed))
    assert result.returncode != 0
    assert "why" in result.stdout + result.stderr


def test_an_inline_pragma_does_not_silence_the_scan(repo):
    repo.commit({"app/billing.py": f'STRIPE = "{stripe_key()}"  # pragma: allowlist secret\n'})
    assert repo.scan().returncode == 1


def test_a_shallow_clone_cannot_pass_for_the_whole_history(repo, tmp_path):
    repo.commit({"app/more.py": "X = 1\n"})
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)], check=True
    )
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(shallow)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "shallow" in result.stderr
