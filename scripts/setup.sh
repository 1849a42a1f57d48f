#!/bin/sh
# Idempotent setup used by `npm test`, `npm run demo` and `npm run bench`: installs the npm
# dependencies (Node 24 among them) when node_modules is missing or older than the lockfile.
# System packages (redis-server, chromium, pytest) are installed by .ci/run; the commands that need
# them say how to install them when they are missing.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: installing npm dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund
fi
