#!/usr/bin/env bash
# System packages the test suite needs: Debian's Chromium and its driver for the browser tests.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
