#!/usr/bin/env bash
# Release build of the wasm worker into build/: worker-build's output (glue.js +
# index_bg.wasm) behind the main module index.js (src/shell/entry.js, which makes the
# Durable Object classes callable by RPC).
# This is wrangler.toml's [build] command, so `wrangler dev` / `deploy` call it.
# Prerequisite: scripts/setup.sh (installs worker-build and wasm-bindgen).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Nothing to do when the build is of exactly these sources: wrangler dev runs this again
# right after its first build ("The file src changed, restarting build") and on every
# change it sees, and wasm-bindgen plus wasm-opt take ~15 s even when cargo has nothing
# to compile. A hash of the contents, not mtimes: `cp -p`, `tar x` or `rsync -a` of older
# sources must rebuild, or a stale worker would be served, packed or deployed. Taken
# before the build, so an edit made during one rebuilds next time. `--check` only says
# whether build/ is current (the npm package's prepack refuses a stale one).
inputs_hash() {
  find src packages/rust/src packages/rust/Cargo.toml Cargo.toml Cargo.lock scripts/build-worker.sh \
    -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
hash=$(inputs_hash)
current() {
  [ -f build/index.js ] && [ -f build/glue.js ] && [ -f build/index_bg.wasm ] \
    && [ "$(cat build/.inputs 2>/dev/null)" = "$hash" ]
}
if [ "${1:-}" = --check ]; then
  current || { echo "build-worker: build/ is not a build of these sources" >&2; exit 1; }
  exit 0
fi
if current; then
  echo "build-worker: build/ is up to date (built from these very sources)" >&2
  exit 0
fi
# Lets test.sh reuse the build it just made when wrangler runs this again.
if [ "${EDGE_SESSION_PREBUILT:-}" = 1 ] && [ -f build/index.js ]; then
  echo "build-worker: using existing build/ (EDGE_SESSION_PREBUILT=1)" >&2
  exit 0
fi

# worker-build downloads wasm-bindgen and wasm-opt from GitHub unless told where they
# are; GitHub is unreachable here. esbuild it fetches from npm itself (works).
if ! WASM_BINDGEN_BIN=${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}; then
  echo "build-worker: wasm-bindgen not found; run: bash scripts/setup.sh" >&2
  exit 1
fi
export WASM_BINDGEN_BIN

opt=()
if [ -z "${WASM_OPT_BIN:-}" ] && [ -x node_modules/binaryen/bin/wasm-opt ]; then
  export WASM_OPT_BIN="$PWD/node_modules/binaryen/bin/wasm-opt"
fi
if [ -z "${WASM_OPT_BIN:-}" ]; then
  echo "build-worker: no wasm-opt (npm ci installs binaryen); building without it" >&2
  opt=(--no-opt)
fi

# No RUSTFLAGS needed: getrandom 0.3.4 picks its wasm_js backend from the feature alone.
# A failed build must not leave the old stamp beside half-written artifacts.
rm -f build/.inputs
worker-build --release "${opt[@]}" "$@"
mv build/index.js build/glue.js
cp src/shell/entry.js build/index.js
echo "$hash" >build/.inputs
