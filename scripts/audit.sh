#!/usr/bin/env bash
# Fail on any known vulnerability in the pinned dependencies (requirements.lock), using pip-audit.
#
# Accepted exceptions live in .pip-audit-ignore, one per line:
#     <advisory id>  until=<YYYY-MM-DD>  <why it does not affect us>
# An exception past its date stops applying, so every acceptance gets looked at again.
#
# pip-audit needs an advisory service: PyPI's per-release JSON API (pypi.org/pypi/<name>/<ver>/json)
# or OSV (api.osv.dev). Where neither answers (a machine that reaches only a package mirror), the
# audit cannot run. That is reported as NOT AUDITED and exits 3: never as a pass. Only with
# AUDIT_ALLOW_UNREACHABLE=1 (set deliberately, e.g. on an offline build box) does it exit 0, and it
# still prints NOT AUDITED so nobody mistakes it for a clean result.
#
# AUDIT_SERVICE=pypi|osv|none names the service instead of probing for one.
#
# Exit codes: 0 clean, 1 vulnerabilities (or pip-audit failed), 2 bad ignore file, 3 not audited.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOCK=requirements.lock

ignore_args=()
if [ -f .pip-audit-ignore ]; then
  today=$(date -u +%F)
  while read -r id rest; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    until=$(grep -oE 'until=[0-9]{4}-[0-9]{2}-[0-9]{2}' <<<"$rest" | cut -d= -f2 || true)
    if [ -z "$until" ]; then
      echo "audit: .pip-audit-ignore entry $id has no until=YYYY-MM-DD; add one." >&2
      exit 2
    fi
    if [[ "$until" < "$today" ]]; then
      echo "audit: accepted exception $id expired on $until; it is checked again." >&2
      continue
    fi
    ignore_args+=(--ignore-vuln "$id")
  done < .pip-audit-ignore
fi

# Which advisory service answers from here? Probe with one pinned package from the lock.
# AUDIT_SERVICE=pypi|osv|none skips the probe (tests use none to stay off the network).
service=${AUDIT_SERVICE:-}
[ -n "$service" ] || service=$("$PY" - "$LOCK" <<'PYEOF'
import re, ssl, sys, urllib.request, os, json
lock = open(sys.argv[1]).read()
m = re.search(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", lock, re.M)
name, version = m.group(1), m.group(2)
ctx = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
def ok(req):
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            json.load(r)
            return r.status == 200
    except Exception:
        return False
if ok(f"https://pypi.org/pypi/{name}/{version}/json"):
    print("pypi")
elif ok(urllib.request.Request("https://api.osv.dev/v1/query", method="POST",
        data=json.dumps({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}).encode(),
        headers={"Content-Type": "application/json"})):
    print("osv")
else:
    print("none")
PYEOF
)

if [ "$service" = "none" ]; then
  echo "audit: NOT AUDITED - no advisory service answers from this machine (PyPI's per-release" >&2
  echo "       JSON API and api.osv.dev are both unreachable). Known vulnerabilities were NOT checked." >&2
  if [ "${AUDIT_ALLOW_UNREACHABLE:-}" = "1" ]; then
    echo "audit: AUDIT_ALLOW_UNREACHABLE=1, so continuing; run scripts/audit.sh where the internet is reachable." >&2
    exit 0
  fi
  exit 3
fi

echo "audit: checking $LOCK against the $service advisory service" >&2
exec .venv/bin/pip-audit --strict --disable-pip --no-deps --progress-spinner off \
  --vulnerability-service "$service" -r "$LOCK" "${ignore_args[@]}"
