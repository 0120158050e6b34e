"""Scan every version of every file in the git history for secrets; fail on any not reviewed.

    .venv/bin/python scripts/secret_scan.py [--repo PATH] [--rev REV] [--allowlist FILE]

Reads each blob reachable from REV (default HEAD: the whole history of the branch, every file as
it was at any commit) exactly once, and runs detect-secrets' detectors over it offline. A finding
fails the scan unless `.secret-scan-allowlist.toml` lists it (path, type and detect-secrets'
SHA-1 of the value), with the reason it was reviewed as harmless. Lines marked with
detect-secrets' inline "pragma: allowlist secret" are scanned all the same: the allowlist file,
reviewed in a commit, is the only way to accept a finding. The report names the file, the commits
that carry it, the line and the type, never the secret itself.

Two sets of detectors, by where a file lives:
- everywhere: the credential formats (Stripe, AWS, GitHub, Slack, JWT, private keys, passwords in
  URLs, ...), including a Stripe key of any length (detect-secrets wants exactly 24 characters);
- outside tests, benchmarks and the fake servers, also the keyword and high-entropy detectors.
  Those directories exist to hold made-up secrets, ids and test vectors, which those two would
  flag by the hundred.
The allowlist file itself is not scanned: it holds detect-secrets' hashes and the reasons only.

Exit status: 0 clean, 1 unreviewed findings, 2 cannot scan (a shallow clone, no git).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from detect_secrets.core import scan
from detect_secrets.settings import transient_settings

HERE = Path(__file__).resolve().parent
PLUGINS = HERE / "secret_scan_plugins.py"
ALLOWLIST = ".secret-scan-allowlist.toml"
# Paths whose contents are fakes by design: credential formats only.
FIXTURE_PREFIXES = ("tests/", "bench/", "sync/fakeghl/")
FORMAT_DETECTORS = [
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
]
WIDE_DETECTORS = [
    {"name": "KeywordDetector"},
    {"name": "Base64HighEntropyString", "limit": 4.5},
    {"name": "HexHighEntropyString", "limit": 3.0},
]
# detect-secrets' heuristics, less its inline allowlist pragma (see above).
FILTERS = [
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_non_text_file",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_templated_secret",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_sequential_string",
]


@dataclass(frozen=True)
class Finding:
    path: str
    type: str
    hashed_secret: str
    line: int
    blob: str


def _settings(wide: bool) -> dict:
    plugins = [{"name": name} for name in FORMAT_DETECTORS]
    plugins.append({"name": "StripeAnyLengthDetector", "path": f"file://{PLUGINS}"})
    if wide:
        plugins += WIDE_DETECTORS
    return {"plugins_used": plugins, "filters_used": [{"path": f} for f in FILTERS]}


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), *args], input=data, capture_output=True, check=True
    ).stdout


def history_blobs(repo: Path, rev: str) -> list[tuple[str, str]]:
    """(blob id, path) of every file version reachable from `rev`, each blob once."""
    listing = _git(repo, "rev-list", "--objects", rev)
    check = "--batch-check=%(objecttype) %(objectname) %(rest)"
    kinds = _git(repo, "cat-file", check, data=listing)
    blobs = []
    for line in kinds.decode("utf-8", "surrogateescape").splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "blob":
            sha, _, path = rest.partition(" ")
            blobs.append((sha, path))
    return blobs


def read_blobs(repo: Path, shas: list[str]):
    """Yield (sha, content) for each blob, through one `git cat-file --batch`."""
    process = subprocess.Popen(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        for sha in shas:
            process.stdin.write(f"{sha}\n".encode())
            process.stdin.flush()
            header = process.stdout.readline().split()
            size = int(header[2])
            content = process.stdout.read(size)
            process.stdout.read(1)  # the newline after each object
            yield sha, content
    finally:
        process.stdin.close()
        process.wait()


def scan_history(repo: Path, rev: str = "HEAD") -> tuple[list[Finding], int]:
    """Every finding in the history of `rev`, and how many blobs were read."""
    # The allowlist is the review record itself: hashes and reasons, no secrets.
    blobs = [b for b in history_blobs(repo, rev) if b[1] != ALLOWLIST]
    groups = {
        False: [b for b in blobs if b[1].startswith(FIXTURE_PREFIXES)],
        True: [b for b in blobs if not b[1].startswith(FIXTURE_PREFIXES)],
    }
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory() as tmp:
        for wide, group in groups.items():
            paths = dict(group)
            with transient_settings(_settings(wide)):
                for sha, content in read_blobs(repo, list(paths)):
                    # detect-secrets reads files; the name keeps its file-type heuristics right.
                    target = Path(tmp, sha, Path(paths[sha]).name or "blob")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
                    for secret in scan.scan_file(str(target)):
                        findings.append(
                            Finding(
                                path=paths[sha],
                                type=secret.type,
                                hashed_secret=secret.secret_hash,
                                line=secret.line_number,
                                blob=sha,
                            )
                        )
                    target.unlink()
    return findings, len(blobs)


def load_allowlist(path: Path) -> set[tuple[str, str, str]]:
    if not path.exists():
        return set()
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("allowed", [])
    allowed = set()
    for entry in entries:
        if not entry.get("why"):
            raise SystemExit(f"{path}: every allowed finding needs a `why`")
        allowed.add((entry["path"], entry["type"], entry["hashed_secret"]))
    return allowed


def commits_with(repo: Path, rev: str, blobs: set[str], path: str) -> list[str]:
    """Commits that added or removed any of these versions of `path`."""
    found: list[str] = []
    for blob in sorted(blobs):
        out = _git(repo, "log", "--format=%h", f"--find-object={blob}", rev, "--", path)
        found += [c for c in out.decode().split() if c not in found]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--allowlist", type=Path)
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    try:
        shallow = _git(repo, "rev-parse", "--is-shallow-repository").strip() == b"true"
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"secret scan: cannot read the git history of {repo} ({exc})", file=sys.stderr)
        return 2
    if shallow:
        print("secret scan: this clone is shallow; fetch the whole history first", file=sys.stderr)
        return 2
    allowed = load_allowlist(args.allowlist or repo / ALLOWLIST)
    findings, blobs = scan_history(repo, args.rev)
    # One entry per secret in a file, whatever the versions and lines it appears at.
    grouped: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        grouped.setdefault((f.path, f.type, f.hashed_secret), []).append(f)
    new = sorted(set(grouped) - allowed)
    for path, kind, hashed in sorted(allowed - set(grouped)):
        print(f"note: allowlisted but not found any more: {path} ({kind}, {hashed})")
    print(
        f"secret scan: {blobs} file versions in the history of {args.rev}: "
        f"{len(grouped)} secret-shaped strings, {len(grouped) - len(new)} of them reviewed"
    )
    if not new:
        return 0
    print(f"\n{len(new)} unreviewed. Remove each from history (and rotate it), or, if it is not")
    print(f"a secret, add it to {ALLOWLIST} with the reason:\n")
    for key in new:
        path, kind, hashed = key
        lines = sorted({f.line for f in grouped[key]})
        commits = commits_with(repo, args.rev, {f.blob for f in grouped[key]}, path)
        print(f'  path = "{path}"  type = "{kind}"  hashed_secret = "{hashed}"')
        print(f"    lines {', '.join(map(str, lines))}; commits {', '.join(commits) or '?'}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
