#!/usr/bin/env bash
# What `make bench` needs besides the venv: wrk (Debian) and Prism (npm, into bench/.cache). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq wrk
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk
  fi
fi
if [ ! -x .cache/node_modules/.bin/prism ]; then
  mkdir -p .cache
  (cd .cache && npm install --silent --no-audit --no-fund @stoplight/prism-cli@5)
fi
