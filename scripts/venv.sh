#!/usr/bin/env bash
# Create the virtualenv with a Python >= 3.12 and install the pinned lock file into it.
set -euo pipefail
venv=${1:-.venv}

find_python() {
  # 3.12 first: the lock file is compiled for it.
  for cand in python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])(\.|$)' | sort -V); do
      p="$(pyenv root)/versions/$v/bin/python"
      [ -x "$p" ] && { echo "$p"; return 0; }
    done
  fi
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  py=$(find_python) || { echo "GoCSM needs Python 3.12 or newer (none found on PATH or in pyenv)." >&2; exit 1; }
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip uv
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" -r requirements.lock
