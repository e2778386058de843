#!/usr/bin/env bash
# npm run dev: the worker on workerd via `wrangler dev` (which builds it first), in
# front of the demo origin (demo/origin.mjs). Open the one URL it prints.
# Extra arguments go to wrangler, e.g. `npm run dev -- --port 9000 --var GRACE_SECS:3`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Local secrets: random keys, generated once, never committed (.gitignore).
if [ ! -e .dev.vars ]; then
  rand() { node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))'; }
  (umask 077 && printf 'SESSION_KEYS="k1:%s"\nORIGIN_SECRET="o1:%s"\n' "$(rand)" "$(rand)" > .dev.vars)
  echo "dev: wrote .dev.vars with fresh random SESSION_KEYS and ORIGIN_SECRET" >&2
fi

# Short windows so a person sees rotations within seconds: the access cookie (fast
# path) lapses every 4 s, then the family's object answers, and rotates every 10 s.
# Exported so the demo page states the same values; a `--var` below overrides both.
export ROTATE_AFTER_SECS=10 GRACE_SECS=5 RECOVERY_SECS=120 ACCESS_TTL_SECS=4
export DEMO_PORT=${DEMO_PORT:-8788}
port=8787 port_arg="--port=8787"
i=1
while [ "$i" -le $# ]; do
  arg=${!i} j=$((i + 1))
  next=${!j:-}
  case $arg in
    --port) port=$next port_arg="" ;;
    --port=*) port=${arg#--port=} port_arg="" ;;
    --var) case $next in ROTATE_AFTER_SECS:* | GRACE_SECS:* | RECOVERY_SECS:* | ACCESS_TTL_SECS:*)
      export "${next%%:*}=${next#*:}" ;; esac ;;
  esac
  i=$j
done

# The demo origin runs in the background and ends with this script, however it ends.
pids=""
trap 'kill $pids 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
EDGE_URL=${EDGE_URL:-http://127.0.0.1:$port} node demo/origin.mjs & pids="$pids $!"

# Offline-friendly: no metrics upload, no fetch of Cloudflare's request.cf data.
export WRANGLER_SEND_METRICS=${WRANGLER_SEND_METRICS:-false}
export CLOUDFLARE_CF_FETCH_ENABLED=${CLOUDFLARE_CF_FETCH_ENABLED:-false}
# Once the worker listens (after its build), one line says where to go.
( until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.5; done
  printf '\ndev: open http://127.0.0.1:%s  (the worker, in front of the demo origin on :%s)\n\n' "$port" "$DEMO_PORT" >&2
) & pids="$pids $!"
# In the background (stdin kept for wrangler's hotkeys) so the traps above fire at once;
# the wrangler bin itself, not npx: it passes SIGTERM on to workerd, npx does not.
node_modules/.bin/wrangler dev --ip 127.0.0.1 $port_arg \
  --var "ORIGIN_URL:http://127.0.0.1:$DEMO_PORT" --var "ROTATE_AFTER_SECS:$ROTATE_AFTER_SECS" \
  --var "GRACE_SECS:$GRACE_SECS" --var "RECOVERY_SECS:$RECOVERY_SECS" \
  --var "ACCESS_TTL_SECS:$ACCESS_TTL_SECS" "$@" <&0 &
wrangler=$!
pids="$pids $wrangler"
wait "$wrangler"
