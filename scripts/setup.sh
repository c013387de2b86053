#!/usr/bin/env bash
# One-time (and idempotent) set-up: dependencies, nats-server, build. Fast when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf 'setup: %s\n' "$*"; }

# 1. npm dependencies
# npm writes node_modules/.package-lock.json on every install: older than package-lock.json = stale.
if [ ! -f node_modules/.package-lock.json ] || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  if [ -f package-lock.json ]; then
    step 'installing npm dependencies (npm ci)'
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  else
    step 'installing npm dependencies (npm install)'
    npm install --no-audit --no-fund --loglevel=error >/dev/null
  fi
  touch node_modules/.package-lock.json
else
  step 'npm dependencies up to date'
fi

# 2. nats-server (the embedded broker)
export PATH="$PATH:/usr/sbin:/usr/local/sbin:/usr/local/bin"
if command -v nats-server >/dev/null 2>&1; then
  step "nats-server found ($(nats-server --version 2>/dev/null || echo 'unknown version'))"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step 'installing nats-server (apt-get install -y nats-server)'
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  command -v nats-server >/dev/null 2>&1 || { echo 'setup: nats-server still missing after apt-get install' >&2; exit 1; }
else
  echo 'setup: nats-server is not installed. Install it with `sudo apt-get install -y nats-server`,' >&2
  echo '       or put a nats-server 2.9+ binary (https://github.com/nats-io/nats-server/releases) on PATH.' >&2
  exit 1
fi

# 2b. prometheus + promtool (the Prometheus integration test, `arcfleet up --prometheus`)
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  step "prometheus found ($(prometheus --version 2>&1 | head -n 1))"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step 'installing prometheus (apt-get install -y --no-install-recommends prometheus)'
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  command -v promtool >/dev/null 2>&1 || { echo 'setup: prometheus still missing after apt-get install' >&2; exit 1; }
else
  echo 'setup: prometheus is not installed. Install it with `sudo apt-get install -y prometheus`' >&2
  echo '       (Debian/Ubuntu package; provides /usr/bin/prometheus and /usr/bin/promtool), or put both binaries' >&2
  echo '       from https://prometheus.io/download/ on PATH.' >&2
  exit 1
fi

# 2c. chromium (the live page's browser test, driven by playwright-core)
if command -v chromium >/dev/null 2>&1; then
  step "chromium found ($(chromium --version 2>/dev/null | head -n 1))"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  step 'installing chromium (apt-get install -y chromium)'
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  command -v chromium >/dev/null 2>&1 || { echo 'setup: chromium still missing after apt-get install' >&2; exit 1; }
else
  echo 'setup: chromium is not installed (the browser test of the live page needs it). Install it with' >&2
  echo '       `sudo apt-get install -y chromium` (Debian/Ubuntu), or set ARCFLEET_CHROMIUM to a Chromium binary.' >&2
  [ -n "${ARCFLEET_CHROMIUM:-}" ] || exit 1
fi

# 3. build (tsc → dist/); incremental enough to run every time
step 'building (tsc -p tsconfig.build.json, page assets)'
npx tsc -p tsconfig.build.json
node scripts/copy-assets.mjs
