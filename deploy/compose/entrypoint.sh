#!/bin/sh
# Entry point of the arcfleet image. Every process of a fleet must compute simulated time from the same
# epoch (ARCFLEET_CLOCK_EPOCH_MS). Under compose the services start at different instants, so the epoch
# is kept in a file on a shared volume (ARCFLEET_CLOCK_EPOCH_FILE): the first service to start writes
# it, atomically (ln fails when the file exists, and the file is complete before it is linked), every
# other one and every restart reads it. An explicit ARCFLEET_CLOCK_EPOCH_MS wins.
set -eu
file="${ARCFLEET_CLOCK_EPOCH_FILE:-}"
if [ -n "$file" ] && [ -z "${ARCFLEET_CLOCK_EPOCH_MS:-}" ]; then
  if [ ! -s "$file" ]; then
    tmp="$file.$$"
    node -e 'process.stdout.write(String(Date.now()))' >"$tmp"
    ln "$tmp" "$file" 2>/dev/null || true
    rm -f "$tmp"
  fi
  ARCFLEET_CLOCK_EPOCH_MS="$(cat "$file")"
  export ARCFLEET_CLOCK_EPOCH_MS
fi
exec "$@"
