#!/usr/bin/env bash
# What `make bench` needs besides the venv: wrk (Debian) and Prism (npm, into bench/.cache). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v wrk >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # Wait for another apt run (a shared machine) instead of failing on its lock.
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq wrk
fi
command -v wrk >/dev/null || { echo "bench/setup.sh: wrk is not installed" >&2; exit 1; }
if [ ! -x .cache/node_modules/.bin/prism ]; then
  mkdir -p .cache
  (cd .cache && npm install --silent --no-audit --no-fund @stoplight/prism-cli@5)
fi
