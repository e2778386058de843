#!/usr/bin/env bash
# npm run dev: the worker on workerd via `wrangler dev` (which builds it first).
#   npm run dev                                        in front of the demo origin
#   npm run dev -- --origin http://localhost:3000      in front of your own app
# Other arguments go to wrangler, e.g. `npm run dev -- --port 9000 --var GRACE_SECS:3`.
# Once the worker answers, one banner says where to go and what your app needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build

# Local secrets: random keys, generated once, never committed (.gitignore).
if [ ! -e .dev.vars ] && [ ! -L .dev.vars ]; then  # never through a (dangling) link
  rand() { node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))'; }
  (umask 077 && printf 'SESSION_KEYS="k1:%s"\nORIGIN_SECRET="o1:%s"\n' "$(rand)" "$(rand)" > .dev.vars)
  echo "dev: wrote .dev.vars with fresh random SESSION_KEYS and ORIGIN_SECRET" >&2
fi

# Short windows so a person sees rotations within seconds: the access cookie (fast
# path) lapses every 4 s, then the family's object answers, and rotates every 10 s.
# Exported so the demo page states the same values; a `--var` below overrides both.
export ROTATE_AFTER_SECS=10 GRACE_SECS=5 RECOVERY_SECS=120 ACCESS_TTL_SECS=4
export DEMO_PORT=${DEMO_PORT:-8788}
port=8787 origin="" args=()
while [ $# -gt 0 ]; do
  case $1 in
    --origin) origin=${2:?--origin needs a URL, e.g. http://localhost:3000}; shift 2; continue ;;
    --origin=*) origin=${1#--origin=}; shift; continue ;;
    --port) port=${2:?--port needs a number} ;;
    --port=*) port=${1#--port=} ;;
    --var) case ${2:-} in ROTATE_AFTER_SECS:* | GRACE_SECS:* | RECOVERY_SECS:* | ACCESS_TTL_SECS:*)
      export "${2%%:*}=${2#*:}" ;; esac ;;
  esac
  args+=("$1"); shift
done
if [ -n "$origin" ] && ! node -e '
  const u = new URL(process.argv[1]);
  if (!/^https?:$/.test(u.protocol) || u.pathname !== "/" || u.search || u.hash || u.username) process.exit(1);
' "$origin" 2>/dev/null; then
  echo "dev: --origin must be http(s)://host[:port] with no path, e.g. http://localhost:3000 (got: $origin)" >&2
  exit 2
fi
# --port is ours to pass when the user gave none.
printf '%s\n' "${args[@]}" | grep -q -- '^--port' || args+=(--port "$port")

# The demo origin runs in the background and ends with this script, however it ends.
pids=""
trap 'kill $pids 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -z "$origin" ]; then
  origin=http://127.0.0.1:$DEMO_PORT
  EDGE_URL=${EDGE_URL:-http://127.0.0.1:$port} node demo/origin.mjs & pids="$pids $!"
  target="the demo origin ($origin)"
else
  target="your app at $origin"
fi

# Offline-friendly: no metrics upload, no fetch of Cloudflare's request.cf data.
export WRANGLER_SEND_METRICS=${WRANGLER_SEND_METRICS:-false}
export CLOUDFLARE_CF_FETCH_ENABLED=${CLOUDFLARE_CF_FETCH_ENABLED:-false}
# Once the worker answers (after its build, and only then), the banner.
# A value from .dev.vars (quoted or not), or nothing.
dev_var() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" .dev.vars | head -n 1; }
secret=$(dev_var ORIGIN_SECRET)
health=http://127.0.0.1:$port/__edge/health
( until code=$(curl -s -o /dev/null -w '%{http_code}' "$health" 2>/dev/null) && [ "$code" != 000 ]; do sleep 0.5; done
  if [ "$code" != 200 ]; then
    printf '\ndev: the worker is up but refuses its configuration: %s\n\n' "$(curl -s "$health")" >&2
    exit 0
  fi
  printf '\ndev: open http://127.0.0.1:%s  (edge-session, in front of %s)\n' "$port" "$target" >&2
  printf 'dev: your app needs these, exported in the shell that starts it (restart it if it\n' >&2
  printf 'dev: runs with other values: a different secret makes every login directive_rejected):\n' >&2
  printf '  export ORIGIN_SECRET=%s\n  export EDGE_URL=http://127.0.0.1:%s\n' "$secret" "$port" >&2
  # The secret per job and ES256, when .dev.vars sets them: the app signs its logins with
  # DIRECTIVE_SECRET and its admin calls with ADMIN_SECRET, and verifies with the JWKS.
  for name in DIRECTIVE_SECRET ADMIN_SECRET EVENTS_SECRET; do
    value=$(dev_var "$name")
    if [ -n "$value" ]; then printf '  export %s=%s\n' "$name" "$value" >&2; fi
  done
  if [ "$(dev_var ASSERTION_ALG)" = ES256 ]; then
    printf '  export EDGE_JWKS_URL=http://127.0.0.1:%s/__edge/jwks.json\n' "$port" >&2
  fi
  printf 'dev: windows: rotate %ss, grace %ss, access cookie %ss. Editing src/ rebuilds the worker (~3 min).\n\n' \
    "$ROTATE_AFTER_SECS" "$GRACE_SECS" "$ACCESS_TTL_SECS" >&2
) & pids="$pids $!"
# In the background (stdin kept for wrangler's hotkeys) so the traps above fire at once;
# the wrangler bin itself, not npx: it passes SIGTERM on to workerd, npx does not.
# The user's own --var flags come last, so they win.
node_modules/.bin/wrangler dev --ip 127.0.0.1 \
  --var "ORIGIN_URL:$origin" --var "ROTATE_AFTER_SECS:$ROTATE_AFTER_SECS" \
  --var "GRACE_SECS:$GRACE_SECS" --var "RECOVERY_SECS:$RECOVERY_SECS" \
  --var "ACCESS_TTL_SECS:$ACCESS_TTL_SECS" "${args[@]}" <&0 &
wrangler=$!
pids="$pids $wrangler"
wait "$wrangler"
