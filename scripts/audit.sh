#!/usr/bin/env bash
# Audit the pinned dependencies for known vulnerabilities with pip-audit.
#
# - A known vulnerability fails the run, unless its id is recorded in .pip-audit-ignore (one id per
#   line, then a comment saying why it is accepted and until when).
# - If the advisory service cannot be reached, no package can be audited: the run says so loudly and
#   passes, unless AUDIT_REQUIRED=1 (set it wherever the service is reachable), where it fails.
#   A package the service does not know is never counted as audited.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
if [ -f .pip-audit-ignore ]; then
  while read -r id _; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    args+=(--ignore-vuln "$id")
  done < .pip-audit-ignore
fi

report=$(mktemp)
set +e
.venv/bin/pip-audit --disable-pip --no-deps -r requirements.lock --format json "${args[@]}" \
  >"$report" 2>/tmp/pip-audit.err
status=$?
set -e

.venv/bin/python - "$report" "$status" <<'PY'
import json, os, sys

path, status = sys.argv[1], int(sys.argv[2])
try:
    deps = json.load(open(path)).get("dependencies", [])
except (OSError, ValueError):
    print("pip-audit produced no report:", open("/tmp/pip-audit.err").read()[-2000:], file=sys.stderr)
    sys.exit(1)
audited = [d for d in deps if "skip_reason" not in d]
skipped = [d for d in deps if "skip_reason" in d]
vulnerable = [d for d in audited if d.get("vulns")]
for dep in vulnerable:
    for vuln in dep["vulns"]:
        print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fix: {', '.join(vuln.get('fix_versions') or ['none'])})")
if vulnerable or status not in (0,):
    sys.exit(1)
print(f"pip-audit: {len(audited)} packages audited, {len(skipped)} could not be audited, 0 known vulnerabilities")
if deps and not audited:
    msg = "pip-audit could not reach its advisory service: NO package was audited."
    if os.environ.get("AUDIT_REQUIRED") == "1":
        print(msg, file=sys.stderr)
        sys.exit(1)
    print(f"WARNING: {msg} (set AUDIT_REQUIRED=1 where the service is reachable)")
PY
