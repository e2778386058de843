#!/usr/bin/env bash
# npm run dev: local worker on workerd via `wrangler dev` (which builds it first).
# Extra arguments go to wrangler, e.g. `npm run dev -- --port 9000 --var GRACE_SECS:10`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Local secrets (DESIGN §5): random keys, generated once, never committed (.gitignore).
if [ ! -e .dev.vars ]; then
  rand() { node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))'; }
  (umask 077 && printf 'SESSION_KEYS="k1:%s"\nORIGIN_SECRET="o1:%s"\n' "$(rand)" "$(rand)" > .dev.vars)
  echo "dev: wrote .dev.vars with fresh random SESSION_KEYS and ORIGIN_SECRET" >&2
fi

# Offline-friendly: no metrics upload, no fetch of Cloudflare's request.cf data.
export WRANGLER_SEND_METRICS=${WRANGLER_SEND_METRICS:-false}
export CLOUDFLARE_CF_FETCH_ENABLED=${CLOUDFLARE_CF_FETCH_ENABLED:-false}
exec npx wrangler dev --ip 127.0.0.1 "$@"
