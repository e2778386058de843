#!/usr/bin/env bash
# npm run bench: edge throughput. Builds the worker (skipped with
# EDGE_SESSION_PREBUILT=1 when build/ exists), installs wrk if missing, then runs
# scripts/bench.mjs: wrk against one local `wrangler dev` for (a) no cookies,
# (b) the access-cookie fast path, (c) the refresh cookie through the Durable Object,
# and (d) a 200-request burst at a rotation on a second, short-window instance, and (e)
# the fast path again on a third instance signing ES256 assertions.
# Prints a markdown table. Bounded: the measurement is killed after BENCH_TIMEOUT
# seconds (default 400); every process it started is ended on exit.
# Knobs: BENCH_ROUNDS (9), BENCH_DURATION (3), BENCH_WARMUP (1), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), BENCH_BURST (200).
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

bash scripts/setup.sh
bash scripts/build-worker.sh

tmp=$(mktemp -d)
export BENCH_PGID_FILE="$tmp/pgids"
: >"$BENCH_PGID_FILE"
cleanup() {
  # bench.mjs ends its children itself; this catches anything left if it was killed.
  local pgid
  while read -r pgid; do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done <"$BENCH_PGID_FILE"
  rm -rf "$tmp"
}
trap cleanup EXIT

# wrangler's state dirs go under $tmp too, so nothing is left behind. wrangler writes
# every debug message to a log file whatever --log-level says (here: each request's
# devtools events, bodies included); keep those in $tmp as well.
TMPDIR="$tmp" WRANGLER_LOG_PATH="$tmp/wrangler-logs" timeout --kill-after=10 "${BENCH_TIMEOUT:-400}" node scripts/bench.mjs
