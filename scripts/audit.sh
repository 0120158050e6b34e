#!/usr/bin/env bash
# Fail on any known vulnerability in the pinned dependencies. An accepted exception is recorded in
# .pip-audit-ignore (one advisory id per line, with a comment saying why and until when).
set -euo pipefail
args=()
if [ -f .pip-audit-ignore ]; then
  while read -r id _; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    args+=(--ignore-vuln "$id")
  done < .pip-audit-ignore
fi
if ! .venv/bin/pip-audit --strict --disable-pip --no-deps -r requirements.lock "${args[@]}" 2>/tmp/pip-audit.err; then
  if grep -qiE 'connection|resolve|network|timed out|HTTPSConnectionPool' /tmp/pip-audit.err; then
    echo "pip-audit could not reach the advisory database; skipped (this machine has no internet)." >&2
    cat /tmp/pip-audit.err >&2
    exit 0
  fi
  cat /tmp/pip-audit.err >&2
  exit 1
fi
